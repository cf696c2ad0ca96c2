//! `GET /v1/streaming.list` (live sessions) and `GET /v2/streaming.list` (paginated history),
//! §3.10.

use crate::state::SessionState;
use serde::{Deserialize, Serialize};

/// One row of `/v1/streaming.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub status: SessionState,
    /// Unix seconds.
    pub created_at: i64,
    /// `"regular"` in the one captured response.
    pub api_key_type: String,
}

/// `data` of `/v1/streaming.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSessionsData {
    pub sessions: Vec<SessionSummary>,
}

/// One row of `/v2/streaming.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionHistoryItem {
    pub session_id: String,
    pub status: SessionState,
    pub created_at: i64,
    pub api_key_type: String,
    /// Seconds the session has lasted so far (or lasted, once closed).
    pub duration: f64,
    pub avatar_id: String,
    pub voice_name: Option<String>,
}

/// The whole `/v2/streaming.list` body. The documented fields are `total`, `page`, `page_size`,
/// `next_pagination_token` and `data[]`; their nesting was never captured, so they sit beside
/// `code` and `message` here [INF].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionHistoryPage {
    pub code: i64,
    pub message: String,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub next_pagination_token: Option<String>,
    pub data: Vec<SessionHistoryItem>,
}
