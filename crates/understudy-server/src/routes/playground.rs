//! The playground and inspector page at `/`, and its script and style under `/playground/`:
//! plain files kept in `crates/understudy-server/playground/` and embedded in the binary, so a
//! person who runs `understudy serve` opens one URL and needs nothing else (no npm, no CDN, no
//! certificate: `http://127.0.0.1` is a secure context for WebRTC and the microphone).
//!
//! `HEAD /` stays cheap for livekit-client's `prepareConnection`, which probes the room URL.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;
use understudy_proto::ErrorKind;

const INDEX: &str = include_str!("../../playground/index.html");

/// The page's other files: name, content type, content.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "playground.js",
        "text/javascript; charset=utf-8",
        include_str!("../../playground/playground.js"),
    ),
    (
        "inspector.js",
        "text/javascript; charset=utf-8",
        include_str!("../../playground/inspector.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../playground/style.css"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/playground/{file}", get(asset))
}

async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::with_detail(ErrorKind::RouteNotFound, format!("GET /playground/{file}"))
            .into_response(),
    }
}
