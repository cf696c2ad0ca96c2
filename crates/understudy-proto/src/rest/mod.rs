//! Request and response bodies of every streaming endpoint (§3), one module per endpoint family.
//!
//! Requests are lenient like the real service: unknown fields are ignored, optional fields are
//! `Option` and skipped when serialised (as `JSON.stringify` drops `undefined`), and the avatar id
//! is accepted under all three names clients use.

pub mod avatar;
pub mod knowledge_base;
pub mod list;
pub mod session;
pub mod task;
pub mod token;

use serde::{Deserialize, Serialize};

/// `{"session_id": "..."}`: the body of stop, interrupt, keep_alive, start_listening and
/// stop_listening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIdRequest {
    pub session_id: String,
}

impl SessionIdRequest {
    pub fn new(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
        }
    }
}
