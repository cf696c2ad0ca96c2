//! Extractors that turn requests into typed input or a HeyGen error: `HeyJson<T>` for bodies
//! and `Caller` for credentials.

use crate::error::ApiError;
use crate::session::Caller;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use understudy_proto::ErrorKind;

/// A JSON body whose every failure (malformed JSON, wrong type, missing field) is a 400
/// `400006 Invalid params: <where>: <what>`.
///
/// The content type is not checked, since curl users often omit it, and an empty body reads
/// as `{}` (the NextJS demo posts `create_token` with no body).
#[derive(Debug)]
pub struct HeyJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HeyJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid_params(e.body_text()))?;
        parse_json(&bytes).map(HeyJson)
    }
}

/// Parses a body with the path of the offending field in the error.
///
/// # Errors
/// `400006 Invalid params` naming the field and the problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid_params(inner.to_string())
        } else {
            ApiError::invalid_params(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid_params(e.to_string()))?;
    Ok(value)
}

/// The caller's credentials, from `Authorization: Bearer <session token>` or `X-Api-Key`
/// (header names are case-insensitive in HTTP, so every SDK spelling matches).
///
/// A Bearer token is tried first; an unknown or expired one falls back to the API key if the
/// request also carries one. Anything else is 401 `400112 Unauthorized`.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = bearer_token(parts).and_then(|token| state.caller_for_token(token)) {
            return Ok(caller);
        }
        api_key(parts, state).ok_or_else(|| ApiError::new(ErrorKind::Unauthorized))
    }
}

/// Only an API key will do: `create_token` and the account-wide routes.
#[derive(Debug, Clone)]
pub struct ApiKey(pub String);

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        api_key(parts, state)
            .map(|c| ApiKey(c.api_key))
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized))
    }
}

/// The token of `Authorization: Bearer <token>`, if the request carries one.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The caller of an `X-Api-Key` the configured policy accepts.
pub(crate) fn api_key(parts: &Parts, state: &AppState) -> Option<Caller> {
    let key = parts.headers.get("x-api-key")?.to_str().ok()?.trim();
    state.config().auth.accepts(key).then(|| Caller {
        api_key: key.to_owned(),
        token: None,
    })
}
