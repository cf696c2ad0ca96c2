//! `POST /v1/streaming.create_token` (§3.1).

use serde::{Deserialize, Serialize};

/// The body is `{}` or absent for every SDK; the iOS demo adds `session_id` and `paid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
}

/// `data` of the `{error, data}` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenData {
    pub token: String,
}
