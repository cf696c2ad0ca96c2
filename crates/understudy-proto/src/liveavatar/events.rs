//! FULL mode's control channel (`liveavatar.md` §3.2-§3.5): JSON in LiveKit data packets,
//! commands from the client on topic `agent-control`, events to it on `agent-response`, each
//! named by `event_type`.

use super::rest::SessionEndReason;
use serde::{Deserialize, Serialize};

/// The topic the client publishes its commands on.
pub const COMMAND_TOPIC: &str = "agent-control";
/// The topic the client reads events from (the web SDK drops every other topic).
pub const RESPONSE_TOPIC: &str = "agent-response";

/// A command from the client. `event_id` is the client's name for it (the web SDK sends a
/// UUID, none with `avatar.interrupt` and push-to-talk); events it causes carry it back as
/// `source_event_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type")]
pub enum AgentCommand {
    /// Say the text as it is (the old `repeat`).
    #[serde(rename = "avatar.speak_text")]
    SpeakText {
        text: String,
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Take the text as the user's and say the answer (the old `talk`).
    #[serde(rename = "avatar.speak_response")]
    SpeakResponse {
        text: String,
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "avatar.interrupt")]
    Interrupt {
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "avatar.start_listening")]
    StartListening {
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "avatar.stop_listening")]
    StopListening {
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "user.start_push_to_talk")]
    StartPushToTalk {
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "user.stop_push_to_talk")]
    StopPushToTalk {
        #[serde(default)]
        event_id: Option<String>,
    },
}

impl AgentCommand {
    /// The client's `event_id`, if it sent one.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::SpeakText { event_id, .. }
            | Self::SpeakResponse { event_id, .. }
            | Self::Interrupt { event_id }
            | Self::StartListening { event_id }
            | Self::StopListening { event_id }
            | Self::StartPushToTalk { event_id }
            | Self::StopPushToTalk { event_id } => event_id.as_deref(),
        }
    }
}

/// An event to the client: its own `event_id`, the session's id, the command it answers (if
/// any) and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentEvent {
    pub event_id: String,
    pub session_id: String,
    /// Always present, `null` when no command caused the event (the docs' shape).
    #[serde(default)]
    pub source_event_id: Option<String>,
    #[serde(flatten)]
    pub kind: AgentEventKind,
}

/// What an [`AgentEvent`] reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type")]
pub enum AgentEventKind {
    #[serde(rename = "user.speak_started")]
    UserSpeakStarted,
    /// Always after `user.speak_started`.
    #[serde(rename = "user.speak_ended")]
    UserSpeakEnded,
    /// The user's words so far: each chunk holds the whole phrase up to now.
    #[serde(rename = "user.transcription.chunk")]
    UserTranscriptionChunk { text: String },
    #[serde(rename = "user.transcription")]
    UserTranscription { text: String },
    /// A piece of what the avatar says; pieces concatenate to the whole.
    #[serde(rename = "avatar.transcription.chunk")]
    AvatarTranscriptionChunk { text: String },
    #[serde(rename = "avatar.transcription")]
    AvatarTranscription { text: String },
    #[serde(rename = "avatar.speak_started")]
    AvatarSpeakStarted,
    /// Always after `avatar.speak_started`, interrupted or not.
    #[serde(rename = "avatar.speak_ended")]
    AvatarSpeakEnded,
    #[serde(rename = "user.push_to_talk_started")]
    PushToTalkStarted,
    #[serde(rename = "user.push_to_talk_start_failed")]
    PushToTalkStartFailed,
    #[serde(rename = "user.push_to_talk_stopped")]
    PushToTalkStopped,
    #[serde(rename = "user.push_to_talk_stop_failed")]
    PushToTalkStopFailed,
    /// The server ended the session. The docs name the field `end_reason`, the web SDK's
    /// types `stop_reason`: both are sent.
    #[serde(rename = "session.stopped")]
    SessionStopped {
        stop_reason: SessionEndReason,
        end_reason: SessionEndReason,
    },
}

impl AgentEventKind {
    /// The `event_type` on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UserSpeakStarted => "user.speak_started",
            Self::UserSpeakEnded => "user.speak_ended",
            Self::UserTranscriptionChunk { .. } => "user.transcription.chunk",
            Self::UserTranscription { .. } => "user.transcription",
            Self::AvatarTranscriptionChunk { .. } => "avatar.transcription.chunk",
            Self::AvatarTranscription { .. } => "avatar.transcription",
            Self::AvatarSpeakStarted => "avatar.speak_started",
            Self::AvatarSpeakEnded => "avatar.speak_ended",
            Self::PushToTalkStarted => "user.push_to_talk_started",
            Self::PushToTalkStartFailed => "user.push_to_talk_start_failed",
            Self::PushToTalkStopped => "user.push_to_talk_stopped",
            Self::PushToTalkStopFailed => "user.push_to_talk_stop_failed",
            Self::SessionStopped { .. } => "session.stopped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_sdks_commands_parse() {
        let speak: AgentCommand = serde_json::from_str(
            r#"{"event_id":"e1","event_type":"avatar.speak_text","text":"hi"}"#,
        )
        .unwrap();
        assert_eq!(speak.event_id(), Some("e1"));
        let interrupt: AgentCommand =
            serde_json::from_str(r#"{"event_type":"avatar.interrupt"}"#).unwrap();
        assert_eq!(interrupt, AgentCommand::Interrupt { event_id: None });
        let ptt: AgentCommand =
            serde_json::from_str(r#"{"event_type":"user.start_push_to_talk"}"#).unwrap();
        assert_eq!(ptt, AgentCommand::StartPushToTalk { event_id: None });
        assert!(serde_json::from_str::<AgentCommand>(r#"{"event_type":"session.stop"}"#).is_err());
    }

    #[test]
    fn events_carry_the_envelope_fields_and_their_own() {
        let event = AgentEvent {
            event_id: "e".into(),
            session_id: "s".into(),
            source_event_id: None,
            kind: AgentEventKind::AvatarTranscription { text: "hi".into() },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event_id": "e", "session_id": "s", "source_event_id": null,
                "event_type": "avatar.transcription", "text": "hi"})
        );
        let back: AgentEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        let stopped = AgentEventKind::SessionStopped {
            stop_reason: SessionEndReason::UserClosed,
            end_reason: SessionEndReason::UserClosed,
        };
        let json = serde_json::to_value(&stopped).unwrap();
        assert_eq!(json["event_type"], stopped.name());
        assert_eq!(json["stop_reason"], "USER_CLOSED");
    }
}
