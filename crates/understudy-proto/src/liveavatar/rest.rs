//! LiveAvatar's REST bodies (`liveavatar.md` §1): the `{code, data, message}` envelope, the
//! session token request (FULL and LITE), `start`'s answer, `stop`, `keep-alive`, the session
//! list and reads, and the transcript.

use serde::{Deserialize, Serialize};

/// `code` of every success; the web SDK treats any other as a failure.
pub const SUCCESS_CODE: i64 = 1000;

/// `{"code": 1000, "data": …, "message": "…"}`. Errors use the same shape with another code
/// and `data: null`; pipecat's models require all three fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveAvatarEnvelope<T> {
    pub code: i64,
    pub data: Option<T>,
    pub message: String,
}

impl<T> LiveAvatarEnvelope<T> {
    pub fn success(data: T) -> Self {
        Self {
            code: SUCCESS_CODE,
            data: Some(data),
            message: "success".to_owned(),
        }
    }

    /// A success with `data: null` (stop, keep-alive).
    pub fn empty() -> Self {
        Self {
            code: SUCCESS_CODE,
            data: None,
            message: "success".to_owned(),
        }
    }

    /// An error body: `code` and `message`, `data: null`.
    pub fn error(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            data: None,
            message: message.into(),
        }
    }
}

/// FULL: LiveAvatar runs the conversation (ASR, LLM, voice); LITE: the client sends audio.
/// `CUSTOM` is LITE's old name, still accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SessionMode {
    #[default]
    Full,
    #[serde(alias = "CUSTOM")]
    Lite,
}

/// `video_settings.quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    VeryHigh,
    #[default]
    High,
    Medium,
    Low,
}

/// `video_settings.encoding`; H264 unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum VideoCodec {
    #[default]
    #[serde(alias = "h264")]
    H264,
    #[serde(alias = "vp8")]
    VP8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSettings {
    #[serde(default)]
    pub quality: VideoQuality,
    #[serde(default)]
    pub encoding: VideoCodec,
}

/// FULL's persona: who the avatar is and how it sounds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarPersona {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `interactivity_type`: whether the user's microphone is always heard or only while a
/// push-to-talk button is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Interactivity {
    #[default]
    Conversational,
    PushToTalk,
}

/// `POST /v1/sessions/token`'s body (both modes' schemas in one; a field the mode does not
/// have is ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionTokenRequest {
    #[serde(default)]
    pub mode: SessionMode,
    pub avatar_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sandbox: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_settings: Option<VideoSettings>,
    /// Seconds; at most the account's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_persona: Option<AvatarPersona>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactivity_type: Option<Interactivity>,
}

/// `data` of the token answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTokenData {
    pub session_id: String,
    pub session_token: String,
}

/// `data` of `POST /v1/sessions/start` (HTTP 201). `ws_url` only in LITE: the web SDK opens a
/// WebSocket whenever it is present and then sends its commands there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartSessionData {
    pub session_id: String,
    pub livekit_url: String,
    pub livekit_client_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_agent_token: Option<String>,
    pub max_session_duration: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
}

/// Why a session ended (`SessionEndReasonEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionEndReason {
    #[default]
    Unknown,
    UserDisconnected,
    ServerError,
    IdleTimeout,
    NoCredits,
    UserClosed,
    AvatarDeleted,
    MaxDurationReached,
    ZombieSessionReap,
    AgentHangUp,
}

/// `POST /v1/sessions/stop`'s body, all optional: the web SDK sends none (its Bearer token
/// names the session); with an API key `session_id` must.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopSessionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SessionEndReason>,
}

/// `POST /v1/sessions/keep-alive`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepAliveRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// One session in `GET /v1/sessions` and `GET /v1/sessions/{id}`; `end_at` and `end_reason`
/// only once it has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEntry {
    pub id: String,
    /// ISO 8601, UTC.
    pub created_at: String,
    pub updated_at: String,
    /// Seconds so far, or in all.
    pub duration: u64,
    pub source: String,
    pub mode: SessionMode,
    pub is_sandbox: bool,
    pub credits_consumed: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<SessionEndReason>,
}

/// A page of a paginated list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub count: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    User,
    Avatar,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub role: Speaker,
    pub transcript: String,
    /// Unix seconds.
    pub absolute_timestamp: f64,
    /// Seconds since the session started.
    pub relative_timestamp: f64,
}

/// `GET /v1/sessions/{id}/transcript`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub session_active: bool,
    #[serde(default)]
    pub next_timestamp: Option<f64>,
    pub transcript_data: Vec<TranscriptLine>,
}

/// One item of a 422 answer's `detail` (FastAPI's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationIssue {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A 422 answer: `{"detail": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationError {
    pub detail: Vec<ValidationIssue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_of_every_client_parse() {
        // HeyGen's demo (FULL, push-to-talk), pipecat (LITE, VP8), the LiveKit plugin (a
        // field the schema lacks), and LITE's old name.
        for body in [
            r#"{"mode":"FULL","avatar_id":"a","avatar_persona":{"voice_id":"v","context_id":"c","language":"en"},"is_sandbox":false,"interactivity_type":"PUSH_TO_TALK"}"#,
            r#"{"mode":"LITE","avatar_id":"a","is_sandbox":true,"video_settings":{"encoding":"VP8","quality":"high"}}"#,
            r#"{"mode":"LITE","avatar_id":"a","video_quality":"high","livekit_config":{"livekit_url":"u","livekit_room":"r","livekit_client_token":"t"}}"#,
            r#"{"mode":"CUSTOM","avatar_id":"a"}"#,
        ] {
            let request: SessionTokenRequest = serde_json::from_str(body).unwrap();
            assert_eq!(request.avatar_id, "a");
        }
        let request: SessionTokenRequest = serde_json::from_str(r#"{"avatar_id":"a"}"#).unwrap();
        assert_eq!(request.mode, SessionMode::Full);
        let lite: SessionTokenRequest =
            serde_json::from_str(r#"{"mode":"CUSTOM","avatar_id":"a"}"#).unwrap();
        assert_eq!(lite.mode, SessionMode::Lite);
    }

    #[test]
    fn the_envelope_always_has_code_data_and_message() {
        let empty = serde_json::to_value(LiveAvatarEnvelope::<()>::empty()).unwrap();
        assert_eq!(
            empty,
            serde_json::json!({"code": 1000, "data": null, "message": "success"})
        );
        let error = serde_json::to_value(LiveAvatarEnvelope::<()>::error(4004, "no")).unwrap();
        assert_eq!(
            error,
            serde_json::json!({"code": 4004, "data": null, "message": "no"})
        );
    }

    #[test]
    fn a_full_start_has_no_ws_url() {
        let data = StartSessionData {
            session_id: "s".into(),
            livekit_url: "ws://h".into(),
            livekit_client_token: "t".into(),
            livekit_agent_token: None,
            max_session_duration: 600,
            ws_url: None,
        };
        let json = serde_json::to_value(data).unwrap();
        assert!(json.get("ws_url").is_none());
        assert!(json.get("livekit_agent_token").is_none());
    }
}
