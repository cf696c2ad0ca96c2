//! Turns applied to a session in the app state: push-to-talk, the detector's decisions and
//! admin injections all come here, and [`crate::session::Session`]'s turn methods do the rest.

use crate::registry::Registry;
use crate::session::{Session, TurnOutcome};
use crate::state::AppState;
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::SessionState;

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
    let mut registry = state.registry();
    let session = connected(&mut registry, session_id)?;
    Ok(session.user_finished(Instant::now(), heard, text))
}

fn connected<'a>(
    registry: &'a mut Registry,
    session_id: &str,
) -> Result<&'a mut Session, TurnRefused> {
    match registry.session_mut(session_id) {
        Some(session) if session.state == SessionState::Connected => Ok(session),
        _ => Err(TurnRefused::NotLive),
    }
}
