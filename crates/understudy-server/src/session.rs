//! One streaming session: its owner, its state (§6), its timers and its speech schedule, and the
//! rule table that says which call is allowed in which state.

use crate::speech::{ScheduledTask, SpeechSchedule};
use crate::{ids, reply, speech};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
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

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Stopped,
    IdleTimeout,
    DurationLimit,
    /// The admin reset or the server shut down.
    ServerReset,
}

/// A call that acts on an existing session; `stop` is handled apart because it is allowed in
/// every live state and answers 400004 once closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Ice,
    Task,
    Interrupt,
    StartListening,
    StopListening,
    KeepAlive,
    /// Opening `/v1/ws/streaming.chat`: the SDK does it after `start`.
    OpenChatSocket,
}

impl Operation {
    /// The §6 table. Rows marked [INF] there are filled with the nearest observed behaviour:
    /// calls that need a connected session answer 10001 in `new` and 400006 in `connecting`
    /// (what v2 clients observed for tasks), and every call but stop answers 10005 once closed.
    pub fn check(self, state: SessionState) -> Result<(), ErrorKind> {
        use SessionState::*;
        match (self, state) {
            (Operation::Start, New) => Ok(()),
            (Operation::Ice, New | Connecting | Connected) => Ok(()),
            (Operation::Start | Operation::Ice, other) => Err(ErrorKind::state_wrong(other)),
            (Operation::OpenChatSocket, Connecting) => Ok(()),
            (_, Connected) => Ok(()),
            (_, Connecting) => Err(ErrorKind::NotInCorrectState),
            (_, other) => Err(ErrorKind::state_wrong(other)),
        }
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
}

/// The two timers that end a session on their own (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub duration_limit: Duration,
    /// `None` when `disable_idle_timeout` was set.
    pub idle_timeout: Option<Duration>,
}

#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// Creation order, for stable listing.
    pub seq: u64,
    pub owner: Caller,
    pub state: SessionState,
    pub created_unix: i64,
    pub created_at: Instant,
    pub closed_at: Option<Instant>,
    pub close_reason: Option<CloseReason>,
    pub settings: SessionSettings,
    pub limits: SessionLimits,
    pub last_activity: Instant,
    pub listening: bool,
    pub speech: SpeechSchedule,
    /// Bumped on every interrupt, so `sync` task answers waiting on a cut task return at once.
    pub interrupts: watch::Sender<u64>,
    /// Bumped whenever the schedule changes (a task queued, an interrupt), so each viewer's
    /// stage reacts at once instead of on its next frame tick.
    pub schedule_changes: watch::Sender<u64>,
    /// Cancelled when the session closes: stops its watchdog and wakes its waiters.
    pub ended: CancellationToken,
    /// The user's side of a voice conversation.
    pub voice: crate::voice::turns::VoiceState,
    /// Open chat sockets and room clients (`/rtc` connections), each at most
    /// [`MAX_CLIENTS_PER_DOOR`].
    pub chat_sockets: usize,
    pub room_clients: usize,
}

/// Chat sockets, and room clients, one session accepts at once. The SDKs open one of each; a
/// few more allow a second tab or a test observer, and a client in a reconnect loop cannot
/// pile up sockets without bound. [INF] HeyGen's own limit is not documented.
pub const MAX_CLIENTS_PER_DOOR: usize = 8;

impl Session {
    pub fn new(
        id: String,
        seq: u64,
        owner: Caller,
        settings: SessionSettings,
        limits: SessionLimits,
        now: Instant,
        parent: &CancellationToken,
    ) -> Self {
        Self {
            id,
            seq,
            owner,
            state: SessionState::New,
            created_unix: crate::ids::unix_now(),
            created_at: now,
            closed_at: None,
            close_reason: None,
            settings,
            limits,
            last_activity: now,
            listening: false,
            speech: SpeechSchedule::default(),
            interrupts: watch::channel(0).0,
            schedule_changes: watch::channel(0).0,
            ended: parent.child_token(),
            voice: crate::voice::turns::VoiceState::new(now),
            chat_sockets: 0,
            room_clients: 0,
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
    /// # Errors
    /// `RateLimited` (400123) when the session already has `MAX_QUEUED_TASKS` tasks to say.
    pub fn speak(
        &mut self,
        now: Instant,
        text: &str,
        task_type: TaskType,
        words_per_minute: f64,
        reply_seed: u64,
    ) -> Result<ScheduledTask, ErrorKind> {
        let spoken = match task_type {
            TaskType::Repeat => text.to_owned(),
            TaskType::Talk => {
                reply::talk_reply(text, self.settings.knowledge_base.as_deref(), reply_seed)
            }
        };
        let duration = speech::speech_duration(&spoken, words_per_minute, self.settings.voice_rate);
        let task = self
            .speech
            .enqueue(now, ids::time_uuid(), spoken, task_type, duration)
            .map_err(|speech::QueueFull| ErrorKind::RateLimited)?;
        self.touch(now);
        self.schedule_changes.send_modify(|n| *n += 1);
        Ok(task)
    }

    /// Cuts the current task, drops the queue and wakes `sync` waiters.
    pub fn interrupt(&mut self, now: Instant) {
        self.speech.interrupt(now);
        self.interrupts.send_modify(|n| *n += 1);
        self.schedule_changes.send_modify(|n| *n += 1);
    }

    /// Ends the session: drops its speech, fires `ended`. Idempotent.
    pub fn close(&mut self, now: Instant, reason: CloseReason) {
        if self.state == SessionState::Closed {
            return;
        }
        self.interrupt(now);
        self.state = SessionState::Closed;
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
mod tests {
    use super::*;
    use SessionState::*;

    #[test]
    fn start_is_allowed_only_in_new() {
        assert_eq!(Operation::Start.check(New), Ok(()));
        assert_eq!(
            Operation::Start.check(Connecting),
            Err(ErrorKind::StateConnecting)
        );
        assert_eq!(
            Operation::Start.check(Connected),
            Err(ErrorKind::StateConnected)
        );
        assert_eq!(Operation::Start.check(Closed), Err(ErrorKind::StateClosed));
    }

    #[test]
    fn tasks_need_a_connected_session() {
        assert_eq!(Operation::Task.check(New), Err(ErrorKind::StateNew));
        assert_eq!(
            Operation::Task.check(Connecting),
            Err(ErrorKind::NotInCorrectState)
        );
        assert_eq!(Operation::Task.check(Connected), Ok(()));
        assert_eq!(Operation::Task.check(Closing), Err(ErrorKind::StateClosing));
        assert_eq!(Operation::Task.check(Closed), Err(ErrorKind::StateClosed));
    }

    #[test]
    fn ice_may_race_start() {
        for state in [New, Connecting, Connected] {
            assert_eq!(Operation::Ice.check(state), Ok(()));
        }
        assert_eq!(Operation::Ice.check(Closed), Err(ErrorKind::StateClosed));
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
