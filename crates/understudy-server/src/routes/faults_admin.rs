//! Admin control of fault rules (see `crate::faults`), under `/__understudy/`:
//!
//! - `POST faults` with a rule (`understudy_proto::faults::FaultRule`): adds it, answers
//!   `{"id": N}`. A session or token rule acts at once; one naming a session or token the
//!   server does not have is refused with 404 and not kept.
//! - `GET faults`: every rule with how often it matched and fired.
//! - `DELETE faults`: removes them all; `DELETE faults/{id}`: that one (404 when unknown).
//!
//! `reset` removes them too. A rule that is not valid JSON, names an unknown field, or has no
//! action (or two) is refused with HeyGen's invalid parameters error naming what is wrong.

use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use understudy_proto::ErrorKind;
use understudy_proto::faults::{FaultAdded, FaultRule, FaultStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/faults", get(list).post(add).delete(clear))
        .route("/faults/{id}", delete(remove))
}

async fn add(
    State(state): State<AppState>,
    HeyJson(rule): HeyJson<FaultRule>,
) -> Result<Json<FaultAdded>, ApiError> {
    let (id, immediate) = state.faults().add(rule).map_err(ApiError::invalid_params)?;
    if let Some(fault) = immediate {
        if !state.apply_fault(&fault) {
            state.faults().remove(id);
            return Err(ApiError::with_detail(
                ErrorKind::SessionNotFound,
                "no live session or known token by that name",
            ));
        }
    }
    Ok(Json(FaultAdded { id }))
}

async fn list(State(state): State<AppState>) -> Json<Vec<FaultStatus>> {
    Json(state.faults().list())
}

async fn clear(State(state): State<AppState>) -> Json<Value> {
    state.faults().clear();
    Json(json!({"deleted": "all"}))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::invalid_params(format!("id: not a fault rule id: {id:?}")))?;
    if state.faults().remove(id) {
        Ok(Json(json!({"deleted": id})))
    } else {
        Err(ApiError::with_detail(
            ErrorKind::RouteNotFound,
            format!("no fault rule {id}"),
        ))
    }
}
