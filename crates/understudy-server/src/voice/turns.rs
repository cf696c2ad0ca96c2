//! A session's side of a voice conversation: whether the user is speaking, the transcripts
//! scripted for the next turns, push-to-talk, and the user events each turn sends.
//!
//! A turn (§7.2, order [INF] within what is known): `user_start` on the chat socket when speech
//! starts (and, with barge-in on, the avatar is cut); when it stops, `user_talking_message`
//! with the transcript over LiveKit data, `user_stop` on the chat socket, `user_end_message`
//! over LiveKit data, and then the avatar answers the transcript as a `talk` task.
//!
//! The transcript is the first of: the text an admin injection carries, the next scripted
//! utterance, or the placeholder [`placeholder_transcript`] stating how long the user spoke.

use crate::session::Session;
use crate::state::AppState;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use understudy_proto::SessionState;
use understudy_proto::events::{ChatSocketEvent, DataChannelEvent};
use understudy_proto::rest::task::TaskType;

/// A user event on its way to the session's chat sockets or room viewers.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    /// For `/v1/ws/streaming.chat` (named by `event_type`).
    Socket(ChatSocketEvent),
    /// For the room's data channel (named by `type`).
    Room(DataChannelEvent),
}

/// Events a slow listener may fall behind by before it skips the oldest.
const USER_EVENT_CAPACITY: usize = 256;
/// Scripted utterances a session holds; more are refused rather than grown without bound.
pub const MAX_SCRIPTED: usize = 1000;

/// What a session knows about its user's voice.
#[derive(Debug)]
pub struct VoiceState {
    events: broadcast::Sender<UserEvent>,
    script: VecDeque<String>,
    /// When the current turn started, while the user is speaking.
    speaking_since: Option<Instant>,
    /// Push-to-talk mode (the chat socket's `push_to_talk=true`): turns follow the button, not
    /// the detector.
    pub push_to_talk: bool,
    /// Turns heard so far.
    pub turns: u64,
    /// The last moment the user was heard (a turn's start or end), for silence prompts.
    pub last_heard: Instant,
}

impl VoiceState {
    pub fn new(now: Instant) -> Self {
        Self {
            events: broadcast::channel(USER_EVENT_CAPACITY).0,
            script: VecDeque::new(),
            speaking_since: None,
            push_to_talk: false,
            turns: 0,
            last_heard: now,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<UserEvent> {
        self.events.subscribe()
    }

    pub fn is_user_speaking(&self) -> bool {
        self.speaking_since.is_some()
    }

    /// Queues transcripts for the next turns; returns how many are queued, or `None` when that
    /// would pass [`MAX_SCRIPTED`].
    pub fn script(&mut self, utterances: impl IntoIterator<Item = String>) -> Option<usize> {
        let utterances: Vec<String> = utterances.into_iter().collect();
        if self.script.len() + utterances.len() > MAX_SCRIPTED {
            return None;
        }
        self.script.extend(utterances);
        Some(self.script.len())
    }

    pub fn scripted(&self) -> usize {
        self.script.len()
    }

    /// Sends an event to whoever listens; nobody listening is fine.
    pub fn emit(&self, event: UserEvent) {
        let _ = self.events.send(event);
    }
}

/// The transcript of a turn nobody scripted.
pub fn placeholder_transcript(heard: Duration) -> String {
    format!("[user speech, {:.1} s]", heard.as_secs_f64())
}

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
        self.voice
            .emit(UserEvent::Socket(ChatSocketEvent::UserStart));
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
        words_per_minute: f64,
        reply_seed: u64,
    ) -> Option<TurnOutcome> {
        let since = self.voice.speaking_since.take()?;
        let heard = heard.unwrap_or_else(|| now.saturating_duration_since(since));
        self.voice.last_heard = now;
        self.voice.turns += 1;
        let transcript = text
            .or_else(|| self.voice.script.pop_front())
            .unwrap_or_else(|| placeholder_transcript(heard));
        let user_task_id = crate::ids::time_uuid();
        self.voice
            .emit(UserEvent::Room(DataChannelEvent::UserTalkingMessage {
                task_id: user_task_id.clone(),
                message: transcript.clone(),
            }));
        self.voice
            .emit(UserEvent::Socket(ChatSocketEvent::UserStop));
        self.voice
            .emit(UserEvent::Room(DataChannelEvent::UserEndMessage {
                task_id: user_task_id,
            }));
        let answer = self.speak(
            now,
            &transcript,
            TaskType::Talk,
            words_per_minute,
            reply_seed,
        );
        Some(TurnOutcome {
            transcript,
            answer_task_id: answer.ok().map(|task| task.task_id),
        })
    }
}

