//! LiveAvatar, HeyGen's successor API (`liveavatar.md`): its REST bodies and envelope
//! ([`rest`]) and the FULL mode's LiveKit data messages ([`events`]). The LITE mode's WebSocket
//! speaks the messages of [`crate::realtime`], which were modelled on it.
//!
//! Requests are lenient as elsewhere in this crate (unknown fields ignored; clients send
//! fields the schema lacks, such as `video_quality`); responses have the shapes clients read,
//! pinned by snapshots.

pub mod events;
pub mod rest;

pub use events::{AgentCommand, AgentEvent, AgentEventKind, COMMAND_TOPIC, RESPONSE_TOPIC};
pub use rest::{LiveAvatarEnvelope, SUCCESS_CODE, SessionMode};

/// The avatar participant's identity in a LiveAvatar room: the web SDK keeps only tracks from
/// this identity.
pub const AVATAR_IDENTITY: &str = "heygen";

/// The FULL mode's agent participant, `liveavatar-agent-<session id>`, which the web SDK waits
/// for before `start` resolves.
pub fn agent_identity(session_id: &str) -> String {
    format!("liveavatar-agent-{session_id}")
}
