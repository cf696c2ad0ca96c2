//! The middleware every route runs behind: the one place that reads request bodies (it
//! enforces the 1 MiB limit with a HeyGen-style 413 before any handler runs, then hands the
//! buffered bytes on), and the one that fills the journal.
//!
//! Entries are kept raw and cheaply (the body's bytes are shared with the handler); the journal
//! parses and redacts them when read, so the request path does neither.

use crate::error::ApiError;
use crate::journal::{JournalEntry, KeptBody};
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use std::time::{SystemTime, UNIX_EPOCH};
use understudy_proto::ErrorKind;

/// The largest request body accepted, as the "over 1 MiB" bound.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The admin prefix, chosen so it cannot collide with a HeyGen path.
pub const ADMIN_PREFIX: &str = "/__understudy";

/// Buffers the body under [`MAX_BODY_BYTES`], runs the handler, and journals both sides.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return ApiError::new(ErrorKind::PayloadTooLarge).into_response();
        }
        Err(err) => {
            return ApiError::invalid_params(format!("could not read the request body: {err}"))
                .into_response();
        }
    };
    let journaled = !parts.uri.path().starts_with(ADMIN_PREFIX);
    let received = journaled.then(|| {
        (
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
            KeptBody::of(&bytes),
        )
    });

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let Some((unix_ms, method, uri, headers, body)) = received else {
        return response;
    };

    let (parts, body_out) = response.into_parts();
    let answer = to_bytes(body_out, usize::MAX).await.unwrap_or_default();
    state.journal().push(JournalEntry {
        unix_ms,
        method,
        uri,
        headers,
        body,
        status: parts.status,
        response: KeptBody::of(&answer),
    });
    Response::from_parts(parts, Body::from(answer))
}
