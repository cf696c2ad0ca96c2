//! A Rust client for HeyGen's Streaming (Interactive) Avatar API with the official
//! `@heygen/streaming-avatar` SDK's surface: `new_session`, `start_session`, `speak`,
//! `interrupt`, `start_listening`, `stop_listening`, `keep_alive`, `stop_avatar`, plus
//! `create_token` for servers that hold the API key.
//!
//! It talks to `https://api.heygen.com` by default, or to any base path, such as an
//! `understudy serve` mock. Request and response bodies are `understudy-proto`'s, so the client
//! and the mock share one wire contract.
//!
//! ```no_run
//! use streaming_avatar::{StreamingAvatar, SpeakRequest};
//! use streaming_avatar::proto::rest::session::NewSessionRequest;
//! # async fn demo() -> Result<(), streaming_avatar::Error> {
//! let server = StreamingAvatar::builder().base_path("http://127.0.0.1:8080").api_key("demo").build()?;
//! let token = server.create_token().await?;
//! let avatar = StreamingAvatar::builder().base_path("http://127.0.0.1:8080").token(token).build()?;
//! avatar.create_start_avatar(&NewSessionRequest::default()).await?;
//! avatar.speak(&SpeakRequest::repeat("Hello from Rust")).await?;
//! avatar.stop_avatar().await?;
//! # Ok(()) }
//! ```

mod client;
mod error;
mod tls;

pub use client::{
    Credentials, DEFAULT_BASE_PATH, SpeakRequest, StreamingAvatar, StreamingAvatarBuilder,
};
pub use error::{ApiFailure, Error};
/// The wire types this client sends and receives.
pub use understudy_proto as proto;
