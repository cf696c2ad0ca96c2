//! Admin control of a session's user voice, under `/__understudy/sessions/{id}/`, so tests get
//! user events without a microphone:
//!
//! - `POST …/utterances` `{"utterances": ["hello", …]}`: transcripts for the next turns, heard
//!   from a microphone or injected; answers `{"scripted": <queued>}`.
//! - `POST …/user_turn` `{"text"?: "…", "duration_ms"?: 1000}`: the user speaks now for
//!   `duration_ms` (default 1000, at most 60,000): `user_start` at once, the rest of the turn
//!   when it ends; without `text` the transcript is the next scripted one or the placeholder.
//!   Answers `{"started": true, "ends_in_ms": …}`.
//!
//! Both need a connected session: 10006 for an unknown one, the §6 row for a wrong state.

use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::state::AppState;
use crate::voice::conversation::MAX_SCRIPTED;
use crate::voice::turns;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::time::Duration;
use understudy_proto::{ErrorKind, SessionState};

/// The longest injected turn.
const MAX_TURN_MS: u64 = 60_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/utterances", post(script))
        .route("/sessions/{id}/user_turn", post(user_turn))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    utterances: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserTurn {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    duration_ms: Option<u64>,
}

/// 10006 for an unknown session, the state row for one not connected.
fn check_connected(state: &AppState, id: &str) -> Result<(), ApiError> {
    match state.registry().session(id).map(|s| s.state) {
        None => Err(ApiError::new(ErrorKind::SessionNotFound)),
        Some(SessionState::Connected) => Ok(()),
        Some(other) => Err(ApiError::new(ErrorKind::state_wrong(other))),
    }
}

async fn script(
    State(state): State<AppState>,
    Path(id): Path<String>,
    HeyJson(body): HeyJson<Script>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_connected(&state, &id)?;
    let queued = state
        .registry()
        .session_mut(&id)
        .and_then(|s| s.voice.script(body.utterances));
    match queued {
        Some(queued) => Ok(Json(serde_json::json!({ "scripted": queued }))),
        None => Err(ApiError::invalid_params(format!(
            "utterances: a session holds at most {MAX_SCRIPTED} scripted utterances"
        ))),
    }
}

async fn user_turn(
    State(state): State<AppState>,
    Path(id): Path<String>,
    HeyJson(body): HeyJson<UserTurn>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let duration_ms = body.duration_ms.unwrap_or(1000);
    if duration_ms > MAX_TURN_MS {
        return Err(ApiError::invalid_params(format!(
            "duration_ms: at most {MAX_TURN_MS}"
        )));
    }
    check_connected(&state, &id)?;
    let started =
        turns::start_turn(&state, &id).map_err(|_| ApiError::new(ErrorKind::NotInCorrectState))?;
    if !started {
        return Err(ApiError::with_detail(
            ErrorKind::NotInCorrectState,
            "the user is already speaking",
        ));
    }
    let heard = state
        .config()
        .clock()
        .to_wall(Duration::from_millis(duration_ms));
    let ended = state.registry().session(&id).map(|s| s.ended.clone());
    let task_state = state.clone();
    state.spawn(async move {
        let cancelled = async {
            match ended {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = cancelled => {}
            () = tokio::time::sleep(heard) => {
                let _ = turns::finish_turn(&task_state, &id, Some(heard), body.text);
            }
        }
    });
    Ok(Json(
        serde_json::json!({ "started": true, "ends_in_ms": duration_ms }),
    ))
}
