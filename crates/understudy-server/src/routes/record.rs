//! The middleware every route runs behind: the one place that reads request bodies (it
//! enforces the 1 MiB limit with a HeyGen-style 413 before any handler runs, then hands the
//! buffered bytes on), and the one that fills the journal.
//!
//! Entries are kept raw and cheaply (the body's bytes are shared with the handler); the journal
//! parses and redacts them when read, so the request path does neither.

use crate::error::ApiError;
use crate::faults::HttpAnswer;
use crate::journal::{JournalEntry, JournaledFault, KeptBody};
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use std::time::{SystemTime, UNIX_EPOCH};
use understudy_proto::ErrorKind;

/// The largest request body accepted, as the issue's "over 1 MiB" bound.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The admin prefix, chosen so it cannot collide with a HeyGen path.
pub const ADMIN_PREFIX: &str = "/__understudy";

/// The mock's own pages and API, which are not HeyGen's and would drown the journal: the admin
/// routes (the inspector polls them) and the playground page with its files.
fn is_unjournaled(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX) || path == "/" || path.starts_with("/playground/")
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
    let journaled = !is_unjournaled(parts.uri.path());
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

    // A fault rule may change the answer (never an admin call's).
    let fault = journaled
        .then(|| state.faults().for_request(parts.uri.path(), &bytes))
        .flatten();
    let journaled_fault = fault.as_ref().map(|(id, f)| JournaledFault {
        id: *id,
        action: f.describe(),
    });
    if let Some(delay) = fault.as_ref().and_then(|(_, f)| f.delay) {
        tokio::time::sleep(delay).await;
    }
    let response = match fault.map(|(_, f)| f.answer) {
        None | Some(HttpAnswer::Normal) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(HttpAnswer::Error {
            status,
            code,
            message,
        }) => fault_error(status, code, message),
        Some(HttpAnswer::MalformedBody) => (
            [(http::header::CONTENT_TYPE, "application/json")],
            MALFORMED_BODY,
        )
            .into_response(),
        Some(HttpAnswer::DropConnection) => dropped_connection(),
    };
    let Some((unix_ms, method, uri, headers, body)) = received else {
        return response;
    };

    let (parts, body_out) = response.into_parts();
    // A dropped connection's body fails: it is journaled with no answer, then dropped for real.
    let answer = to_bytes(body_out, usize::MAX).await.ok();
    state.journal().push(JournalEntry {
        unix_ms,
        method,
        uri,
        headers,
        body,
        status: parts.status,
        response: KeptBody::of(answer.as_ref().unwrap_or(&bytes::Bytes::new())),
        fault: journaled_fault,
    });
    match answer {
        Some(answer) => Response::from_parts(parts, Body::from(answer)),
        None => dropped_connection(),
    }
}

/// What a `malformed_body` fault answers: a 200 whose JSON stops half-way.
const MALFORMED_BODY: &str = r#"{"code": 100, "data": {"session_id": "#;

/// A HeyGen-style error a fault rule asked for (any status, any code).
fn fault_error(status: u16, code: i64, message: String) -> Response {
    let status =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(understudy_proto::ErrorBody { code, message }),
    )
        .into_response()
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without having sent the head, so the client sees the connection drop with no answer.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "a fault rule dropped the connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}
