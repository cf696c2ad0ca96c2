//! Identifiers shaped like the real ones: time-based UUID v1 for sessions and tasks
//! (`xxxxxxxx-xxxx-11ef-...`), and session tokens that are base64 of a small JSON object.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// A UUID v1 from the wall clock and a random node id, as HeyGen's session and task ids are.
pub fn time_uuid() -> String {
    let node: [u8; 6] = rand::rng().random();
    Uuid::now_v1(&node).to_string()
}

/// A session token in the observed format: base64 of
/// `{"token": "<32 hex>", "token_type": "sa_from_trial", "created_at": <unix>}`.
pub fn session_token(token_type: &str) -> String {
    let secret: [u8; 16] = rand::rng().random();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let json = serde_json::json!({
        "token": hex,
        "token_type": token_type,
        "created_at": unix_now(),
    });
    STANDARD.encode(json.to_string())
}

/// A LiveKit participant sid, `PA_` and 12 random base-62 characters, as a LiveKit server
/// gives each connection its own (a second tab of one identity gets another).
pub fn participant_sid() -> String {
    let tail: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(12)
        .map(char::from)
        .collect();
    format!("PA_{tail}")
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_one_uuids() {
        let id = time_uuid();
        let parsed = Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 1);
        assert_ne!(id, time_uuid());
    }

    #[test]
    fn tokens_decode_to_the_observed_json() {
        let token = session_token("sa_from_trial");
        let json: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(token).unwrap()).unwrap();
        assert_eq!(json["token_type"], "sa_from_trial");
        assert_eq!(json["token"].as_str().unwrap().len(), 32);
    }
}
