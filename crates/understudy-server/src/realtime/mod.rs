//! The realtime endpoint's session side (`heygen-api.md` §3.14): a backend's own audio said by
//! the avatar, on the same speech schedule, narrator and room media as every other task.
//!
//! - [`utterance`]: a socket's audio on its way to the schedule (chunks, the commit buffer).
//! - [`follower`]: the schedule as the socket's `agent.*` events.
//!
//! The socket itself is `routes::realtime_socket`.

pub mod follower;
pub mod utterance;

use understudy_proto::realtime::{RealtimeError, RealtimeServerMessage};

/// An `error` message answering the client message `source`.
pub fn error(source: Option<String>, message: impl Into<String>) -> RealtimeServerMessage {
    RealtimeServerMessage::Error {
        event_id: crate::ids::time_uuid(),
        source_event_id: source,
        error: RealtimeError {
            kind: "invalid_request_error".into(),
            message: message.into(),
            code: None,
        },
    }
}

/// An `error` message carrying a HeyGen error (a session not connected, a full queue).
pub fn heygen_error(
    source: Option<String>,
    kind: understudy_proto::ErrorKind,
) -> RealtimeServerMessage {
    let body = kind.body();
    RealtimeServerMessage::Error {
        event_id: crate::ids::time_uuid(),
        source_event_id: source,
        error: RealtimeError {
            kind: "invalid_request_error".into(),
            message: body.message,
            code: Some(body.code),
        },
    }
}
