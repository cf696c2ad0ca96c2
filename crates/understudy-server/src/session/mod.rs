//! One streaming session: its owner, its state (§6), its timers, its speech schedule and its
//! side of a voice conversation.
//!
//! - [`rules`]: which call is allowed in which state.
//! - [`turns`]: what a user's turn does to the session.
//!
//! [`Session::speak`] is the one way speech gets onto a session, whoever asks for it (REST,
//! chat-socket text, LiveKit text, a user's turn, a silence prompt, an opening line): one
//! guard, and the speech model bound when the session was created.

mod liveavatar;
mod raw_peer;
mod rules;
mod transcript;
mod turns;

pub use liveavatar::LiveAvatarState;
pub use raw_peer::{RawCommand, RawPeerHandle};
pub use rules::Operation;
pub use transcript::TranscriptLog;
pub use turns::TurnOutcome;
pub use understudy_proto::admin::CloseReason;
pub use understudy_proto::rest::session::Protocol;

use crate::clock::TimeScale;
use crate::latency::{LatencyProfile, Phase, SessionLatency};
use crate::speech::{ScheduledTask, SpeechModel, SpeechSchedule, SpokenAudio};
use crate::voice::conversation::VoiceState;
use crate::{ids, reply, speech};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use understudy_proto::hops;
use understudy_proto::liveavatar::rest::Speaker;
use understudy_proto::rest::session::{Quality, VideoEncoding};
use understudy_proto::rest::task::TaskType;
use understudy_proto::{ErrorKind, SessionState};

/// Who is calling: the account's API key, and the session token when the call used one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub api_key: String,
    pub token: Option<String>,
}

impl Caller {
    /// A session is visible to the key of its account, and to the token that created it.
    pub fn can_see(&self, owner: &Caller) -> bool {
        self.api_key == owner.api_key && (self.token.is_none() || self.token == owner.token)
    }
}

/// What `streaming.new` asked for, kept for listing and for the real-time layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    pub avatar_id: String,
    pub voice_id: Option<String>,
    pub voice_rate: f64,
    pub quality: Quality,
    pub video_encoding: VideoEncoding,
    pub knowledge_base: Option<String>,
    pub knowledge_base_id: Option<String>,
    pub language: Option<String>,
    pub silence_response: bool,
    pub livekit_transport: bool,
    pub protocol: Protocol,
}

/// The two timers that end a session on their own (§4), in wall time (the configured figures
/// over the time scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub duration_limit: Duration,
    /// `None` when `disable_idle_timeout` was set.
    pub idle_timeout: Option<Duration>,
}

/// Everything a session is made from.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub id: String,
    /// Creation order, for stable listing.
    pub seq: u64,
    pub owner: Caller,
    pub settings: SessionSettings,
    pub limits: SessionLimits,
    pub speech_model: SpeechModel,
    /// How slow the mock is for this session (the server's profile when it was created).
    pub latency: Arc<LatencyProfile>,
    /// How much faster than real time the session's timers run.
    pub clock: TimeScale,
}

#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// Creation order, for stable listing.
    pub seq: u64,
    pub owner: Caller,
    /// Changed only through [`Session::set_state`], which tells `state_changes`.
    pub state: SessionState,
    /// The state as it changes, for clients told of it as it happens (the realtime endpoint's
    /// `session.state_updated`).
    pub state_changes: watch::Sender<SessionState>,
    pub created_unix: i64,
    pub created_at: Instant,
    pub closed_at: Option<Instant>,
    pub close_reason: Option<CloseReason>,
    pub settings: SessionSettings,
    pub limits: SessionLimits,
    pub last_activity: Instant,
    pub listening: bool,
    pub speech: SpeechSchedule,
    /// How tasks become speech, bound at creation.
    speech_model: SpeechModel,
    /// This session's draws from its latency profile.
    latency: SessionLatency,
    /// Its timers' scale: the schedule and limits are in wall time, what clients are told in
    /// the service's.
    pub clock: TimeScale,
    /// When the last interrupt silenced the avatar (its tail included), so `sync` task answers
    /// waiting on a cut task return when it stops.
    pub interrupts: watch::Sender<Option<Instant>>,
    /// Bumped whenever the schedule changes (a task queued, an interrupt), so each viewer's
    /// stage reacts at once instead of on its next frame tick.
    pub schedule_changes: watch::Sender<u64>,
    /// Cancelled when the session closes: stops its watchdog and wakes its waiters.
    pub ended: CancellationToken,
    /// The user's side of a voice conversation.
    pub voice: VoiceState,
    /// What the avatar says once the session connects: a chat socket's `opening_text` given
    /// before then (HeyGen's guide opens the socket right after `new`), else the knowledge
    /// base's `opening`.
    pub opening: Option<String>,
    /// Open chat sockets, room clients (`/rtc` connections) and realtime sockets, each at most
    /// [`MAX_CLIENTS_PER_DOOR`].
    pub chat_sockets: usize,
    pub room_clients: usize,
    pub realtime_sockets: usize,
    /// Who is in the session's LiveKit room besides the avatar, and who comes and goes, so
    /// each client is told of the others as a LiveKit server tells them.
    room_members: Vec<RoomMember>,
    room_changes: Option<broadcast::Sender<RoomChange>>,
    /// v1: the way to the session's raw peer connection, set once `streaming.new` made it.
    pub raw_peer: Option<RawPeerHandle>,
    /// A LiveAvatar session's own state; `None` for the Streaming API's sessions.
    pub liveavatar: Option<Box<LiveAvatarState>>,
    /// What the avatar and the user said (LiveAvatar's `/transcript`).
    pub transcript: TranscriptLog,
}

