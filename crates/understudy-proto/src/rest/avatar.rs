//! `GET /v1/streaming/avatar.list` (§3.11).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamingAvatarInfo {
    pub avatar_id: String,
    pub created_at: i64,
    pub default_voice: String,
    pub is_public: bool,
    pub normal_preview: String,
    pub pose_name: String,
    /// `"ACTIVE"` or `"INACTIVE"`.
    pub status: String,
}
