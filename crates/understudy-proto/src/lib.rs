//! The wire contract of HeyGen's Streaming (Interactive) Avatar API, shared by the mock server,
//! the Rust SDK and the conformance runner so that none of them can drift from the others.
//!
//! Everything here is plain data: serde types for the REST bodies and envelopes
//! (`heygen-api.md` §2-§3), the error catalogue (§5), the session states (§6), the event types
//! (§7-§8), the `pipecat.Frame` protobuf spoken on the chat WebSocket (§8.2), the realtime endpoint's
//! messages (§3.14), the synthetic avatar's video marker that the mock draws and clients read
//! back, the admin API's session dump, and LiveAvatar's REST bodies and FULL mode's messages
//! (`liveavatar.md`).
//!
//! Invariant: this crate performs no I/O and depends on no runtime.

pub mod admin;
pub mod envelope;
pub mod errors;
pub mod events;
pub mod faults;
pub mod hops;
pub mod liveavatar;
pub mod marker;
pub mod pipecat;
pub mod realtime;
pub mod rest;
pub mod state;
pub mod stats;

pub use envelope::{ApiEnvelope, ErrorBody, SUCCESS_CODE, TokenEnvelope};
pub use errors::ErrorKind;
pub use state::SessionState;