/// A client in a session's LiveKit room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMember {
    pub sid: String,
    pub identity: String,
    pub name: String,
}

/// A member joined (`true`) or left the room.
pub type RoomChange = (RoomMember, bool);

/// Room changes a slow connection may fall behind by before it skips the oldest.
const ROOM_CHANGE_CAPACITY: usize = 64;

/// Chat sockets, and room clients, one session accepts at once. The SDKs open one of each; a
/// few more allow a second tab or a test observer, and a client in a reconnect loop cannot
/// pile up sockets without bound. [INF] HeyGen's own limit is not documented.
pub const MAX_CLIENTS_PER_DOOR: usize = 8;

impl Session {
    /// A session in state `new`, whose `ended` token is a child of `parent` (the server's
    /// shutdown), so shutdown ends every session's waiters.
    pub fn new(spec: SessionSpec, now: Instant, parent: &CancellationToken) -> Self {
        let SessionSpec {
            id,
            seq,
            owner,
            settings,
            limits,
            speech_model,
            latency,
            clock,
        } = spec;
        Self {
            id,
            seq,
            owner,
            state: SessionState::New,
            state_changes: watch::channel(SessionState::New).0,
            created_unix: crate::ids::unix_now(),
            created_at: now,
            closed_at: None,
            close_reason: None,
            settings,
            limits,
            last_activity: now,
            listening: false,
            speech: SpeechSchedule::default(),
            speech_model,
            latency: SessionLatency::new(latency, seq),
            clock,
            interrupts: watch::channel(None).0,
            schedule_changes: watch::channel(0).0,
            ended: parent.child_token(),
            voice: VoiceState::new(now),
            opening: None,
            chat_sockets: 0,
            room_clients: 0,
            realtime_sockets: 0,
            room_members: Vec::new(),
            room_changes: None,
            raw_peer: None,
            liveavatar: None,
            transcript: TranscriptLog::default(),
        }
    }

    /// Moves to `state` and tells whoever watches.
    pub fn set_state(&mut self, state: SessionState) {
        self.state = state;
        self.state_changes.send_replace(state);
    }

    /// `member` joins the room: returns who was there already, and the changes from now on
    /// (its own included, which the caller skips by sid).
    pub fn enter_room(
        &mut self,
        member: RoomMember,
    ) -> (Vec<RoomMember>, broadcast::Receiver<RoomChange>) {
        let changes = self
            .room_changes
            .get_or_insert_with(|| broadcast::channel(ROOM_CHANGE_CAPACITY).0);
        let listener = changes.subscribe();
        let _ = changes.send((member.clone(), true));
        let others = self.room_members.clone();
        self.room_members.push(member);
        (others, listener)
    }

    /// Who is in the room besides the avatar.
    pub fn room_members(&self) -> &[RoomMember] {
        &self.room_members
    }

    /// The member `sid` left the room.
    pub fn leave_room(&mut self, sid: &str) {
        let Some(at) = self.room_members.iter().position(|m| m.sid == sid) else {
            return;
        };
        let member = self.room_members.remove(at);
        if let Some(changes) = &self.room_changes {
            let _ = changes.send((member, false));
        }
    }

