//! `AppState`: the cheap, cloneable handle every handler gets. It owns the registry behind one
//! short std `Mutex` section (never held across `.await`), the journal, the shutdown signal that
//! every background task watches, and the tracker that shutdown awaits.

use crate::avatars::AvatarCatalogue;
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::faults::{Faults, ImmediateFault};
use crate::journal::Journal;
use crate::latency::LatencyProfile;
use crate::livekit::MediaLibrary;
use crate::registry::Registry;
use crate::session::{Caller, CloseReason, Operation, Session};
use rand::Rng;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use understudy_proto::rest::session::{Quality, VideoEncoding};

#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ServerConfig,
    registry: Mutex<Registry>,
    journal: Mutex<Journal>,
    avatars: AvatarCatalogue,
    /// HS256 secret for the LiveKit access tokens this server signs and (later) checks.
    livekit_secret: Vec<u8>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// The encoded media for this server's cache directory (shared with any other server in
    /// the process that uses the same one).
    media: Arc<MediaLibrary>,
    /// The latency profile new sessions follow: the config's, until the admin API changes it.
    latency: RwLock<Arc<LatencyProfile>>,
    faults: Faults,
    /// Where the STUN responder listens, once bound (v1's `ice_servers`).
    stun: std::sync::OnceLock<std::net::SocketAddr>,
    /// Binding requests the STUN responder answered.
    stun_answers: Arc<std::sync::atomic::AtomicU64>,
}

impl AppState {
    pub fn new(config: ServerConfig, shutdown: CancellationToken, tracker: TaskTracker) -> Self {
        let secret: [u8; 32] = rand::rng().random();
        let media = MediaLibrary::for_cache(config.media_cache.as_deref());
        let latency = RwLock::new(Arc::clone(&config.latency));
        Self {
            inner: Arc::new(Shared {
                media,
                latency,
                journal: Mutex::new(Journal::new(config.journal_capacity)),
                config,
                registry: Mutex::new(Registry::default()),
                avatars: AvatarCatalogue::builtin(),
                livekit_secret: secret.to_vec(),
                shutdown,
                tracker,
                faults: Faults::default(),
                stun: std::sync::OnceLock::new(),
                stun_answers: Arc::default(),
            }),
        }
    }

    /// Records where the STUN responder listens; the first address stays.
    pub fn set_stun_addr(&self, addr: std::net::SocketAddr) {
        let _ = self.inner.stun.set(addr);
    }

    /// The STUN responder's count of answers (it adds, the stats route reads).
    pub fn stun_answers(&self) -> &Arc<std::sync::atomic::AtomicU64> {
        &self.inner.stun_answers
    }

