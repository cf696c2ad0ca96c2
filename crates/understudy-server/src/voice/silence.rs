//! Silence prompts for sessions whose chat socket asked for `silence_response=true` (§7.2).
//!
//! HeyGen documents only the event's fields, so the schedule is [INF], configurable, and
//! written down in `docs/fidelity.md`: once neither the user nor the avatar has made a sound
//! for `silence_prompt_after` (default 15 s), the socket gets
//! `{"event_type":"user_silence","silence_times":n,"count_down":k}` and the avatar says
//! [`SILENCE_NUDGE`]. `silence_times` counts the prompts of this silence (1, 2, …);
//! `count_down` is how many more will come (`silence_prompts - n`). After the last one the
//! server waits quietly; any user turn starts the count again.

use crate::state::AppState;
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::SessionState;
use understudy_proto::events::ChatSocketEvent;
use understudy_proto::rest::task::TaskType;

/// What the avatar says when it prompts a silent user.
pub const SILENCE_NUDGE: &str = "Are you still there?";

/// One socket's silence clock.
#[derive(Debug)]
pub struct SilenceClock {
    after: Duration,
    limit: u32,
    /// Prompts sent since the user was last heard.
    prompts: u32,
    /// The `last_heard` those prompts counted from.
    heard_at: Option<Instant>,
}

/// What the clock decided when it woke.
#[derive(Debug, Clone, PartialEq)]
pub enum SilenceCheck {
    /// Nothing to say; look again at this instant.
    WaitUntil(Instant),
    /// Send this event (the avatar's nudge is already queued); look again at this instant.
    Prompt(ChatSocketEvent, Instant),
    /// The session is gone.
    Ended,
}

impl SilenceClock {
    pub fn new(after: Duration, limit: u32) -> Self {
        Self {
            after,
            limit,
            prompts: 0,
            heard_at: None,
        }
    }

    /// Looks at the session at `now`: prompts if the quiet has lasted long enough.
    pub fn check(&mut self, state: &AppState, session_id: &str, now: Instant) -> SilenceCheck {
        let mut registry = state.registry();
        let Some(session) = registry.session_mut(session_id) else {
            return SilenceCheck::Ended;
        };
        if !session.state.is_live() {
            return SilenceCheck::Ended;
        }
        let later = now + self.after;
        if session.state != SessionState::Connected || session.voice.is_user_speaking() {
            return SilenceCheck::WaitUntil(later);
        }
        if self.heard_at != Some(session.voice.last_heard) {
            self.heard_at = Some(session.voice.last_heard);
            self.prompts = 0;
        }
        // Quiet since the user was heard and the avatar's last task (running or queued) ends.
        let avatar_done = session.speech.pending(now).map(|t| t.ends_at).max();
        let quiet_since = avatar_done.map_or(session.voice.last_heard, |done| {
            done.max(session.voice.last_heard)
        });
        let due = quiet_since + self.after;
        if now < due {
            return SilenceCheck::WaitUntil(due);
        }
        if self.prompts >= self.limit {
            return SilenceCheck::WaitUntil(later);
        }
        self.prompts += 1;
        // A queue that is full is already talking: the nudge is not needed.
        let _ = session.speak(now, SILENCE_NUDGE, TaskType::Repeat);
        let event = ChatSocketEvent::UserSilence {
            silence_times: self.prompts,
            count_down: self.limit - self.prompts,
        };
        // The next check comes after the nudge has been said and another quiet spell.
        let nudge_done = session
            .speech
            .pending(now)
            .map(|t| t.ends_at)
            .max()
            .unwrap_or(now);
        SilenceCheck::Prompt(event, nudge_done + self.after)
    }
}
