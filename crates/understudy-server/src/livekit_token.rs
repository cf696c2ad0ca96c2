//! LiveKit access tokens: HS256 JWTs with LiveKit's `video` grant, as `streaming.new` returns in
//! `access_token` (for the client) and `livekit_agent_token` (for a backend agent).
//!
//! The claims follow LiveKit's token format (`iss` = API key, `sub` = identity, `video.room`,
//! `roomJoin`, `canPublish`, `canSubscribe`, `canPublishData`), so real LiveKit tooling can read
//! them; the signalling endpoint verifies them with the same secret.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `iss` of every token: the "API key" of Understudy's LiveKit.
pub const LIVEKIT_API_KEY: &str = "understudy";

/// Observed client tokens were valid for 24 h.
pub const TOKEN_VALIDITY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    pub room: String,
    pub room_join: bool,
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub can_publish_data: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveKitClaims {
    pub iss: String,
    pub sub: String,
    pub name: String,
    pub nbf: i64,
    pub exp: i64,
    pub video: VideoGrant,
}

/// Signs a token that lets `identity` join room `room` with full publish and subscribe rights.
///
/// # Errors
/// Only if the JWT library fails to sign, which HS256 with any key does not.
pub fn mint(
    secret: &[u8],
    room: &str,
    identity: &str,
    now_unix: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = LiveKitClaims {
        iss: LIVEKIT_API_KEY.to_owned(),
        sub: identity.to_owned(),
        name: identity.to_owned(),
        nbf: now_unix,
        exp: now_unix + TOKEN_VALIDITY.as_secs() as i64,
        video: VideoGrant {
            room: room.to_owned(),
            room_join: true,
            can_publish: true,
            can_subscribe: true,
            can_publish_data: true,
        },
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
}

/// Checks a token's signature and validity window and returns its claims.
///
/// # Errors
/// A bad signature, a malformed token, or one outside its validity window.
pub fn verify(secret: &[u8], token: &str) -> Result<LiveKitClaims, jsonwebtoken::errors::Error> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "sub"]);
    jsonwebtoken::decode::<LiveKitClaims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret),
        &validation,
    )
    .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_carries_the_room() {
        let now = crate::ids::unix_now();
        let token = mint(b"secret", "room-1", "client", now).unwrap();
        let claims = verify(b"secret", &token).unwrap();
        assert_eq!(claims.video.room, "room-1");
        assert_eq!(claims.sub, "client");
        assert!(claims.video.can_publish_data);
        assert!(verify(b"other", &token).is_err());
    }
}

/// The access token of a `/rtc` or `/rtc/validate` request, where a LiveKit server looks for
/// it (`livekit.md` §1.1): `Authorization: Bearer <token>` first (the Python and Rust LiveKit
/// SDKs send it there), else the `access_token` query parameter (livekit-client's way). An
/// `Authorization` header without the `Bearer ` prefix is refused, as LiveKit refuses it.
///
/// # Errors
/// The reason to answer 401 with.
pub fn from_request<'a>(
    headers: &'a axum::http::HeaderMap,
    query: &'a std::collections::HashMap<String, String>,
) -> Result<&'a str, &'static str> {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    from_parts(authorization, query.get("access_token").map(String::as_str))
}

fn from_parts<'a>(
    authorization: Option<&'a str>,
    query_token: Option<&'a str>,
) -> Result<&'a str, &'static str> {
    match authorization {
        Some(value) => value
            .strip_prefix("Bearer ")
            .filter(|t| !t.is_empty())
            .ok_or("the authorization header is not a Bearer token"),
        None => query_token.ok_or("missing access_token"),
    }
}

#[cfg(test)]
mod request_tests {
    use super::from_parts as from_request;

    #[test]
    fn the_header_wins_over_the_query_and_must_be_bearer() {
        assert_eq!(from_request(Some("Bearer h"), Some("q")), Ok("h"));
        assert_eq!(from_request(None, Some("q")), Ok("q"));
        assert!(from_request(Some("h"), Some("q")).is_err());
        assert!(from_request(Some("Bearer "), None).is_err());
        assert!(from_request(None, None).is_err());
    }
}
