//! `ApiError`: how every handler fails. It renders as the HTTP status and `{code, message}` body
//! of its catalogue row, so no failure path can produce a non-HeyGen answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use understudy_proto::{ErrorBody, ErrorKind};

/// A HeyGen-style error answer: a catalogue row plus an optional detail for the message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub detail: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, detail: None }
    }

    pub fn with_detail(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
        }
    }

    pub fn invalid_params(detail: impl Into<String>) -> Self {
        Self::with_detail(ErrorKind::InvalidParams, detail)
    }

    pub fn body(&self) -> ErrorBody {
        match &self.detail {
            Some(detail) => self.kind.body_with(detail),
            None => self.kind.body(),
        }
    }
}

impl From<ErrorKind> for ApiError {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body())).into_response()
    }
}
