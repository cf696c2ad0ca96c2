//! LiveAvatar, HeyGen's successor API (`liveavatar.md`), served beside the Streaming API on
//! the same sessions, schedule, room and voice detector.
//!
//! - [`error`]: its error answers (`{code, data, message}`, FastAPI's 422).
//! - [`extract`]: its credentials (API key, session token) and bodies.
//! - [`agent`]: FULL mode's control channel: the room's events as `agent-response` messages,
//!   and what an `agent-control` command does to the session.
//!
//! The REST routes are in `routes::liveavatar`; LITE's WebSocket is the realtime endpoint's
//! (`routes::realtime_socket`), whose messages were modelled on LITE's.

pub mod agent;
pub mod error;
pub mod extract;
