//! LiveKit's plain-HTTP endpoints that livekit-client probes around the signalling socket
//! (`livekit.md` §1): `/rtc/validate` after a failed socket. (`HEAD /`, which
//! `prepareConnection` probes, is the playground page's route: any 200 will do.)
//! `/rtc/v1` (single-PC mode of clients 2.17+) is deliberately left to the 404 fallback, so those
//! clients fall back to `/rtc`.

use crate::livekit_token;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// `200 success` for a token this server signed whose room `/rtc` would let it join; `401`
/// with `/rtc`'s reason otherwise. A 401 also makes the client give up on resuming an ended
/// session at once.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = match livekit_token::from_request(&headers, &query) {
        Ok(token) => token,
        Err(why) => return (StatusCode::UNAUTHORIZED, why).into_response(),
    };
    let claims = match livekit_token::verify(state.livekit_secret(), token) {
        Ok(claims) => claims,
        Err(err) => {
            return (StatusCode::UNAUTHORIZED, format!("invalid token: {err}")).into_response();
        }
    };
    let room_state = state
        .registry()
        .session(&claims.video.room)
        .map(|s| s.state);
    match crate::livekit::may_join(room_state) {
        Ok(()) => (StatusCode::OK, "success").into_response(),
        Err(why) => (StatusCode::UNAUTHORIZED, why).into_response(),
    }
}
