//! What a LiveAvatar session (`liveavatar.md`) keeps beyond any session's state: its mode, its
//! token, how it was asked to end, and which client command each avatar task answers (so its
//! events name the command as `source_event_id`).

use super::CloseReason;
use std::collections::VecDeque;
use understudy_proto::liveavatar::SessionMode;
use understudy_proto::liveavatar::rest::SessionEndReason;

/// Commands remembered per session; a task older than this many commands is reported without
/// its source. Bounds what a client in a loop can make the session hold.
const MAX_SOURCES: usize = 64;

#[derive(Debug, Clone)]
pub struct LiveAvatarState {
    pub mode: SessionMode,
    pub sandbox: bool,
    /// The session token `/v1/sessions/token` minted: the Bearer of `start`, `stop` and
    /// `keep-alive`.
    pub token: String,
    /// The session's limit in seconds, as `start` reports it.
    pub max_session_duration: u64,
    /// The reason a `stop` gave, if one ended the session.
    pub stop_reason: Option<SessionEndReason>,
    /// When `start` was called (Unix seconds), once it was.
    pub started_unix: Option<i64>,
    sources: VecDeque<(String, String)>,
}

impl LiveAvatarState {
    pub fn new(mode: SessionMode, sandbox: bool, token: String, max_session_duration: u64) -> Self {
        Self {
            mode,
            sandbox,
            token,
            max_session_duration,
            stop_reason: None,
            started_unix: None,
            sources: VecDeque::new(),
        }
    }

    /// Task `task_id` answers the client's command `event_id`.
    pub fn remember_source(&mut self, task_id: String, event_id: String) {
        if self.sources.len() == MAX_SOURCES {
            self.sources.pop_front();
        }
        self.sources.push_back((task_id, event_id));
    }

    /// The command task `task_id` answers, if it answers one.
    pub fn source_of(&self, task_id: &str) -> Option<&str> {
        self.sources
            .iter()
            .find(|(task, _)| task == task_id)
            .map(|(_, event)| event.as_str())
    }

    /// Why the session ended, in LiveAvatar's words.
    pub fn end_reason(&self, closed: CloseReason) -> SessionEndReason {
        match closed {
            CloseReason::Stopped => self.stop_reason.unwrap_or(SessionEndReason::UserClosed),
            CloseReason::IdleTimeout => SessionEndReason::IdleTimeout,
            CloseReason::DurationLimit => SessionEndReason::MaxDurationReached,
            CloseReason::ServerReset => SessionEndReason::ServerError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_bounded_and_found_by_task() {
        let mut state = LiveAvatarState::new(SessionMode::Full, false, "t".into(), 600);
        for i in 0..MAX_SOURCES + 1 {
            state.remember_source(format!("task{i}"), format!("event{i}"));
        }
        assert_eq!(state.source_of("task0"), None);
        assert_eq!(state.source_of("task1"), Some("event1"));
        assert_eq!(
            state.source_of(&format!("task{MAX_SOURCES}")),
            Some(&*format!("event{MAX_SOURCES}"))
        );
    }

    #[test]
    fn end_reasons_follow_how_the_session_closed() {
        let mut state = LiveAvatarState::new(SessionMode::Lite, true, "t".into(), 60);
        assert_eq!(
            state.end_reason(CloseReason::DurationLimit),
            SessionEndReason::MaxDurationReached
        );
        assert_eq!(
            state.end_reason(CloseReason::Stopped),
            SessionEndReason::UserClosed
        );
        state.stop_reason = Some(SessionEndReason::UserDisconnected);
        assert_eq!(
            state.end_reason(CloseReason::Stopped),
            SessionEndReason::UserDisconnected
        );
    }
}
