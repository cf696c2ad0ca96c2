//! FULL mode's control channel (`liveavatar.md` §3): the room's events told as LiveAvatar's
//! `agent-response` messages ([`AgentNarration`], pure), and a client's `agent-control`
//! command applied to its session ([`apply`]).
//!
//! The room narrates every session the same way (the stage's `DataChannelEvent`s); FULL only
//! renames them and adds what LiveAvatar's events carry that the old ones do not: the whole
//! avatar text in `avatar.transcription`, the user's words so far in each
//! `user.transcription.chunk`, and the command a task answers as `source_event_id`.

use crate::session::Session;
use crate::state::AppState;
use crate::voice::{self, turns};
use std::collections::HashMap;
use tokio::time::Instant;
use understudy_proto::events::DataChannelEvent;
use understudy_proto::liveavatar::rest::Speaker;
use understudy_proto::liveavatar::{AgentCommand, AgentEvent, AgentEventKind};
use understudy_proto::rest::task::TaskType;

/// Tasks whose text is kept while they are told; a client that never lets one end cannot grow
/// the map past this.
const MAX_OPEN_TASKS: usize = 64;

/// One viewer's narration in LiveAvatar's words.
#[derive(Debug, Clone)]
pub struct AgentNarration {
    session_id: String,
    /// The avatar's text so far, per task.
    avatar_text: HashMap<String, String>,
    /// The user's words so far, per turn.
    user_text: HashMap<String, String>,
}

impl AgentNarration {
    pub fn new(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            avatar_text: HashMap::new(),
            user_text: HashMap::new(),
        }
    }

    /// `event` as an `agent-response` message; `source` is the command its task answers.
    pub fn translate(&mut self, event: &DataChannelEvent, source: Option<&str>) -> AgentEvent {
        use AgentEventKind as Kind;
        let kind = match event {
            DataChannelEvent::AvatarStartTalking { .. } => Kind::AvatarSpeakStarted,
            DataChannelEvent::AvatarStopTalking { task_id, .. } => {
                self.avatar_text.remove(task_id);
                Kind::AvatarSpeakEnded
            }
            DataChannelEvent::AvatarTalkingMessage { task_id, message } => {
                grow(&mut self.avatar_text, task_id, message);
                Kind::AvatarTranscriptionChunk {
                    text: message.clone(),
                }
            }
            DataChannelEvent::AvatarEndMessage { task_id } => Kind::AvatarTranscription {
                text: self.avatar_text.remove(task_id).unwrap_or_default(),
            },
            DataChannelEvent::UserStart => Kind::UserSpeakStarted,
            DataChannelEvent::UserStop => Kind::UserSpeakEnded,
            DataChannelEvent::UserTalkingMessage { task_id, message } => {
                Kind::UserTranscriptionChunk {
                    text: grow(&mut self.user_text, task_id, message).to_owned(),
                }
            }
            DataChannelEvent::UserEndMessage { task_id } => Kind::UserTranscription {
                text: self.user_text.remove(task_id).unwrap_or_default(),
            },
        };
        event_for(&self.session_id, source.map(str::to_owned), kind)
    }
}

/// Appends `piece` to the text of `task_id` and returns the whole.
fn grow<'a>(texts: &'a mut HashMap<String, String>, task_id: &str, piece: &str) -> &'a str {
    if !texts.contains_key(task_id) && texts.len() >= MAX_OPEN_TASKS {
        texts.clear();
    }
    let text = texts.entry(task_id.to_owned()).or_default();
    text.push_str(piece);
    text
}

/// A new event of session `session_id`, with its own id.
pub fn event_for(session_id: &str, source: Option<String>, kind: AgentEventKind) -> AgentEvent {
    AgentEvent {
        event_id: crate::ids::time_uuid(),
        session_id: session_id.to_owned(),
        source_event_id: source,
        kind,
    }
}

/// Applies a client's command to session `session_id`; returns the acknowledgement to send
/// back, if the command has one (push-to-talk). Commands the session cannot take (not
/// connected, a full queue) are dropped and logged: the channel has no way to refuse them.
pub fn apply(state: &AppState, session_id: &str, command: AgentCommand) -> Option<AgentEvent> {
    let source = command.event_id().map(str::to_owned);
    let ack = |kind| Some(event_for(session_id, source.clone(), kind));
    match command {
        AgentCommand::SpeakText { text, event_id } => {
            speak(state, session_id, &text, TaskType::Repeat, event_id);
            None
        }
        AgentCommand::SpeakResponse { text, event_id } => {
            speak(state, session_id, &text, TaskType::Talk, event_id);
            None
        }
        AgentCommand::Interrupt { .. } => {
            with_connected(state, session_id, |s, now| s.interrupt(now));
            None
        }
        AgentCommand::StartListening { .. } | AgentCommand::StopListening { .. } => {
            let listening = matches!(command, AgentCommand::StartListening { .. });
            with_connected(state, session_id, |s, now| {
                s.listening = listening;
                s.touch(now);
            });
            None
        }
        AgentCommand::StartPushToTalk { .. } => {
            let started = voice::push_to_talk_enabled(state, session_id)
                && turns::start_turn(state, session_id).is_ok();
            ack(if started {
                AgentEventKind::PushToTalkStarted
            } else {
                AgentEventKind::PushToTalkStartFailed
            })
        }
        AgentCommand::StopPushToTalk { .. } => {
            let stopped = voice::push_to_talk_enabled(state, session_id)
                && turns::finish_turn(state, session_id, None, None).is_ok_and(|t| t.is_some());
            ack(if stopped {
                AgentEventKind::PushToTalkStopped
            } else {
                AgentEventKind::PushToTalkStopFailed
            })
        }
    }
}

