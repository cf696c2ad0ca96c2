//! The pure state of a session's voice conversation: whether the user is speaking, the
//! transcripts scripted for the next turns, push-to-talk, and the channel its user events go
//! out on. No I/O and no app state: the session owns one, and `session::turns` changes it.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use understudy_proto::events::{ChatSocketEvent, DataChannelEvent};

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
    /// Made when the first listener subscribes: a broadcast channel allocates all its slots
    /// up front (tens of KB), which a session nobody listens to (REST only) should not pay.
    events: Option<broadcast::Sender<UserEvent>>,
    pub(crate) script: VecDeque<String>,
    /// When the current turn started, while the user is speaking.
    pub(crate) speaking_since: Option<Instant>,
    /// Push-to-talk mode (the chat socket's `push_to_talk=true`): turns follow the button, not
    /// the detector.
    pub push_to_talk: bool,
    /// `user_start` and `user_stop` go to the room instead of the chat socket: the socket
    /// asked for `arch_version=v2`, under which the iOS demo reads them from LiveKit data (the
    /// official SDK takes them from either, so one place keeps it from seeing them twice).
    pub user_events_in_room: bool,
    /// Turns heard so far.
    pub turns: u64,
    /// Microphone audio the detector has judged so far (not what it dropped as over budget,
    /// muted or push-to-talk): shows a test that a microphone reached the mock even when it
    /// opened no turn.
    pub audio_heard: Duration,
    /// The last moment the user was heard (a turn's start or end), for silence prompts.
    pub last_heard: Instant,
}

impl VoiceState {
    pub fn new(now: Instant) -> Self {
        Self {
            events: None,
            script: VecDeque::new(),
            speaking_since: None,
            push_to_talk: false,
            user_events_in_room: false,
            turns: 0,
            audio_heard: Duration::ZERO,
            last_heard: now,
        }
    }

    pub fn subscribe(&mut self) -> broadcast::Receiver<UserEvent> {
        self.events
            .get_or_insert_with(|| broadcast::channel(USER_EVENT_CAPACITY).0)
            .subscribe()
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
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

/// The transcript of a turn nobody scripted.
pub fn placeholder_transcript(heard: Duration) -> String {
    format!("[user speech, {:.1} s]", heard.as_secs_f64())
}
