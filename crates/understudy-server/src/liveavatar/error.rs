//! How LiveAvatar routes fail: `{code, data: null, message}` with the HTTP status, or FastAPI's
//! 422 `{detail: [...]}` for a body that does not validate (`liveavatar.md` §1.2).
//!
//! [INF] No numeric catalogue is public (§7.1): `code` is the HTTP status times ten (4000,
//! 4010, 4040, 4290, 5000), so it is never 1000 and tells the cases apart.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use understudy_proto::liveavatar::LiveAvatarEnvelope;
use understudy_proto::liveavatar::rest::{ValidationError, ValidationIssue};

#[derive(Debug, Clone, PartialEq)]
pub enum LiveAvatarError {
    /// 401: a missing or unknown credential, or the wrong kind for the route.
    Unauthorized(&'static str),
    /// 404: no such session for this caller.
    NotFound,
    /// 400: the session is in no state for the call.
    BadRequest(String),
    /// 422: the body or query does not validate.
    Validation(Vec<ValidationIssue>),
    /// 429: the account holds as many live sessions as it may.
    TooManySessions,
    Internal,
}

impl LiveAvatarError {
    /// A 422 about one field (`loc` starts with where it was: `body` or `query`).
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self::Validation(vec![ValidationIssue {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind: kind.to_owned(),
        }])
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManySessions => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for LiveAvatarError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match self {
            Self::Validation(detail) => {
                return (status, Json(ValidationError { detail })).into_response();
            }
            Self::Unauthorized(why) => why.to_owned(),
            Self::NotFound => "Session not found".to_owned(),
            Self::BadRequest(why) => why,
            Self::TooManySessions => "Concurrent session limit reached".to_owned(),
            Self::Internal => "Internal server error".to_owned(),
        };
        let code = i64::from(status.as_u16()) * 10;
        (status, Json(LiveAvatarEnvelope::<()>::error(code, message))).into_response()
    }
}