/// Why a turn could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRefused {
    /// No such session, or it has ended.
    NotLive,
}

/// Starts a user turn in session `session_id`, if it is connected.
///
/// # Errors
/// [`TurnRefused::NotLive`] when the session is unknown or not connected.
pub fn start_turn(state: &AppState, session_id: &str) -> Result<bool, TurnRefused> {
    let barge_in = state.config().barge_in;
    let mut registry = state.registry();
    let session = connected(&mut registry, session_id)?;
    Ok(session.user_started(Instant::now(), barge_in))
}

/// Ends the open user turn in session `session_id` after `heard` of speech (`None`: the time
/// since it started).
///
/// # Errors
/// [`TurnRefused::NotLive`] when the session is unknown or not connected.
pub fn finish_turn(
    state: &AppState,
    session_id: &str,
    heard: Option<Duration>,
    text: Option<String>,
) -> Result<Option<TurnOutcome>, TurnRefused> {
    let config = state.config();
    let (wpm, seed) = (config.words_per_minute, config.reply_seed);
    let mut registry = state.registry();
    let session = connected(&mut registry, session_id)?;
    Ok(session.user_finished(Instant::now(), heard, text, wpm, seed))
}

fn connected<'a>(
    registry: &'a mut crate::registry::Registry,
    session_id: &str,
) -> Result<&'a mut Session, TurnRefused> {
    match registry.sessions.get_mut(session_id) {
        Some(session) if session.state == SessionState::Connected => Ok(session),
        _ => Err(TurnRefused::NotLive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Caller, SessionLimits, SessionSettings};
    use tokio_util::sync::CancellationToken;
    use understudy_proto::rest::session::{Quality, VideoEncoding};

    fn session(now: Instant) -> Session {
        let settings = SessionSettings {
            avatar_id: "a".into(),
            voice_id: None,
            voice_rate: 1.0,
            quality: Quality::Low,
            video_encoding: VideoEncoding::H264,
            knowledge_base: None,
            knowledge_base_id: None,
            language: None,
            silence_response: false,
            livekit_transport: false,
        };
        let limits = SessionLimits {
            duration_limit: Duration::from_secs(600),
            idle_timeout: None,
        };
        let owner = Caller {
            api_key: "k".into(),
            token: None,
        };
        Session::new(
            "s".into(),
            0,
            owner,
            settings,
            limits,
            now,
            &CancellationToken::new(),
        )
    }

    fn drain(rx: &mut broadcast::Receiver<UserEvent>) -> Vec<UserEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[tokio::test]
    async fn a_turn_sends_its_events_in_order_and_queues_an_answer() {
        let now = Instant::now();
        let mut s = session(now);
        let mut rx = s.voice.subscribe();
        assert!(s.user_started(now, true));
        assert!(!s.user_started(now, true), "a second start is ignored");
        let outcome = s
            .user_finished(now, Some(Duration::from_millis(1200)), None, 150.0, 0)
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
        assert_eq!(
            s.user_finished(now, None, None, 150.0, 0),
            None,
            "no open turn"
        );
    }

    #[tokio::test]
    async fn scripted_transcripts_are_used_in_order() {
        let now = Instant::now();
        let mut s = session(now);
        assert_eq!(s.voice.script(["one".into(), "two".into()]), Some(2));
        for expected in ["one", "two", "[user speech, 0.5 s]"] {
            s.user_started(now, false);
            let outcome = s
                .user_finished(now, Some(Duration::from_millis(500)), None, 150.0, 0)
                .unwrap();
            assert_eq!(outcome.transcript, expected);
        }
    }

    #[tokio::test]
    async fn barge_in_cuts_the_avatar() {
        let now = Instant::now();
        let mut s = session(now);
        s.speak(now, "a long answer to cut", TaskType::Repeat, 150.0, 0)
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
