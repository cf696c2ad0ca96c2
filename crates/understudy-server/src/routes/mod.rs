//! The router: every HeyGen streaming route, the admin routes, and the layers every response
//! passes through (CORS, journal and body limit, panic guard, HeyGen-style 404/405).

mod admin;
mod admin_guard;
mod avatars;
mod chat_socket;
mod faults_admin;
mod knowledge_base;
mod latency_admin;
mod list;
mod liveavatar;
mod livekit_http;
mod playground;
mod realtime_socket;
mod record;
mod session;
mod socket_faults;
mod task;
mod token;
mod voice_admin;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
pub use record::{ADMIN_PREFIX, MAX_BODY_BYTES};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use understudy_proto::ErrorKind;

/// Which listener a request came in on, so URLs handed back (`url`, `realtime_endpoint`) use
/// the scheme the client used. Requests without it (in-process tests) are taken as plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// Builds the whole application: HeyGen routes, admin routes and layers.
pub fn app(state: AppState) -> Router {
    let heygen = Router::new()
        .route("/v1/streaming.create_token", post(token::create_token))
        .route("/v1/streaming.new", post(session::new_session))
        .route("/v1/streaming.start", post(session::start_session))
        .route("/v1/streaming.ice", post(session::ice))
        .route("/v1/streaming.stop", post(session::stop_session))
        .route("/v1/streaming.keep_alive", post(session::keep_alive))
        .route("/v1/streaming.task", post(task::task))
        .route("/v1/streaming.interrupt", post(task::interrupt))
        .route("/v1/streaming.start_listening", post(task::start_listening))
        .route("/v1/streaming.stop_listening", post(task::stop_listening))
        .route("/v1/streaming.list", get(list::live_sessions))
        .route("/v2/streaming.list", get(list::session_history))
        .route("/v1/streaming/avatar.list", get(avatars::list))
        .route(
            "/v1/streaming/knowledge_base/list",
            get(knowledge_base::list),
        )
        .route(
            "/v1/streaming/knowledge_base/create",
            post(knowledge_base::create),
        )
        .route(
            "/v1/streaming/knowledge_base/{id}",
            post(knowledge_base::update).delete(knowledge_base::delete),
        )
        .route(
            "/v1/streaming/knowledge_base/{id}/delete",
            post(knowledge_base::delete),
        )
        .route("/v1/ws/streaming.chat", get(chat_socket::chat_socket))
        .route(
            "/v2-alpha/interactive-avatar/session/{session_id}",
            get(realtime_socket::realtime_socket),
        );

    // LiveAvatar (`liveavatar.md`): its own paths, no overlap with the Streaming API's.
    let liveavatar = Router::new()
        .route("/v1/sessions/token", post(liveavatar::create_token))
        .route("/v1/sessions/start", post(liveavatar::start))
        .route("/v1/sessions/stop", post(liveavatar::stop))
        .route("/v1/sessions/keep-alive", post(liveavatar::keep_alive))
        .route(
            "/v1/sessions",
            get(liveavatar::list).merge(delete(liveavatar::stop)),
        )
        .route("/v1/sessions/{session_id}", get(liveavatar::read))
        .route(
            "/v1/sessions/{session_id}/transcript",
            get(liveavatar::transcript),
        )
        .route(
            "/v1/sessions/{session_id}/ws",
            get(realtime_socket::lite_socket),
        );

    let livekit = Router::new()
        .route("/rtc/validate", get(livekit_http::validate))
        .route("/rtc", get(crate::livekit::rtc));

    Router::new()
        .merge(heygen)
        .merge(liveavatar)
        .merge(livekit)
        .merge(playground::router())
        .nest(
            ADMIN_PREFIX,
            admin::router()
                .merge(voice_admin::router())
                .merge(latency_admin::router())
                .merge(faults_admin::router())
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    admin_guard::admin_guard,
                )),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(ErrorKind::Internal).into_response()
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record::record,
        ))
        .layer(cors())
        .with_state(state)
}

/// The browser SDK calls the API cross-origin with `Authorization` and a JSON body, so every
/// preflight must pass. Origin and headers are mirrored because `*` does not cover
/// `Authorization`.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true)
        .allow_private_network(true)
        .max_age(Duration::from_secs(600))
}

async fn not_found(method: Method, uri: Uri) -> Response {
    ApiError::with_detail(ErrorKind::RouteNotFound, format!("{method} {}", uri.path()))
        .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::with_detail(
        ErrorKind::MethodNotAllowed,
        format!("{method} {}", uri.path()),
    )
    .into_response()
}

/// `ws://host` or `wss://host` for the host the client dialled: its `Host` header, or over
/// HTTP/2 (which has none) the request's `:authority`.
fn websocket_base(headers: &HeaderMap, uri: &Uri, scheme: Option<Scheme>) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("127.0.0.1");
    match scheme.unwrap_or(Scheme::Http) {
        Scheme::Http => format!("ws://{host}"),
        Scheme::Https => format!("wss://{host}"),
    }
}
