//! A Rust client for HeyGen's Streaming (Interactive) Avatar API with the official
//! `@heygen/streaming-avatar` SDK's surface (2.1.0), REST and real-time halves:
//!
//! - [`StreamingAvatar`]: the account-level client (`create_token`, `new_session`,
//!   `create_start_avatar`, lists).
//! - [`Session`]: one session, owning its LiveKit room (joined over webrtc-rs), its chat
//!   WebSocket, its voice chat and its tasks: `speak` on the path SDK 2.1.0 would take,
//!   `interrupt`, listening, push-to-talk, `keep_alive`, `stop`.
//! - [`events`]: the official `StreamingEvents` as one enum, with `on`/`off` listeners and an
//!   async [`EventStream`], each event stamped with when it arrived.
//! - [`media`]: the avatar's video as whole encoded frames (H264, VP8) and its Opus audio, with
//!   decoding to RGB (feature `h264`, default) and PCM, and the synthetic avatar's marker.
//! - [`voice`]: voice chat from any PCM source (WAV, samples, a channel) over either transport.
//! - [`liveavatar`]: HeyGen's successor API, LiveAvatar, with its web SDK's surface: session
//!   tokens, FULL sessions' commands and events, LITE's `ws_url`, the account's sessions.
//!
//! It talks to `https://api.heygen.com` by default, or to any base path, such as an
//! `understudy serve` mock. Bodies are `understudy-proto`'s, so client and mock share one wire
//! contract.
//!
//! ```no_run
//! use streaming_avatar::{SpeakRequest, StreamingAvatar, StreamingEvent};
//! use streaming_avatar::proto::rest::session::NewSessionRequest;
//! # async fn demo() -> Result<(), streaming_avatar::Error> {
//! let backend = StreamingAvatar::builder().base_path("http://127.0.0.1:8080").api_key("demo").build()?;
//! let token = backend.create_token().await?;
//! let avatar = StreamingAvatar::builder().base_path("http://127.0.0.1:8080").token(token).build()?;
//! let mut session = avatar.create_start_avatar(&NewSessionRequest::default()).await?;
//! let mut events = session.events();
//! session.speak(&SpeakRequest::repeat("Hello from Rust")).await?;
//! let started = events
//!     .wait_for(std::time::Duration::from_secs(10), |e| matches!(e, StreamingEvent::AvatarStartTalking { .. }))
//!     .await?;
//! println!("talking, event #{}", started.seq);
//! session.stop().await?;
//! # Ok(()) }
//! ```
//!
//! # Parity with the official SDK 2.1.0
//!
//! | official | here | notes |
//! |---|---|---|
//! | `new StreamingAvatar({token, basePath})` | [`StreamingAvatar::builder`]`.token().base_path()` | also `.api_key()` for servers; extra root certificates |
//! | `createStartAvatar(req)` | [`StreamingAvatar::create_start_avatar`] / `_with(req, options)` | returns the [`Session`] instead of storing it on the client |
//! | `newSession(req)` | [`StreamingAvatar::new_session`] | |
//! | `startSession()` | [`Session::start_session`] | REST only; [`Session::connect`] then joins the room and opens the socket |
//! | `startAvatar(req, sessionInfo)` | [`StreamingAvatar::attach_session`] + [`Session::start`] | |
//! | `speak({text, taskType, taskMode})` | [`Session::speak`] | same path choice; [`Session::speak_via`] forces one |
//! | `interrupt()`, `startListening()`, `stopListening()`, `keepAlive()` | same names, snake case | |
//! | `stopAvatar()` | [`Session::stop`] | also leaves the room and ends every task; dropping the session does too |
//! | `pushToTalkStart()`, `pushToTalkStop()` | [`Session::push_to_talk_start`], [`Session::push_to_talk_stop`] | same checks |
//! | `startVoiceChat({isInputAudioMuted})` | [`Session::start_voice_chat`]`(source, muted)` | the microphone is any [`voice::PcmSource`] |
//! | `closeVoiceChat()` | [`Session::close_voice_chat`] | |
//! | `muteInputAudio()`, `unmuteInputAudio()`, `isInputAudioMuted` | same names | |
//! | `on(event, fn)`, `off(event, fn)` | [`Session::on`] returns a [`ListenerId`]; [`Session::off`] takes it | Rust closures have no identity to compare |
//! | `mediaStream` | [`Session::video`], [`Session::audio`] | encoded frames; [`media::decode`] for pixels and samples |
//! | `room` (livekit `Room`) | [`Session::join_info`], counts | no general LiveKit client API: only what a HeyGen room uses |
//! | `connectionQuality` | [`Session::connection_quality`] | judged from the media itself (see `room::quality`) |
//! | `sessionId` | [`Session::session_id`] | |
//! | `StartAvatarRequest` fields | [`proto::rest::session::NewSessionRequest`] + [`SessionOptions`] | `voiceChatTransport`, `enablePushToTalk`, `useSilencePrompt` are options |
//! | `StreamingEvents.*` (12 events) | [`StreamingEvent`] | plus `Other` for unknown `type`s, as the official SDK emits them too |
//! | `APIError` (status, responseText) | [`Error::Api`] | with HeyGen's `code` and `message` parsed |
//! | `VoiceChatTransport`, `TaskType`, `TaskMode`, `AvatarQuality`, `VoiceEmotion`, `STTProvider`, `ElevenLabsModel` | [`VoiceChatTransport`], `proto` types | `STTProvider` and `ElevenLabsModel` are strings in `proto` |
//! | `ConnectionQuality` | [`ConnectionQuality`] | |
//!
//! Not reproduced: the official SDK's telemetry, and 2.0.0-2.0.5's proto download (the pipecat
//! frame is compiled in). VP8 frames are reassembled but this build decodes H264 only.

mod chat_socket;
mod client;
mod error;
pub mod events;
pub mod liveavatar;
pub mod media;
mod rest;
mod room;
mod session;
mod tls;
pub mod voice;
mod websocket;

pub use chat_socket::ChatSocketUrl;
pub use client::{DEFAULT_BASE_PATH, SpeakRequest, StreamingAvatar, StreamingAvatarBuilder};
pub use error::{ApiFailure, Error};
pub use events::{
    ConnectionQuality, DisconnectReason, Event, EventFilter, EventSource, EventStream, Lagged,
    ListenerId, StreamingEvent,
};
pub use rest::Credentials;
pub use room::{JoinInfo, JoinTimings, PROTOCOL_VERSION, RemoteParticipant, RoomOptions};
pub use session::{Session, SessionOptions, SpeakPath, StartTimings};
/// The wire types this client sends and receives.
pub use understudy_proto as proto;
pub use voice::{PcmChunk, PcmSender, PcmSource, VoiceChatTransport};