    /// Where the STUN responder listens, if there is one.
    pub fn stun_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.stun.get().copied()
    }

    /// The fault rules a test has set.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The channel faults that fire now on one connection (see `Faults::for_connection`), each
    /// journaled as a `WS` entry on `path`.
    pub fn connection_faults(
        &self,
        channel: &str,
        path: &str,
        session_id: &str,
        seen: &mut std::collections::HashSet<u64>,
    ) -> Vec<crate::faults::ChannelFault> {
        let fired = self.faults().for_connection(channel, session_id, seen);
        fired
            .into_iter()
            .map(|(id, fault)| {
                self.journal().push_socket_fault(
                    path,
                    session_id,
                    crate::journal::JournaledFault {
                        id,
                        action: fault.describe(),
                    },
                );
                fault
            })
            .collect()
    }

    /// Does what a session or token rule says, now: a session ends as its timer would have
    /// ended it (its room and sockets told why), a token stops being accepted. Returns whether
    /// there was such a session or token.
    pub fn apply_fault(&self, fault: &ImmediateFault) -> bool {
        match fault {
            ImmediateFault::ExpireSession { session_id, expiry } => {
                let reason = match expiry {
                    understudy_proto::faults::Expiry::IdleTimeout => CloseReason::IdleTimeout,
                    understudy_proto::faults::Expiry::DurationLimit => CloseReason::DurationLimit,
                };
                self.close_session(session_id, reason)
            }
            ImmediateFault::ExpireToken(token) => self.registry().forget_token(token),
        }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The latency profile a session created now follows.
    pub fn latency_profile(&self) -> Arc<LatencyProfile> {
        Arc::clone(&self.inner.latency.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Makes `profile` the one new sessions follow (sessions already made keep theirs).
    pub fn set_latency_profile(&self, profile: Arc<LatencyProfile>) {
        *self
            .inner
            .latency
            .write()
            .unwrap_or_else(|e| e.into_inner()) = profile;
    }

    pub fn media(&self) -> &Arc<MediaLibrary> {
        &self.inner.media
    }

    pub fn avatars(&self) -> &AvatarCatalogue {
        &self.inner.avatars
    }

    /// The video quality and codec a session asked for.
    pub fn session_video(&self, session_id: &str) -> Option<(Quality, VideoEncoding)> {
        let registry = self.registry();
        registry
            .session(session_id)
            .map(|s| (s.settings.quality, s.settings.video_encoding))
    }

    pub fn livekit_secret(&self) -> &[u8] {
        &self.inner.livekit_secret
    }

    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Locks the registry. A poisoned lock is recovered: the registry holds plain data whose
    /// invariants are restored by each call, and a mock must keep answering.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        self.inner
            .journal
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The caller a session token stands for, if it was minted here and has not expired.
    pub fn caller_for_token(&self, token: &str) -> Option<Caller> {
        let ttl = self.config().clock().to_wall(self.config().token_ttl);
        let registry = self.registry();
        let record = registry.token(token)?;
        (Instant::now().duration_since(record.issued_at) < ttl).then(|| Caller {
            api_key: record.api_key.clone(),
            token: Some(token.to_owned()),
        })
    }

    /// Why a session ended, once it has.
    pub fn close_reason(&self, session_id: &str) -> Option<CloseReason> {
        self.registry()
            .session(session_id)
            .and_then(|s| s.close_reason)
    }

    /// Runs `f` on the caller's session once `operation` is allowed in its state (§6), all in
    /// one critical section so no other call can change the state between check and act.
    ///
    /// # Errors
    /// 10006 for a session the caller cannot see; the §6 row for a wrong state.
    pub fn act_on<T>(
        &self,
        caller: &Caller,
        session_id: &str,
        operation: Operation,
        f: impl FnOnce(&mut Session, Instant) -> T,
    ) -> Result<T, ApiError> {
        let mut registry = self.registry();
        let session = registry.session_for(caller, session_id)?;
        operation.check(session.state, session.settings.protocol)?;
        Ok(f(session, Instant::now()))
    }

    /// A client joined the session's room: `connecting -> connected` (§6), and the opening line
    /// is said. Other states are left alone (not started, already connected, or closed).
    pub fn mark_connected(&self, session_id: &str) {
        if let Some(session) = self.registry().session_mut(session_id) {
            if session.state == understudy_proto::SessionState::Connecting {
                session.connect(Instant::now());
            }
        }
    }

    /// A v1 start whose answer the peer refused: `connecting -> new` again, so the client may
    /// send a better one. Other states are left alone.
    pub fn unstart(&self, session_id: &str) {
        if let Some(session) = self.registry().session_mut(session_id) {
            if session.state == understudy_proto::SessionState::Connecting {
                session.set_state(understudy_proto::SessionState::New);
            }
        }
    }

    /// A receiver of the session's schedule changes (see `Session::schedule_changes`).
    pub fn watch_schedule(&self, session_id: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.registry()
            .session(session_id)
            .map(|s| s.schedule_changes.subscribe())
    }

    /// What a viewer narrates at `now`: the task being said, the tasks queued after it, and
    /// the next instant at which a task starts or stops talking.
    pub fn speech_at(&self, session_id: &str, now: Instant) -> SpeechView {
        let registry = self.registry();
        registry
            .session(session_id)
            .map_or_else(SpeechView::default, |s| SpeechView {
                current: s.speech.current(now).cloned(),
                upcoming: s
                    .speech
                    .pending(now)
                    .filter(|t| t.starts_at > now)
                    .cloned()
                    .collect(),
                next_change: s.speech.next_change(now),
            })
    }

    /// The server's task tracker, for code that spawns from outside the state (the peers'
    /// handlers): shutdown waits for everything on it.
    pub fn tracker(&self) -> TaskTracker {
        self.inner.tracker.clone()
    }

    /// Tasks the server runs now (0 once shut down).
    pub fn running_tasks(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Counts a client on one of the session's doors until the guard drops; `None` when the door
    /// already holds [`crate::session::MAX_CLIENTS_PER_DOOR`] or the session is gone.
    pub fn admit(&self, session_id: &str, door: Door) -> Option<Admitted> {
        let mut registry = self.registry();
        let session = registry.session_mut(session_id)?;
        let count = match door {
            Door::ChatSocket => &mut session.chat_sockets,
            Door::Room => &mut session.room_clients,
            Door::Realtime => &mut session.realtime_sockets,
        };
        if *count >= crate::session::MAX_CLIENTS_PER_DOOR {
            return None;
        }
        *count += 1;
        Some(Admitted {
            state: self.clone(),
            session_id: session_id.to_owned(),
            door,
        })
    }

    /// Whether the door has room for one more client (checked before an upgrade).
    pub fn has_room(&self, session_id: &str, door: Door) -> bool {
        self.registry().session(session_id).is_some_and(|s| {
            let count = match door {
                Door::ChatSocket => s.chat_sockets,
                Door::Room => s.room_clients,
                Door::Realtime => s.realtime_sockets,
            };
            count < crate::session::MAX_CLIENTS_PER_DOOR
        })
    }

    /// Runs a background task under the server's tracker, so shutdown waits for it.
    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.tracker.spawn(task);
    }

    /// Closes a live session, filing it in history. Returns whether this call closed it.
    pub fn close_session(&self, id: &str, reason: CloseReason) -> bool {
        let capacity = self.config().history_capacity;
        self.registry().close(id, Instant::now(), reason, capacity)
    }

    /// Closes the caller's session if it is live; whether it was.
    pub fn stop_session(&self, caller: &Caller, id: &str) -> bool {
        let capacity = self.config().history_capacity;
        let mut registry = self.registry();
        registry.session_for(caller, id).is_ok()
            && registry.close(id, Instant::now(), CloseReason::Stopped, capacity)
    }

    /// Starts the watchdog that ends session `id` at its idle or duration deadline.
    ///
    /// Deadlines only move later (activity pushes the idle one), so the watchdog sleeps to the
    /// deadline it read, then re-reads it; it closes the session only once the deadline holds.
    pub fn spawn_watchdog(&self, id: String, ended: CancellationToken) {
        let state = self.clone();
        self.inner.tracker.spawn(async move {
            loop {
                let deadline = {
                    let registry = state.registry();
                    match registry.session(&id) {
                        Some(s) if s.state.is_live() => s.deadline(),
                        _ => return,
                    }
                };
                tokio::select! {
                    () = ended.cancelled() => return,
                    () = tokio::time::sleep_until(deadline.0) => {}
                }
                let expired = {
                    let registry = state.registry();
                    registry.session(&id).map(|s| s.deadline())
                };
                match expired {
                    Some((at, reason)) if at <= Instant::now() => {
                        tracing::info!(session_id = %id, ?reason, "session expired");
                        state.close_session(&id, reason);
                        return;
                    }
                    Some(_) => continue,
                    None => return,
                }
            }
        });
    }

    /// Forgets every fault rule, token, session, knowledge base and journal entry, and goes back to the
    /// configured latency profile; live sessions are closed first so their waiters and timers
    /// end.
    pub fn reset(&self) {
        self.faults().clear();
        self.registry().clear(Instant::now());
        self.journal().clear();
        self.set_latency_profile(Arc::clone(&self.config().latency));
    }
}

/// A session's speech as one viewer sees it at an instant (see [`AppState::speech_at`]).
#[derive(Debug, Default)]
pub struct SpeechView {
    pub current: Option<crate::speech::ScheduledTask>,
    /// Queued and not yet talking, in order.
    pub upcoming: Vec<crate::speech::ScheduledTask>,
    pub next_change: Option<Instant>,
}

/// The ways a client holds a socket on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    ChatSocket,
    Room,
    /// The realtime endpoint (`realtime_endpoint`).
    Realtime,
}

/// A client counted on a door; dropping it frees the place.
#[derive(Debug)]
pub struct Admitted {
    state: AppState,
    session_id: String,
    door: Door,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(session) = self.state.registry().session_mut(&self.session_id) {
            let count = match self.door {
                Door::ChatSocket => &mut session.chat_sockets,
                Door::Room => &mut session.room_clients,
                Door::Realtime => &mut session.realtime_sockets,
            };
            *count = count.saturating_sub(1);
        }
    }
}
