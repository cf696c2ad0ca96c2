//! The events of §7: avatar and user events carried as JSON in LiveKit data packets (named by
//! `type`), and the chat WebSocket's user events (named by `event_type`).

use serde::{Deserialize, Serialize};

/// An event in a LiveKit data packet (SDK 2.x) or, for 1.x, a binary data-channel message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DataChannelEvent {
    /// The first talking frame of a task went out.
    AvatarStartTalking { task_id: String },
    /// The last talking frame of a task went out. `duration_ms` since SDK "1.0.15".
    AvatarStopTalking {
        task_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<f64>,
    },
    /// A chunk of what the avatar says; clients concatenate chunks with `""`.
    AvatarTalkingMessage { task_id: String, message: String },
    /// The avatar's message is complete.
    AvatarEndMessage { task_id: String },
    /// A chunk of the user's transcript.
    UserTalkingMessage { task_id: String, message: String },
    /// The user's transcript is complete.
    UserEndMessage { task_id: String },
    /// The user started speaking: in the room when the chat socket asked for
    /// `arch_version=v2` (the iOS demo reads it there, §7.1), else on the socket.
    UserStart,
    /// The user stopped speaking (same carriage as `UserStart`).
    UserStop,
}

/// A JSON text frame the server sends on `/v1/ws/streaming.chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum ChatSocketEvent {
    UserStart,
    UserStop,
    /// Sent only with `silence_response=true`; semantics undocumented (§7.2).
    UserSilence {
        silence_times: u32,
        count_down: u32,
    },
}
