//! What the admin API (`/__understudy`) answers about sessions: the mock's inspector page, the
//! JavaScript package and Rust clients read these shapes, and the server writes them.

use crate::SessionState;
use crate::rest::session::{Protocol, Quality, VideoEncoding};
use crate::rest::task::TaskType;
use serde::{Deserialize, Serialize};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Stopped,
    IdleTimeout,
    DurationLimit,
    /// The admin reset or the server shut down.
    ServerReset,
}

/// A session as `GET /__understudy/sessions` lists it: state, owner, timers, what it is saying
/// and who is connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDump {
    pub session_id: String,
    /// The owner's API key as a fingerprint, like everything else the admin API shows.
    pub api_key: String,
    pub state: SessionState,
    pub close_reason: Option<CloseReason>,
    /// v1 (raw WebRTC) or v2 (LiveKit).
    pub protocol: Protocol,
    /// A LiveAvatar session's mode (`FULL`, `LITE`); absent for the Streaming API's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveavatar: Option<crate::liveavatar::SessionMode>,
    pub avatar_id: String,
    pub quality: Quality,
    pub video_encoding: VideoEncoding,
    pub created_at: i64,
    pub age_ms: u128,
    pub idle_ms: u128,
    pub listening: bool,
    pub speaking_task_id: Option<String>,
    pub queued_task_ids: Vec<String>,
    /// The speech schedule from the speaking task on, in order.
    pub schedule: Vec<ScheduledTaskDump>,
    /// Clients connected to the session's media: LiveKit room clients, or a v1 peer.
    pub viewers: usize,
    /// The identities in the LiveKit room besides the avatar.
    pub room_members: Vec<String>,
    pub chat_sockets: usize,
    pub realtime_sockets: usize,
    /// Whether a user turn is open (voice).
    pub user_speaking: bool,
    /// User turns heard so far.
    pub user_turns: u64,
    /// Milliseconds of microphone audio the voice detector has judged.
    pub audio_heard_ms: u128,
    /// Transcripts scripted for the next turns and not yet used.
    pub scripted_utterances: usize,
    pub push_to_talk: bool,
    /// The name of the latency profile the session follows.
    pub latency_profile: String,
}

/// One task of a session's speech schedule, timed from the moment of the dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledTaskDump {
    pub task_id: String,
    pub task_type: TaskType,
    /// What the avatar says: the text for `repeat`, the reply for `talk`; empty for a
    /// realtime client's audio.
    pub text: String,
    /// Whether the avatar plays a client's audio (the realtime endpoint) for it.
    pub client_audio: bool,
    /// Milliseconds until it starts talking; negative once it has.
    pub starts_in_ms: i64,
    /// Milliseconds until it stops talking.
    pub ends_in_ms: i64,
}
