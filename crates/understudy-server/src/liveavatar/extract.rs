//! LiveAvatar's credentials and bodies (`liveavatar.md` §1.1): `X-API-KEY` for minting and the
//! account's reads, the session token as `Authorization: Bearer` for `start` (only), `stop` and
//! `keep-alive`. A wrong kind is 401, as HeyGen's guide warns.

use super::error::LiveAvatarError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body; an empty one reads as `{}` (the web SDK posts `start` and `stop` with none).
/// Anything that does not validate is FastAPI's 422, naming the field.
#[derive(Debug)]
pub struct LiveAvatarJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for LiveAvatarJson<T> {
    type Rejection = LiveAvatarError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| LiveAvatarError::invalid(&["body"], e.body_text(), "value_error"))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            // serde names a missing field in its message; FastAPI puts it in `loc`.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned);
            let mut loc = vec!["body".to_owned()];
            loc.extend(path.split('.').filter(|p| !p.is_empty()).map(str::to_owned));
            let (msg, kind) = match missing {
                Some(field) => {
                    loc.push(field);
                    ("Field required".to_owned(), "missing")
                }
                None if inner.is_syntax() || inner.is_eof() => {
                    (format!("JSON decode error: {message}"), "json_invalid")
                }
                None => (message, "value_error"),
            };
            let loc: Vec<&str> = loc.iter().map(String::as_str).collect();
            LiveAvatarError::invalid(&loc, msg, kind)
        })?;
        de.end()
            .map_err(|e| LiveAvatarError::invalid(&["body"], e.to_string(), "json_invalid"))?;
        Ok(Self(value))
    }
}

/// An account's API key (`X-API-KEY`).
#[derive(Debug, Clone)]
pub struct AccountKey(pub String);

impl FromRequestParts<AppState> for AccountKey {
    type Rejection = LiveAvatarError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        api_key(parts, state)
            .map(AccountKey)
            .ok_or(LiveAvatarError::Unauthorized("Invalid or missing API key"))
    }
}

/// A session token, and the session it stands for.
#[derive(Debug, Clone)]
pub struct SessionToken {
    pub session_id: String,
}

impl FromRequestParts<AppState> for SessionToken {
    type Rejection = LiveAvatarError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_token(parts, state).ok_or(LiveAvatarError::Unauthorized(
            "Invalid or missing session token",
        ))
    }
}

/// `stop` and `keep-alive` take either credential.
#[derive(Debug, Clone)]
pub enum EitherCredential {
    Session(SessionToken),
    Account(String),
}

impl FromRequestParts<AppState> for EitherCredential {
    type Rejection = LiveAvatarError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = session_token(parts, state) {
            return Ok(Self::Session(token));
        }
        api_key(parts, state)
            .map(Self::Account)
            .ok_or(LiveAvatarError::Unauthorized(
                "Invalid or missing credentials",
            ))
    }
}

fn api_key(parts: &Parts, state: &AppState) -> Option<String> {
    crate::extract::api_key(parts, state).map(|caller| caller.api_key)
}

/// A Bearer token minted by `/v1/sessions/token` (a Streaming API token does not count), not
/// past its lifetime.
fn session_token(parts: &Parts, state: &AppState) -> Option<SessionToken> {
    let token = crate::extract::bearer_token(parts)?;
    state.caller_for_token(token)?;
    let registry = state.registry();
    let session_id = registry.token(token)?.used_by.clone()?;
    let minted_here = registry
        .session(&session_id)
        .and_then(|s| s.liveavatar.as_ref())
        .is_some_and(|la| la.token == token);
    minted_here.then_some(SessionToken { session_id })
}
