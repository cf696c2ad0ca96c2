//! Secrets out of what the mock shows: API keys and tokens are replaced, in the request journal
//! and in logs, by a short fingerprint, so a test can still tell which secret was sent
//! (`fingerprint(secret)`) without any export holding the secret itself.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Header names whose values are secrets.
const SECRET_HEADERS: [&str; 3] = ["x-api-key", "authorization", "cookie"];
/// Query parameters and JSON keys whose values are secrets.
const SECRET_FIELDS: [&str; 5] = [
    "session_token",
    "access_token",
    "token",
    "api_key",
    "livekit_agent_token",
];

/// What a secret is replaced by: `<redacted sha256:xxxxxxxx>`, the first 8 hex digits of its
/// SHA-256.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("<redacted sha256:{hex}>")
}

/// A header's value as it may be shown: `Authorization: Bearer <redacted …>` keeps its scheme.
pub fn header(name: &str, value: &str) -> String {
    if !SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return value.to_owned();
    }
    match value.split_once(' ') {
        Some((scheme, credential)) if name.eq_ignore_ascii_case("authorization") => {
            format!("{scheme} {}", fingerprint(credential))
        }
        _ => fingerprint(value),
    }
}

/// A query string with its secret parameters' values replaced.
pub fn query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if SECRET_FIELDS.contains(&name) => {
                format!("{name}={}", fingerprint(value))
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A JSON value with every secret field (at any depth) replaced.
pub fn json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(secret) if SECRET_FIELDS.contains(&key.as_str()) => {
                        *secret = fingerprint(secret);
                    }
                    other => json(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_fingerprints_and_the_rest_is_kept() {
        assert_eq!(header("X-Api-Key", "k1"), fingerprint("k1"));
        assert_eq!(
            header("authorization", "Bearer tok"),
            format!("Bearer {}", fingerprint("tok"))
        );
        assert_eq!(
            header("content-type", "application/json"),
            "application/json"
        );
        assert_eq!(
            query("session_id=s1&session_token=tok&silence_response=false"),
            format!(
                "session_id=s1&session_token={}&silence_response=false",
                fingerprint("tok")
            )
        );
        let mut body = serde_json::json!({"data": {"token": "t", "session_id": "s", "list": [{"access_token": "a"}]}});
        json(&mut body);
        assert_eq!(body["data"]["token"], fingerprint("t"));
        assert_eq!(body["data"]["session_id"], "s");
        assert_eq!(body["data"]["list"][0]["access_token"], fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }
}