/// Queues speech for a command through [`Session::speak`], remembering the command it answers.
fn speak(
    state: &AppState,
    session_id: &str,
    text: &str,
    task_type: TaskType,
    event_id: Option<String>,
) {
    let mut registry = state.registry();
    let Some(session) = registry.session_mut(session_id) else {
        return;
    };
    let now = Instant::now();
    if task_type == TaskType::Talk && session.state == understudy_proto::SessionState::Connected {
        // `speak_response` takes the text as the user's: it is their line of the transcript.
        let since = now - session.created_at;
        session.transcript.push(Speaker::User, text, since);
    }
    match session.speak(now, text, task_type) {
        Ok(task) => {
            if let (Some(event_id), Some(la)) = (event_id, session.liveavatar.as_mut()) {
                la.remember_source(task.task_id, event_id);
            }
        }
        Err(e) => tracing::debug!(session_id, ?e, "LiveAvatar speak command dropped"),
    }
}

fn with_connected(state: &AppState, session_id: &str, f: impl FnOnce(&mut Session, Instant)) {
    let mut registry = state.registry();
    match registry.session_mut(session_id) {
        Some(s) if s.state == understudy_proto::SessionState::Connected => f(s, Instant::now()),
        _ => tracing::debug!(session_id, "LiveAvatar command for a session not connected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(narration: &mut AgentNarration, events: &[DataChannelEvent]) -> Vec<AgentEventKind> {
        events
            .iter()
            .map(|e| narration.translate(e, None).kind)
            .collect()
    }

    #[test]
    fn avatar_text_comes_in_pieces_then_whole() {
        let mut narration = AgentNarration::new("s");
        let task = |t: &str| t.to_owned();
        let got = kinds(
            &mut narration,
            &[
                DataChannelEvent::AvatarTalkingMessage {
                    task_id: task("t"),
                    message: "Hello ".into(),
                },
                DataChannelEvent::AvatarStartTalking { task_id: task("t") },
                DataChannelEvent::AvatarTalkingMessage {
                    task_id: task("t"),
                    message: "there.".into(),
                },
                DataChannelEvent::AvatarEndMessage { task_id: task("t") },
                DataChannelEvent::AvatarStopTalking {
                    task_id: task("t"),
                    duration_ms: None,
                },
            ],
        );
        assert_eq!(
            got,
            vec![
                AgentEventKind::AvatarTranscriptionChunk {
                    text: "Hello ".into()
                },
                AgentEventKind::AvatarSpeakStarted,
                AgentEventKind::AvatarTranscriptionChunk {
                    text: "there.".into()
                },
                AgentEventKind::AvatarTranscription {
                    text: "Hello there.".into()
                },
                AgentEventKind::AvatarSpeakEnded,
            ]
        );
    }

    #[test]
    fn user_chunks_are_cumulative() {
        let mut narration = AgentNarration::new("s");
        let got = kinds(
            &mut narration,
            &[
                DataChannelEvent::UserStart,
                DataChannelEvent::UserTalkingMessage {
                    task_id: "u".into(),
                    message: "What are ".into(),
                },
                DataChannelEvent::UserTalkingMessage {
                    task_id: "u".into(),
                    message: "your hours?".into(),
                },
                DataChannelEvent::UserStop,
                DataChannelEvent::UserEndMessage {
                    task_id: "u".into(),
                },
            ],
        );
        assert_eq!(
            got,
            vec![
                AgentEventKind::UserSpeakStarted,
                AgentEventKind::UserTranscriptionChunk {
                    text: "What are ".into()
                },
                AgentEventKind::UserTranscriptionChunk {
                    text: "What are your hours?".into()
                },
                AgentEventKind::UserSpeakEnded,
                AgentEventKind::UserTranscription {
                    text: "What are your hours?".into()
                },
            ]
        );
    }

    #[test]
    fn events_name_their_session_and_source() {
        let mut narration = AgentNarration::new("session-1");
        let event = narration.translate(
            &DataChannelEvent::AvatarStartTalking {
                task_id: "t".into(),
            },
            Some("command-1"),
        );
        assert_eq!(event.session_id, "session-1");
        assert_eq!(event.source_event_id.as_deref(), Some("command-1"));
        assert!(!event.event_id.is_empty());
    }

    #[test]
    fn open_texts_stay_bounded() {
        let mut narration = AgentNarration::new("s");
        for i in 0..MAX_OPEN_TASKS * 3 {
            narration.translate(
                &DataChannelEvent::AvatarTalkingMessage {
                    task_id: i.to_string(),
                    message: "x".into(),
                },
                None,
            );
        }
        assert!(narration.avatar_text.len() <= MAX_OPEN_TASKS);
    }
}
