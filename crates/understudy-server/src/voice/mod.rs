//! Voice conversations (§7.2, §8): the user's speech on either transport becomes turns with
//! user events and an avatar answer.
//!
//! - [`vad`]: the voice detector's turns (pure, sample-clocked), over [`frame_judge`]'s
//!   per-frame verdicts (a neural detector, a level floor, a tone check) and [`resample`].
//! - [`listener`]: one microphone's ear, shared by the chat socket's pipecat audio and the
//!   LiveKit microphone track.
//! - [`conversation`]: the session's voice state (pure).
//! - [`frames`]: what a chat socket's binary frame means (pure).
//! - [`turns`]: turns applied to a session in the app state.
//! - [`silence`]: the `silence_response` prompts.
//!
//! Push-to-talk and the client's LiveKit text packets are here too: they are turns and tasks
//! too, only started by a button or a packet instead of the detector.

pub mod conversation;
pub mod frame_judge;
pub mod frames;
pub mod listener;
pub mod resample;
pub mod silence;
#[cfg(test)]
mod test_audio;
pub mod turns;
pub mod vad;

use crate::state::AppState;
use tokio::time::Instant;
use understudy_proto::rest::task::TaskType;

/// What a client's LiveKit data packet asked for (`livekit.md` §2.9, `heygen-api.md` §8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    PushToTalkStart,
    PushToTalkStop,
    /// Text for the avatar to answer (`speak` with TALK + ASYNC on the LiveKit transport).
    Talk(String),
}

impl ClientMessage {
    /// Reads a user packet's payload: the SDK sends `JSON.stringify(text)`, a JSON string
    /// literal. Anything else (not UTF-8, not a JSON string, blank) is `None` and dropped.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let text: String = serde_json::from_slice(payload).ok()?;
        match text.as_str() {
            "push_to_talk:start" => Some(Self::PushToTalkStart),
            "push_to_talk:stop" => Some(Self::PushToTalkStop),
            t if t.trim().is_empty() => None,
            _ => Some(Self::Talk(text)),
        }
    }
}

/// Applies a client message to session `session_id`; false when the session refused it
/// (unknown, not connected, or push-to-talk off).
pub fn apply_client_message(state: &AppState, session_id: &str, message: ClientMessage) -> bool {
    match message {
        ClientMessage::PushToTalkStart => {
            push_to_talk_enabled(state, session_id) && turns::start_turn(state, session_id).is_ok()
        }
        ClientMessage::PushToTalkStop => {
            push_to_talk_enabled(state, session_id)
                && turns::finish_turn(state, session_id, None, None).is_ok()
        }
        ClientMessage::Talk(text) => speak_for_client(state, session_id, &text, TaskType::Talk),
    }
}

/// Queues a task the client asked for outside REST (chat socket text, LiveKit text, an opening
/// line) through [`crate::session::Session::speak`]; false when the session refused it (unknown,
/// not connected, or its queue full). Those doors have no way to answer an error: the text is
/// dropped and logged.
pub fn speak_for_client(
    state: &AppState,
    session_id: &str,
    text: &str,
    task_type: TaskType,
) -> bool {
    let mut registry = state.registry();
    let Some(session) = registry.session_mut(session_id) else {
        return false;
    };
    session
        .speak(Instant::now(), text, task_type)
        .inspect_err(|e| tracing::debug!(session_id, ?e, "client text dropped"))
        .is_ok()
}

/// Whether session `session_id` takes push-to-talk.
pub(crate) fn push_to_talk_enabled(state: &AppState, session_id: &str) -> bool {
    state
        .registry()
        .session(session_id)
        .is_some_and(|s| s.voice.push_to_talk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_packets_are_json_string_literals() {
        assert_eq!(
            ClientMessage::parse(br#""push_to_talk:start""#),
            Some(ClientMessage::PushToTalkStart)
        );
        assert_eq!(
            ClientMessage::parse(br#""push_to_talk:stop""#),
            Some(ClientMessage::PushToTalkStop)
        );
        assert_eq!(
            ClientMessage::parse(br#""hello avatar""#),
            Some(ClientMessage::Talk("hello avatar".into()))
        );
        for garbage in [&b"hello"[..], b"\"  \"", b"{\"a\":1}", b"\xff\xfe", b""] {
            assert_eq!(ClientMessage::parse(garbage), None, "{garbage:?}");
        }
    }
}
