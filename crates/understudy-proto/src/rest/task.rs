//! `POST /v1/streaming.task` (§3.5) and its modes (§7.3).

use serde::{Deserialize, Serialize};

/// `repeat` speaks the text verbatim; `talk` (2.x) and `chat` (1.x docs) are synonyms that
/// treat the text as a user message and speak the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    /// The default when the field is absent (1.x OpenAPI).
    #[default]
    Repeat,
    #[serde(alias = "chat")]
    Talk,
}

/// `sync` answers when the speech ends; `async` answers at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskMode {
    /// The documented default.
    #[default]
    Sync,
    Async,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub session_id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_mode: Option<TaskMode>,
    /// Sent by some users; the real service ignores it and queues the task anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt: Option<bool>,
}

/// `data` of `streaming.task`, for both modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskData {
    pub duration_ms: f64,
    pub task_id: String,
}
