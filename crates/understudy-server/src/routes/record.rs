//! The middleware every route runs behind: the one place that reads request bodies (it
//! enforces the 1 MiB limit with a HeyGen-style 413 before any handler runs, then hands the
//! buffered bytes on), and the one that fills the journal.
//!
//! Entries are redacted as they are recorded (`crate::redact`): API keys and tokens in headers,
//! query strings and JSON bodies become fingerprints, so no export of the journal holds one.

use crate::error::ApiError;
use crate::journal::RecordedRequest;
use crate::redact;
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

/// Responses larger than this are journaled as a note rather than in full.
const MAX_JOURNALED_RESPONSE: usize = 64 * 1024;

/// The admin prefix, chosen so it cannot collide with a HeyGen path.
pub const ADMIN_PREFIX: &str = "/__understudy";

fn redacted(mut value: serde_json::Value) -> serde_json::Value {
    redact::json(&mut value);
    value
}

fn body_value(bytes: &[u8]) -> serde_json::Value {
    if bytes.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

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
    let mut entry = journaled.then(|| RecordedRequest {
        seq: 0,
        unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(redact::query),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes());
                (k.as_str().to_owned(), redact::header(k.as_str(), &value))
            })
            .collect(),
        body: redacted(body_value(&bytes)),
        status: 0,
        response: serde_json::Value::Null,
    });

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let Some(entry) = entry.as_mut() else {
        return response;
    };

    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    entry.status = parts.status.as_u16();
    entry.response = if bytes.len() > MAX_JOURNALED_RESPONSE {
        serde_json::Value::String(format!("<{} bytes>", bytes.len()))
    } else {
        redacted(body_value(&bytes))
    };
    state.journal().push(entry.clone());
    Response::from_parts(parts, Body::from(bytes))
}
