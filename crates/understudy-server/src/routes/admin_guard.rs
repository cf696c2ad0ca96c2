//! Who may use the admin API (`/__understudy`). It can end any session and read every request,
//! so with `admin_token` set it asks every caller for the secret, and without one it answers
//! loopback clients only (a server bound to another address still serves HeyGen's routes to
//! everyone).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};
use understudy_proto::ErrorKind;

/// Why a caller was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A secret is set and the caller did not send it (401).
    NoToken,
    /// No secret is set and the caller is not on loopback (403).
    NotLoopback,
}

/// Judges one call: `peer` is the client's address (`None` for a request that came through no
/// listener, as in-process tests send).
pub fn judge(
    admin_token: Option<&str>,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    match admin_token {
        Some(secret) => {
            let sent = headers
                .get("x-understudy-admin-token")
                .and_then(|v| v.to_str().ok())
                .or_else(|| {
                    headers
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                });
            if sent == Some(secret) {
                Ok(())
            } else {
                Err(Refusal::NoToken)
            }
        }
        // `::ffff:127.0.0.1` (an IPv4 client of a dual-stack listener) is loopback too.
        None if peer.is_some_and(|ip| !ip.to_canonical().is_loopback()) => {
            Err(Refusal::NotLoopback)
        }
        None => Ok(()),
    }
}

pub async fn admin_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    match judge(
        state.config().admin_token.as_deref(),
        peer,
        request.headers(),
    ) {
        Ok(()) => next.run(request).await,
        Err(Refusal::NoToken) => ApiError::with_detail(
            ErrorKind::Unauthorized,
            "the admin API needs the server's --admin-token (Authorization: Bearer or x-understudy-admin-token)",
        )
        .into_response(),
        Err(Refusal::NotLoopback) => (
            http::StatusCode::FORBIDDEN,
            axum::Json(understudy_proto::ErrorBody {
                code: 403,
                message: "the admin API answers only on loopback; start the server with --admin-token to open it"
                    .into(),
            }),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn without_a_token_only_loopback_gets_in() {
        let none = HeaderMap::new();
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(
                judge(None, Some(ip.parse().unwrap()), &none),
                Ok(()),
                "{ip}"
            );
        }
        for ip in ["10.0.0.7", "192.168.1.2", "2001:db8::1", "::ffff:10.0.0.7"] {
            assert_eq!(
                judge(None, Some(ip.parse().unwrap()), &none),
                Err(Refusal::NotLoopback),
                "{ip}"
            );
        }
        assert_eq!(judge(None, None, &none), Ok(()));
    }

    #[test]
    fn with_a_token_everyone_must_send_it() {
        let remote = Some("10.0.0.7".parse().unwrap());
        let local = Some("127.0.0.1".parse().unwrap());
        assert_eq!(
            judge(Some("s"), local, &HeaderMap::new()),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            judge(
                Some("s"),
                remote,
                &headers(&[("authorization", "Bearer t")])
            ),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            judge(
                Some("s"),
                remote,
                &headers(&[("authorization", "Bearer s")])
            ),
            Ok(())
        );
        assert_eq!(
            judge(
                Some("s"),
                remote,
                &headers(&[("x-understudy-admin-token", "s")])
            ),
            Ok(())
        );
    }
}
