//! Admin control of latency profiles (see `crate::latency`), under `/__understudy/`:
//!
//! - `GET latency`: the profile new sessions follow.
//! - `PUT latency` `{"profile": "heygen"}` or `{"profile": {…a profile…}}`: new sessions follow
//!   it; sessions already made keep theirs. `reset` goes back to the configured one.
//! - `GET`/`PUT sessions/{id}/latency`: the same for one session, from its next phase on.
//!
//! A profile that cannot be drawn from, or an unknown name, is refused with HeyGen's invalid
//! parameters error (400 `400006`); an unknown session with 10006.

use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::latency::LatencyProfile;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use understudy_proto::ErrorKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/latency", get(server_profile).put(set_server_profile))
        .route(
            "/sessions/{id}/latency",
            get(session_profile).put(set_session_profile),
        )
}

/// A built-in profile by name, or a whole profile.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Choice {
    Named(String),
    Given(LatencyProfile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetProfile {
    profile: Choice,
}

impl SetProfile {
    fn into_profile(self) -> Result<Arc<LatencyProfile>, ApiError> {
        let profile = match self.profile {
            Choice::Named(name) => LatencyProfile::named(&name),
            Choice::Given(profile) => profile.validate().map(|()| profile),
        };
        profile
            .map(Arc::new)
            .map_err(|e| ApiError::invalid_params(e.to_string()))
    }
}

async fn server_profile(State(state): State<AppState>) -> Json<LatencyProfile> {
    Json(LatencyProfile::clone(&state.latency_profile()))
}

async fn set_server_profile(
    State(state): State<AppState>,
    HeyJson(request): HeyJson<SetProfile>,
) -> Result<Json<LatencyProfile>, ApiError> {
    let profile = request.into_profile()?;
    state.set_latency_profile(Arc::clone(&profile));
    Ok(Json(LatencyProfile::clone(&profile)))
}

async fn session_profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LatencyProfile>, ApiError> {
    let registry = state.registry();
    let session = registry
        .session(&id)
        .ok_or(ApiError::new(ErrorKind::SessionNotFound))?;
    Ok(Json(session.latency_profile().clone()))
}

async fn set_session_profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
    HeyJson(request): HeyJson<SetProfile>,
) -> Result<Json<LatencyProfile>, ApiError> {
    let profile = request.into_profile()?;
    let mut registry = state.registry();
    let session = registry
        .session_mut(&id)
        .ok_or(ApiError::new(ErrorKind::SessionNotFound))?;
    session.set_latency_profile(Arc::clone(&profile));
    Ok(Json(LatencyProfile::clone(&profile)))
}
