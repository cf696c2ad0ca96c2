//! The session states of §6 and the strings `streaming.list` shows for them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a session is in its life (§6).
///
/// ```text
/// new --start--> connecting --client joins--> connected
///  \________________ stop / timeouts __________________--> closing --> closed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    New,
    Connecting,
    Connected,
    Closing,
    Closed,
}

impl SessionState {
    /// The lower-case name HeyGen uses in `streaming.list` and in `session state wrong: <name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::New => "new",
            SessionState::Connecting => "connecting",
            SessionState::Connected => "connected",
            SessionState::Closing => "closing",
            SessionState::Closed => "closed",
        }
    }

    /// Whether the session still counts toward the concurrency limit and shows in `/v1/streaming.list`.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SessionState::New | SessionState::Connecting | SessionState::Connected
        )
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
