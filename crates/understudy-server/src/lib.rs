//! Understudy's mock of HeyGen's Streaming Avatar service.
//!
//! [`MockServer`] binds, serves and shuts down; [`app`] builds the axum router for in-process
//! use (`tower::ServiceExt::oneshot`). The REST half follows `heygen-api.md` §2-§6: envelopes,
//! error catalogue, auth, session states, limits and the speech schedule.
//!
//! ```no_run
//! # async fn demo() {
//! let server = understudy_server::MockServer::start().await;
//! println!("point the SDK's basePath at {}", server.uri());
//! # }
//! ```

mod avatars;
pub mod clock;
mod config;
mod error;
mod extract;
mod faults;
#[doc(hidden)]
pub mod fuzzing;

/// Cases per property: `PROPTEST_CASES` when set (the harder documented runs), else `default`.
#[cfg(test)]
fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
mod ids;
mod journal;
pub mod latency;
mod liveavatar;
mod livekit;
/// How to read the synthetic avatar's frames: state marker and frame counter.
pub use livekit::picture;
pub mod livekit_token;
mod raw_webrtc;
mod realtime;
pub mod redact;
mod registry;
mod reply;
mod routes;
mod server;
mod session;
mod speech;
mod state;
mod stun;
mod tls;
mod voice;

pub use config::{
    AuthPolicy, ConfigError, EventTimeline, OfferDtlsRole, ServerConfig, TalkReplyText,
};
pub use error::ApiError;
pub use journal::{JournaledFault, RecordedRequest};
pub use routes::{ADMIN_PREFIX, MAX_BODY_BYTES};
pub use routes::{Scheme, app};
pub use server::{InvalidFault, MockServer, MockServerBuilder, StartError};
pub use session::{CloseReason, MAX_CLIENTS_PER_DOOR};
pub use speech::MAX_QUEUED_TASKS;
pub use state::AppState;
pub use tls::{TlsError, TlsMaterial, TlsSource};
pub use voice::vad::{VadConfig, VadEvent, VoiceDetector};