    /// Records user activity: resets the idle timer (§4).
    pub fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// When the session must end if nothing else happens, and why.
    pub fn deadline(&self) -> (Instant, CloseReason) {
        let hard = (
            self.created_at + self.limits.duration_limit,
            CloseReason::DurationLimit,
        );
        match self.limits.idle_timeout {
            Some(idle) if self.last_activity + idle < hard.0 => {
                (self.last_activity + idle, CloseReason::IdleTimeout)
            }
            _ => hard,
        }
    }

    /// Queues what the avatar says for a task: `text` itself for `repeat`, the deterministic
    /// reply for `talk`. Speaking counts as activity (it resets the idle timer).
    ///
    /// Every writer of speech comes through here, so they all share one guard (the §6 row of
    /// `streaming.task`) and one bound on the queue.
    ///
    /// # Errors
    /// The §6 error when the session is not connected; `RateLimited` (400123) when it already
    /// has `MAX_QUEUED_TASKS` tasks to say.
    pub fn speak(
        &mut self,
        now: Instant,
        text: &str,
        task_type: TaskType,
    ) -> Result<ScheduledTask, ErrorKind> {
        Operation::Task.check(self.state, self.settings.protocol)?;
        let SpeechModel {
            words_per_minute,
            reply_seed,
        } = self.speech_model;
        let spoken = match task_type {
            TaskType::Repeat => text.to_owned(),
            TaskType::Talk => {
                reply::talk_reply(text, self.settings.knowledge_base.as_deref(), reply_seed)
            }
        };
        let duration = self.clock.to_wall(speech::speech_duration(
            &spoken,
            words_per_minute,
            self.settings.voice_rate,
        ));
        let lead = self.clock.to_wall(self.latency.draw(match task_type {
            TaskType::Repeat => Phase::Speak,
            TaskType::Talk => Phase::Talk,
        }));
        let task = self
            .speech
            .enqueue(now, ids::time_uuid(), spoken, task_type, lead, duration)
            .map_err(|speech::QueueFull| ErrorKind::RateLimited)?;
        self.transcript
            .push(Speaker::Avatar, &task.spoken_text, now - self.created_at);
        self.touch(now);
        self.schedule_changes.send_modify(|n| *n += 1);
        tracing::trace!(target: hops::TARGET, hop = hops::SERVER_SPEECH_QUEUED);
        Ok(task)
    }

    /// Queues a client's own audio (the realtime endpoint), `duration` of it so far, through
    /// the same guard and queue bound as [`Session::speak`]. The audio plays in real time
    /// whatever the time scale; only the profile's `speak` lead is scaled.
    ///
    /// # Errors
    /// As [`Session::speak`].
    pub fn speak_audio(
        &mut self,
        now: Instant,
        audio: SpokenAudio,
        duration: Duration,
    ) -> Result<ScheduledTask, ErrorKind> {
        Operation::Task.check(self.state, self.settings.protocol)?;
        let lead = self.clock.to_wall(self.latency.draw(Phase::Speak));
        let task = self
            .speech
            .enqueue_audio(now, ids::time_uuid(), audio, lead, duration)
            .map_err(|speech::QueueFull| ErrorKind::RateLimited)?;
        self.touch(now);
        self.schedule_changes.send_modify(|n| *n += 1);
        Ok(task)
    }

    /// Lengthens the audio task `task_id` by `by` as more of it arrives; `None` when it is
    /// no longer to be said (ended or interrupted), and the caller queues a new one.
    pub fn extend_audio(
        &mut self,
        now: Instant,
        task_id: &str,
        by: Duration,
    ) -> Option<ScheduledTask> {
        let task = self.speech.extend(now, task_id, by)?;
        self.touch(now);
        self.schedule_changes.send_modify(|n| *n += 1);
        Some(task)
    }

    /// `new` or `connecting` -> `connected`; the opening line, if any, is said now. Other
    /// states are left alone (already connected, or closed meanwhile).
    pub fn connect(&mut self, now: Instant) {
        if matches!(self.state, SessionState::New | SessionState::Connecting) {
            self.set_state(SessionState::Connected);
            if let Some(opening) = self.opening.take() {
                let _ = self.speak(now, &opening, TaskType::Repeat);
            }
        }
    }

    /// Says `text` now if the session is connected, or once it connects (an opening line).
    ///
    /// # Errors
    /// The §6 error of `streaming.task` when the session has closed; `RateLimited` when its
    /// queue is full.
    pub fn say_when_connected(&mut self, now: Instant, text: &str) -> Result<(), ErrorKind> {
        match self.state {
            SessionState::New | SessionState::Connecting => {
                self.opening = Some(text.to_owned());
                Ok(())
            }
            _ => self.speak(now, text, TaskType::Repeat).map(drop),
        }
    }

