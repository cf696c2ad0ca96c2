//! `GET /v1/streaming/avatar.list` (§3.11).

use crate::session::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use understudy_proto::ApiEnvelope;
use understudy_proto::rest::avatar::StreamingAvatarInfo;

/// The built-in catalogue, with the capitalised `"Success"` this endpoint uses.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<ApiEnvelope<Vec<StreamingAvatarInfo>>> {
    Json(ApiEnvelope::success_capitalised(
        state.avatars().all().to_vec(),
    ))
}
