//! The realtime endpoint's messages: the WebSocket whose URL `streaming.new` returns as
//! `realtime_endpoint` (`heygen-api.md` §3.14), through which a backend (pipecat, a LiveKit
//! agent) makes the avatar say its own audio. JSON text frames named by `type`.
//!
//! The client side follows HeyGen's realtime API page and pipecat's client; the server side
//! follows what LiveAvatar's LITE mode, its successor, sends (`liveavatar.md` §4.5), since the
//! realtime page lists no server events. Fields a client may leave out or send as `null`
//! (`event_id` on most messages) are optional.

use serde::{Deserialize, Serialize};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RealtimeClientMessage {
    /// Audio for the avatar to say now: base64 PCM16 mono at 24 kHz. Chunks of one utterance
    /// follow each other until `agent.speak_end`.
    #[serde(rename = "agent.speak")]
    Speak {
        audio: String,
        #[serde(default)]
        event_id: Option<String>,
    },
    /// The utterance is complete.
    #[serde(rename = "agent.speak_end")]
    SpeakEnd {
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Audio to hold until `agent.audio_buffer_commit` (the realtime alpha's flow).
    #[serde(rename = "agent.audio_buffer_append")]
    AudioBufferAppend {
        audio: String,
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Say what the buffer holds (and `audio`, if given) as one utterance.
    #[serde(rename = "agent.audio_buffer_commit")]
    AudioBufferCommit {
        #[serde(default)]
        audio: Option<String>,
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Forget what the buffer holds.
    #[serde(rename = "agent.audio_buffer_clear")]
    AudioBufferClear {
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Stop talking now and drop what is queued.
    #[serde(rename = "agent.interrupt")]
    Interrupt {
        #[serde(default)]
        event_id: Option<String>,
    },
    #[serde(rename = "agent.start_listening")]
    StartListening {
        #[serde(default)]
        event_id: Option<String>,
    },
    /// `agent.end_listening` is the name one version of HeyGen's page gives it.
    #[serde(rename = "agent.stop_listening", alias = "agent.end_listening")]
    StopListening {
        #[serde(default)]
        event_id: Option<String>,
    },
    /// Resets the session's idle timer.
    #[serde(rename = "session.keep_alive")]
    KeepAlive {
        #[serde(default)]
        event_id: Option<String>,
    },
}

/// The session as the realtime endpoint reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealtimeSessionState {
    Connecting,
    Connected,
    Closing,
    Closed,
}

/// What the avatar is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Idle,
    Listening,
    Talking,
}

/// The avatar task an event is about (a task of the speech schedule, whose id the room's
/// `avatar_start_talking` carries too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    pub id: String,
}

/// Why a client message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealtimeError {
    /// `invalid_request_error` for a message the server cannot use.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    /// The HeyGen error code, when the refusal is one of the catalogue's (a session not
    /// connected yet, a full queue).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<i64>,
}

/// What the server sends. Each carries its own `event_id`; acknowledgements and errors name
/// the client message they answer in `source_event_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RealtimeServerMessage {
    #[serde(rename = "session.state_updated")]
    SessionStateUpdated {
        event_id: String,
        state: RealtimeSessionState,
    },
    #[serde(rename = "agent.state_updated")]
    AgentStateUpdated {
        event_id: String,
        previous_state: AgentState,
        new_state: AgentState,
    },
    /// The avatar started saying a client's audio; `event_id` is that of the `agent.speak`
    /// that began it.
    #[serde(rename = "agent.speak_started")]
    SpeakStarted { event_id: String, task: TaskRef },
    /// It finished (or was cut); always after `agent.speak_started`.
    #[serde(rename = "agent.speak_ended")]
    SpeakEnded { event_id: String, task: TaskRef },
    /// One per `agent.speak` or `agent.audio_buffer_append`.
    #[serde(rename = "agent.audio_buffer_appended")]
    AudioBufferAppended {
        event_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        source_event_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        task: Option<TaskRef>,
    },
    /// Answers `agent.speak_end` and `agent.audio_buffer_commit`.
    #[serde(rename = "agent.audio_buffer_committed")]
    AudioBufferCommitted {
        event_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        source_event_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        task: Option<TaskRef>,
    },
    /// Answers `agent.interrupt` and `agent.audio_buffer_clear`.
    #[serde(rename = "agent.audio_buffer_cleared")]
    AudioBufferCleared {
        event_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        source_event_id: Option<String>,
    },
    #[serde(rename = "error")]
    Error {
        event_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        source_event_id: Option<String>,
        error: RealtimeError,
    },
}

/// The type names a client may send, for an error that lists them.
pub const CLIENT_MESSAGE_TYPES: [&str; 9] = [
    "agent.speak",
    "agent.speak_end",
    "agent.audio_buffer_append",
    "agent.audio_buffer_commit",
    "agent.audio_buffer_clear",
    "agent.interrupt",
    "agent.start_listening",
    "agent.stop_listening",
    "session.keep_alive",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pipecats_messages_parse() {
        let speak: RealtimeClientMessage = serde_json::from_value(
            json!({"type": "agent.speak", "audio": "AAA=", "event_id": "e1"}),
        )
        .unwrap();
        assert_eq!(
            speak,
            RealtimeClientMessage::Speak {
                audio: "AAA=".into(),
                event_id: Some("e1".into())
            }
        );
        // pipecat interrupts with the current utterance's id, which may be null.
        let interrupt: RealtimeClientMessage =
            serde_json::from_value(json!({"type": "agent.interrupt", "event_id": null})).unwrap();
        assert_eq!(
            interrupt,
            RealtimeClientMessage::Interrupt { event_id: None }
        );
        let end: RealtimeClientMessage =
            serde_json::from_value(json!({"type": "agent.end_listening"})).unwrap();
        assert_eq!(end, RealtimeClientMessage::StopListening { event_id: None });
    }

    #[test]
    fn server_messages_carry_their_type_and_fields() {
        let started = RealtimeServerMessage::SpeakStarted {
            event_id: "e1".into(),
            task: TaskRef { id: "t".into() },
        };
        assert_eq!(
            serde_json::to_value(&started).unwrap(),
            json!({"type": "agent.speak_started", "event_id": "e1", "task": {"id": "t"}})
        );
        let state = RealtimeServerMessage::SessionStateUpdated {
            event_id: "e2".into(),
            state: RealtimeSessionState::Connected,
        };
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            json!({"type": "session.state_updated", "event_id": "e2", "state": "connected"})
        );
        for name in CLIENT_MESSAGE_TYPES {
            let mut message = json!({"type": name, "audio": ""});
            if name.ends_with("_end") || name.ends_with("clear") {
                message.as_object_mut().unwrap().remove("audio");
            }
            assert!(
                serde_json::from_value::<RealtimeClientMessage>(message).is_ok(),
                "{name}"
            );
        }
    }
}
