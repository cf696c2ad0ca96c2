//! `GET /v1/streaming.list` (live sessions) and `GET /v2/streaming.list` (history), §3.10.

use crate::error::ApiError;
use crate::session::{Caller, Session};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use std::collections::HashMap;
use tokio::time::Instant;
use understudy_proto::rest::list::{
    ListSessionsData, SessionHistoryItem, SessionHistoryPage, SessionSummary,
};
use understudy_proto::{ApiEnvelope, SUCCESS_CODE, SessionState};

/// The only `api_key_type` ever captured.
const API_KEY_TYPE: &str = "regular";
const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = 100;

/// Sessions in new, connecting or connected that the caller can see, oldest first.
pub async fn live_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Json<ApiEnvelope<ListSessionsData>> {
    let registry = state.registry();
    let mut sessions: Vec<&Session> = registry
        .sessions()
        .filter(|s| s.state.is_live() && caller.can_see(&s.owner))
        .collect();
    sessions.sort_by_key(|s| s.seq);
    let sessions = sessions
        .into_iter()
        .map(|s| SessionSummary {
            session_id: s.id.clone(),
            status: s.state,
            created_at: s.created_unix,
            api_key_type: API_KEY_TYPE.to_owned(),
        })
        .collect();
    Json(ApiEnvelope::success(ListSessionsData { sessions }))
}

/// The v2 query. Its parameter names were never captured [INF]: `page` (from 1), `page_size`
/// (1-100, default 20), `token` (a `next_pagination_token`, which wins over `page`), `status`,
/// and `date_from` / `date_to` in Unix seconds, inclusive.
#[derive(Debug, Default, Deserialize)]
struct HistoryQuery {
    page: Option<u64>,
    page_size: Option<u64>,
    token: Option<String>,
    status: Option<SessionState>,
    date_from: Option<i64>,
    date_to: Option<i64>,
}

/// Every session of the caller, newest first, one page at a time.
pub async fn session_history(
    State(state): State<AppState>,
    caller: Caller,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<SessionHistoryPage>, ApiError> {
    let query = parse_history_query(&raw)?;
    let page_size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::invalid_params(format!(
            "page_size must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let page = match &query.token {
        Some(token) => token
            .parse::<u64>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                ApiError::invalid_params("token is not a pagination token from this server")
            })?,
        None => query.page.unwrap_or(1).max(1),
    };

    let now = Instant::now();
    let registry = state.registry();
    let mut matching: Vec<&Session> = registry
        .sessions()
        .filter(|s| caller.can_see(&s.owner))
        .filter(|s| query.status.is_none_or(|status| s.state == status))
        .filter(|s| query.date_from.is_none_or(|from| s.created_unix >= from))
        .filter(|s| query.date_to.is_none_or(|to| s.created_unix <= to))
        .collect();
    matching.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let total = matching.len() as u64;
    let start = ((page - 1) * page_size).min(total) as usize;
    let end = (start + page_size as usize).min(matching.len());
    let data = matching[start..end]
        .iter()
        .map(|s| SessionHistoryItem {
            session_id: s.id.clone(),
            status: s.state,
            created_at: s.created_unix,
            api_key_type: API_KEY_TYPE.to_owned(),
            duration: s.clock.to_service(s.age(now)).as_secs_f64(),
            avatar_id: s.settings.avatar_id.clone(),
            voice_name: s.settings.voice_id.clone(),
        })
        .collect();
    Ok(Json(SessionHistoryPage {
        code: SUCCESS_CODE,
        message: "success".to_owned(),
        total,
        page,
        page_size,
        next_pagination_token: ((end as u64) < total).then(|| (page + 1).to_string()),
        data,
    }))
}

/// Turns the raw query into typed fields with a HeyGen error naming the bad parameter.
fn parse_history_query(raw: &HashMap<String, String>) -> Result<HistoryQuery, ApiError> {
    let value = serde_json::Value::Object(
        raw.iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "page" | "page_size" | "date_from" | "date_to" => {
                        v.parse::<i64>().map(serde_json::Value::from).map_err(|_| {
                            ApiError::invalid_params(format!("{k} must be an integer, got {v:?}"))
                        })?
                    }
                    _ => serde_json::Value::String(v.clone()),
                };
                Ok((k.clone(), v))
            })
            .collect::<Result<_, ApiError>>()?,
    );
    serde_json::from_value(value).map_err(|e| ApiError::invalid_params(e.to_string()))
}
