//! What a user's turn does to a session (§7.2, order [INF] within what is known): `user_start`
//! on the chat socket when speech starts (and, with barge-in on, the avatar is cut); when it
//! stops, `user_talking_message` with the transcript over LiveKit data, `user_stop` on the chat
//! socket, `user_end_message` over LiveKit data, and then the avatar answers the transcript as
//! a `talk` task, through [`Session::speak`] like any other speech.
//!
//! The transcript is the first of: the text an admin injection carries, the next scripted
//! utterance, or the placeholder [`placeholder_transcript`] stating how long the user spoke.

use super::Session;
use crate::voice::conversation::{UserEvent, placeholder_transcript};
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::events::{ChatSocketEvent, DataChannelEvent};
use understudy_proto::liveavatar::rest::Speaker;
use understudy_proto::rest::task::TaskType;

/// What the server does when a turn ends.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    pub transcript: String,
    /// The avatar's answer; `None` when its queue was full ([`crate::speech::MAX_QUEUED_TASKS`]).
    pub answer_task_id: Option<String>,
}

impl Session {
    /// The user started speaking. Returns false when a turn was already open.
    pub fn user_started(&mut self, now: Instant, barge_in: bool) -> bool {
        if self.voice.speaking_since.is_some() {
            return false;
        }
        self.voice.speaking_since = Some(now);
        self.voice.last_heard = now;
        self.touch(now);
        self.voice.emit(if self.voice.user_events_in_room {
            UserEvent::Room(DataChannelEvent::UserStart)
        } else {
            UserEvent::Socket(ChatSocketEvent::UserStart)
        });
        if barge_in && self.speech.current(now).is_some() {
            self.interrupt(now);
        }
        true
    }

    /// The user stopped after `heard` of speech (by default, the time since the turn started):
    /// sends the turn's events and queues the answer. Returns `None` when no turn was open.
    pub fn user_finished(
        &mut self,
        now: Instant,
        heard: Option<Duration>,
        text: Option<String>,
    ) -> Option<TurnOutcome> {
        let since = self.voice.speaking_since.take()?;
        let heard = heard.unwrap_or_else(|| now.saturating_duration_since(since));
        self.voice.last_heard = now;
        self.voice.turns += 1;
        let transcript = text
            .or_else(|| self.voice.script.pop_front())
            .unwrap_or_else(|| placeholder_transcript(heard));
        self.transcript
            .push(Speaker::User, &transcript, now - self.created_at);
        let user_task_id = crate::ids::time_uuid();
        self.voice
            .emit(UserEvent::Room(DataChannelEvent::UserTalkingMessage {
                task_id: user_task_id.clone(),
                message: transcript.clone(),
            }));
        self.voice.emit(if self.voice.user_events_in_room {
            UserEvent::Room(DataChannelEvent::UserStop)
        } else {
            UserEvent::Socket(ChatSocketEvent::UserStop)
        });
        self.voice
            .emit(UserEvent::Room(DataChannelEvent::UserEndMessage {
                task_id: user_task_id,
            }));
        let answer = self.speak(now, &transcript, TaskType::Talk);
        Some(TurnOutcome {
            transcript,
            answer_task_id: answer.ok().map(|task| task.task_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::connected_session as session;
    use crate::voice::conversation::MAX_SCRIPTED;
    use tokio::sync::broadcast;

    fn drain(rx: &mut broadcast::Receiver<UserEvent>) -> Vec<UserEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[tokio::test]
    async fn under_arch_version_v2_user_start_and_stop_go_to_the_room() {
        let now = Instant::now();
        let mut s = session(now);
        s.voice.user_events_in_room = true;
        let mut rx = s.voice.subscribe();
        s.user_started(now, true);
        s.user_finished(now, Some(Duration::from_millis(500)), Some("hi".into()));
        let events = drain(&mut rx);
        assert!(
            !events.iter().any(|e| matches!(e, UserEvent::Socket(_))),
            "not on the socket as well: the official SDK would emit them twice"
        );
        let room: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                UserEvent::Room(DataChannelEvent::UserStart) => Some("user_start"),
                UserEvent::Room(DataChannelEvent::UserTalkingMessage { .. }) => {
                    Some("user_talking_message")
                }
                UserEvent::Room(DataChannelEvent::UserStop) => Some("user_stop"),
                UserEvent::Room(DataChannelEvent::UserEndMessage { .. }) => {
                    Some("user_end_message")
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            room,
            [
                "user_start",
                "user_talking_message",
                "user_stop",
                "user_end_message"
            ]
        );
    }

    #[tokio::test]
    async fn a_turn_sends_its_events_in_order_and_queues_an_answer() {
        let now = Instant::now();
        let mut s = session(now);
        let mut rx = s.voice.subscribe();
        assert!(s.user_started(now, true));
        assert!(!s.user_started(now, true), "a second start is ignored");
        let outcome = s
            .user_finished(now, Some(Duration::from_millis(1200)), None)
            .unwrap();
        assert_eq!(outcome.transcript, "[user speech, 1.2 s]");
        let events = drain(&mut rx);
        assert!(matches!(
            events.as_slice(),
            [
                UserEvent::Socket(ChatSocketEvent::UserStart),
                UserEvent::Room(DataChannelEvent::UserTalkingMessage { .. }),
                UserEvent::Socket(ChatSocketEvent::UserStop),
                UserEvent::Room(DataChannelEvent::UserEndMessage { .. }),
            ]
        ));
        assert_eq!(
            s.speech.current(now).map(|t| t.task_id.clone()),
            outcome.answer_task_id
        );
        assert_eq!(s.user_finished(now, None, None), None, "no open turn");
    }

    #[tokio::test]
    async fn scripted_transcripts_are_used_in_order() {
        let now = Instant::now();
        let mut s = session(now);
        assert_eq!(s.voice.script(["one".into(), "two".into()]), Some(2));
        for expected in ["one", "two", "[user speech, 0.5 s]"] {
            s.user_started(now, false);
            let outcome = s
                .user_finished(now, Some(Duration::from_millis(500)), None)
                .unwrap();
            assert_eq!(outcome.transcript, expected);
        }
    }

    #[tokio::test]
    async fn barge_in_cuts_the_avatar() {
        let now = Instant::now();
        let mut s = session(now);
        s.speak(now, "a long answer to cut", TaskType::Repeat)
            .unwrap();
        assert!(s.speech.current(now).is_some());
        s.user_started(now, true);
        assert!(s.speech.current(now).is_none());
    }

    #[tokio::test]
    async fn the_script_is_bounded() {
        let mut s = session(Instant::now());
        let many = (0..=MAX_SCRIPTED).map(|i| i.to_string());
        assert_eq!(s.voice.script(many), None);
        assert_eq!(s.voice.scripted(), 0);
    }
}
