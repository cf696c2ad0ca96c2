//! The two success envelopes and the error body every HeyGen endpoint answers with (§2).

use serde::{Deserialize, Serialize};

/// `code` of every successful `{code, data, message}` envelope.
pub const SUCCESS_CODE: i64 = 100;

/// `{"code": 100, "data": ..., "message": "success"}`: the envelope of every endpoint but
/// `streaming.create_token`.
///
/// `data` is `null` for endpoints that return nothing (start, stop, interrupt, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiEnvelope<T> {
    pub code: i64,
    pub data: Option<T>,
    pub message: String,
}

impl<T> ApiEnvelope<T> {
    /// A success envelope with the lower-case `"success"` message most endpoints use.
    pub fn success(data: T) -> Self {
        Self {
            code: SUCCESS_CODE,
            data: Some(data),
            message: "success".to_owned(),
        }
    }

    /// A success envelope whose `data` is `null`.
    pub fn empty() -> Self {
        Self {
            code: SUCCESS_CODE,
            data: None,
            message: "success".to_owned(),
        }
    }

    /// A success envelope with the capitalised `"Success"` that `streaming/avatar.list` uses.
    pub fn success_capitalised(data: T) -> Self {
        Self {
            code: SUCCESS_CODE,
            data: Some(data),
            message: "Success".to_owned(),
        }
    }
}

/// `{"error": null, "data": {...}}`: the envelope of `streaming.create_token` only, with no `code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEnvelope<T> {
    pub error: Option<serde_json::Value>,
    pub data: Option<T>,
}

impl<T> TokenEnvelope<T> {
    pub fn success(data: T) -> Self {
        Self {
            error: None,
            data: Some(data),
        }
    }
}

/// `{"code": <int>, "message": "<text>"}`: the body of every 4xx/5xx answer.
///
/// `data` is absent: the official SDK 2.x throws on any non-2xx status and keeps the raw text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
}
