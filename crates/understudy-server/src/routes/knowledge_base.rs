//! Knowledge-base routes under `/v1/streaming/knowledge_base` (§3.12), scoped to the caller's
//! account. Delete is both `DELETE /{id}` and `POST /{id}/delete`, since the real path was never
//! captured [INF].

use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::ids;
use crate::session::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use understudy_proto::rest::knowledge_base::{
    KnowledgeBase, KnowledgeBaseList, KnowledgeBaseRequest,
};
use understudy_proto::{ApiEnvelope, ErrorKind};

/// The forum's "4000-character limit" on knowledge-base entries.
pub const MAX_PROMPT_CHARS: usize = 4000;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Json<ApiEnvelope<KnowledgeBaseList>> {
    let list = state
        .registry()
        .knowledge_bases_of(&caller.api_key)
        .cloned()
        .collect();
    Json(ApiEnvelope::success(KnowledgeBaseList { list }))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<KnowledgeBaseRequest>,
) -> Result<Json<ApiEnvelope<KnowledgeBase>>, ApiError> {
    let name = request
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid_params("name: required"))?;
    let prompt = request
        .prompt
        .ok_or_else(|| ApiError::invalid_params("prompt: required"))?;
    check_prompt(&prompt)?;
    let id = ids::time_uuid().replace('-', "");
    let now = ids::unix_now();
    let kb = KnowledgeBase {
        knowledge_base_id: id.clone(),
        id: id.clone(),
        name,
        opening: request.opening.unwrap_or_default(),
        prompt,
        created_at: now,
        updated_at: now,
    };
    state
        .registry()
        .insert_knowledge_base(caller.api_key, kb.clone())
        .map_err(|kind| {
            ApiError::with_detail(
                kind,
                format!(
                    "an account holds at most {} knowledge bases",
                    crate::registry::MAX_KNOWLEDGE_BASES
                ),
            )
        })?;
    Ok(Json(ApiEnvelope::success(kb)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    HeyJson(request): HeyJson<KnowledgeBaseRequest>,
) -> Result<Json<ApiEnvelope<KnowledgeBase>>, ApiError> {
    if let Some(prompt) = &request.prompt {
        check_prompt(prompt)?;
    }
    let mut registry = state.registry();
    let Some(kb) = registry.knowledge_base_of_mut(&caller.api_key, &id) else {
        return Err(ApiError::with_detail(ErrorKind::KnowledgeBaseNotFound, id));
    };
    if let Some(name) = request.name.filter(|n| !n.trim().is_empty()) {
        kb.name = name;
    }
    if let Some(opening) = request.opening {
        kb.opening = opening;
    }
    if let Some(prompt) = request.prompt {
        kb.prompt = prompt;
    }
    kb.updated_at = ids::unix_now();
    Ok(Json(ApiEnvelope::success(kb.clone())))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiEnvelope<()>>, ApiError> {
    let mut registry = state.registry();
    if registry.remove_knowledge_base_of(&caller.api_key, &id) {
        Ok(Json(ApiEnvelope::empty()))
    } else {
        Err(ApiError::with_detail(ErrorKind::KnowledgeBaseNotFound, id))
    }
}

fn check_prompt(prompt: &str) -> Result<(), ApiError> {
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(ApiError::invalid_params(format!(
            "prompt: {chars} characters is over the {MAX_PROMPT_CHARS}-character limit"
        )));
    }
    Ok(())
}