    /// Cuts the current task (after the profile's interrupt tail), drops the queue and tells
    /// `sync` waiters when the avatar falls silent.
    pub fn interrupt(&mut self, now: Instant) {
        let tail = self.clock.to_wall(self.latency.draw(Phase::InterruptTail));
        self.silence(now, tail);
    }

    /// Cuts the current task `tail` after `now` and drops the queue.
    fn silence(&mut self, now: Instant, tail: Duration) {
        let silent_at = self
            .speech
            .interrupt(now, tail)
            .map_or(now, |cut| cut.ends_at);
        self.interrupts.send_replace(Some(silent_at));
        self.schedule_changes.send_modify(|n| *n += 1);
    }

    /// The next delay of a REST phase (`new`, `start`, `task`) of this session's profile.
    pub fn answer_delay(&mut self, phase: Phase) -> Duration {
        self.clock.to_wall(self.latency.draw(phase))
    }

    /// Which latency profile the session follows.
    pub fn latency_profile(&self) -> &LatencyProfile {
        self.latency.profile()
    }

    /// Follows `profile` from now on (the admin API); draws start again from its seed.
    pub fn set_latency_profile(&mut self, profile: Arc<LatencyProfile>) {
        self.latency = SessionLatency::new(profile, self.seq);
    }

    /// Ends the session: drops its speech, fires `ended`. Idempotent.
    pub fn close(&mut self, now: Instant, reason: CloseReason) {
        if self.state == SessionState::Closed {
            return;
        }
        // A closed session falls silent at once, whatever the profile's interrupt tail.
        self.silence(now, Duration::ZERO);
        self.set_state(SessionState::Closed);
        self.closed_at = Some(now);
        self.close_reason = Some(reason);
        self.listening = false;
        self.ended.cancel();
    }

    /// How long the session has lasted, up to now or up to its close.
    pub fn age(&self, now: Instant) -> Duration {
        self.closed_at.unwrap_or(now) - self.created_at
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A connected session with default settings, for unit tests.
    pub(crate) fn connected_session(now: Instant) -> Session {
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
            protocol: Protocol::V2,
        };
        let limits = SessionLimits {
            duration_limit: Duration::from_secs(600),
            idle_timeout: None,
        };
        let owner = Caller {
            api_key: "k".into(),
            token: None,
        };
        let spec = SessionSpec {
            id: "s".into(),
            seq: 0,
            owner,
            settings,
            limits,
            speech_model: SpeechModel {
                words_per_minute: 150.0,
                reply_seed: 0,
            },
            latency: Arc::new(LatencyProfile::instant()),
            clock: TimeScale::REAL,
        };
        let mut session = Session::new(spec, now, &CancellationToken::new());
        session.state = SessionState::Connected;
        session
    }

    #[tokio::test]
    async fn every_writer_of_speech_meets_the_task_guard() {
        let now = Instant::now();
        let mut session = connected_session(now);
        for (state, error) in [
            (SessionState::New, ErrorKind::StateNew),
            (SessionState::Connecting, ErrorKind::NotInCorrectState),
            (SessionState::Closed, ErrorKind::StateClosed),
        ] {
            session.state = state;
            assert_eq!(
                session.speak(now, "hello", TaskType::Repeat).err(),
                Some(error)
            );
        }
        session.state = SessionState::Connected;
        let task = session
            .speak(now, "one two three", TaskType::Repeat)
            .unwrap();
        // The model bound at creation: 3 words at 150 wpm is 1.2 s.
        assert_eq!(task.duration(), Duration::from_millis(1200));
        for _ in 1..speech::MAX_QUEUED_TASKS {
            session.speak(now, "more", TaskType::Repeat).unwrap();
        }
        assert_eq!(
            session.speak(now, "one too many", TaskType::Repeat).err(),
            Some(ErrorKind::RateLimited)
        );
    }

    #[test]
    fn visibility_follows_key_and_token() {
        let owner = Caller {
            api_key: "k".into(),
            token: Some("t".into()),
        };
        assert!(
            Caller {
                api_key: "k".into(),
                token: None
            }
            .can_see(&owner)
        );
        assert!(owner.can_see(&owner));
        assert!(
            !Caller {
                api_key: "k".into(),
                token: Some("u".into())
            }
            .can_see(&owner)
        );
        assert!(
            !Caller {
                api_key: "other".into(),
                token: None
            }
            .can_see(&owner)
        );
    }
}
