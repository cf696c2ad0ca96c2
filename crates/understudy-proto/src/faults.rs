//! Fault rules: how a test tells the mock to fail the way the real service does, on demand
//! (`/__understudy/faults`). One rule is a match (a REST path, or a channel: the chat socket,
//! the room, the realtime endpoint, a session, a token), one action, and when it fires (every
//! time, the first N times, after N matches, with a probability under a seed).
//!
//! The JSON is flat, as in `{"on": "/v1/streaming.task", "respond": {"status": 500, "code":
//! 10000, "message": "boom"}, "times": 1}`; [`Fault`] builds the same rules in Rust.

use serde::{Deserialize, Serialize};

/// Where a rule applies: `on` is a REST path (`/v1/streaming.task`) or one of these channels.
pub const CHAT_SOCKET: &str = "chat_socket";
pub const ROOM: &str = "room";
pub const REALTIME: &str = "realtime";
pub const SESSION: &str = "session";
pub const TOKEN: &str = "token";

/// An HTTP answer in HeyGen's error envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Respond {
    /// The HTTP status; when left out, the catalogue's for `code` (else 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The HeyGen `code`; when left out, the catalogue's first for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The `message`; when left out, the catalogue's for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A WebSocket close frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    pub code: u16,
    #[serde(default)]
    pub reason: String,
}

/// Network trouble on the avatar's media: each part optional, at least one given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Impair {
    /// Chance, 0 to 1, that a video frame or audio packet is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_loss: Option<f64>,
    /// Each frame or packet is held up to this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// The media's rate cap, each track; what passes it is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_kbps: Option<u64>,
}

/// How a session ends when told to expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    IdleTimeout,
    DurationLimit,
}

/// The connection quality the room reports for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    Excellent,
    Good,
    Poor,
    Lost,
}

/// One rule, as the admin API takes it. Exactly one action field is set (`delay_ms` may
/// come with `respond`, to answer late).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// A REST path, or one of [`CHAT_SOCKET`], [`ROOM`], [`REALTIME`], [`SESSION`], [`TOKEN`].
    pub on: String,
    /// Only this session's requests or connections (REST: its `session_id` in the body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// REST: a JSON object whose fields the request body must contain, recursively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// With `on: "token"`: the session token to expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,

    // REST actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Respond>,
    /// Answers this much later (REST), or sends the channel's events this much later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Closes the connection without an answer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop_connection: bool,
    /// Answers 200 with a body that is not JSON.
    #[serde(default, skip_serializing_if = "is_false")]
    pub malformed_body: bool,

    // Chat socket and realtime actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<Close>,
    /// Drops the socket without a close frame (the room: the signalling socket, no leave).
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
    /// Drops the channel's events instead of sending them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop_events: bool,

    // Room actions.
    /// Sends a LiveKit `leave` with this `DisconnectReason` number (5 is ROOM_DELETED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave: Option<i32>,
    /// Closes the avatar's peer connection (what an ICE failure looks like to the client).
    #[serde(default, skip_serializing_if = "is_false")]
    pub kill_media: bool,
    /// Stops sending video (a frozen avatar).
    #[serde(default, skip_serializing_if = "is_false")]
    pub freeze_video: bool,
    /// Stops sending audio.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mute_audio: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_quality: Option<Quality>,
    /// Packet loss, jitter and a bandwidth cap on the avatar's tracks (drawn from `seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impair: Option<Impair>,

    // Session and token actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire: Option<Expiry>,

    // When it fires.
    /// At most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Not on the first `after` matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// On each match with this probability, drawn from `seed` (0 if left out), so the same
    /// matches fire on every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A rule as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultStatus {
    pub id: u64,
    pub rule: FaultRule,
    /// Requests or connections the rule matched.
    pub matched: u64,
    /// How many of those it acted on.
    pub fired: u64,
}

/// What the admin API answers when it adds a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultAdded {
    pub id: u64,
}

/// Builds a [`FaultRule`] in the spirit of wiremock-rs:
/// `Fault::on("/v1/streaming.task").respond(500).times(1)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fault(FaultRule);

impl Fault {
    /// A rule on a REST path or a channel ([`CHAT_SOCKET`], [`ROOM`], …).
    pub fn on(on: impl Into<String>) -> Self {
        Self(FaultRule {
            on: on.into(),
            ..FaultRule::default()
        })
    }

    pub fn for_session(mut self, session_id: impl Into<String>) -> Self {
        self.0.session_id = Some(session_id.into());
        self
    }

    pub fn body_contains(mut self, body: serde_json::Value) -> Self {
        self.0.body = Some(body);
        self
    }

    /// Answers with `status` and the catalogue's code and message for it.
    pub fn respond(mut self, status: u16) -> Self {
        self.0.respond = Some(Respond {
            status: Some(status),
            ..Respond::default()
        });
        self
    }

    /// Answers with this HeyGen error.
    pub fn respond_with(mut self, status: u16, code: i64, message: impl Into<String>) -> Self {
        self.0.respond = Some(Respond {
            status: Some(status),
            code: Some(code),
            message: Some(message.into()),
        });
        self
    }

    pub fn delay(mut self, delay: std::time::Duration) -> Self {
        self.0.delay_ms = Some(delay.as_millis() as u64);
        self
    }

    pub fn drop_connection(mut self) -> Self {
        self.0.drop_connection = true;
        self
    }

    pub fn malformed_body(mut self) -> Self {
        self.0.malformed_body = true;
        self
    }

    pub fn close(mut self, code: u16, reason: impl Into<String>) -> Self {
        self.0.close = Some(Close {
            code,
            reason: reason.into(),
        });
        self
    }

    pub fn drop(mut self) -> Self {
        self.0.drop = true;
        self
    }

    pub fn drop_events(mut self) -> Self {
        self.0.drop_events = true;
        self
    }

    pub fn leave(mut self, disconnect_reason: i32) -> Self {
        self.0.leave = Some(disconnect_reason);
        self
    }

    pub fn kill_media(mut self) -> Self {
        self.0.kill_media = true;
        self
    }

    pub fn freeze_video(mut self) -> Self {
        self.0.freeze_video = true;
        self
    }

    pub fn mute_audio(mut self) -> Self {
        self.0.mute_audio = true;
        self
    }

    pub fn connection_quality(mut self, quality: Quality) -> Self {
        self.0.connection_quality = Some(quality);
        self
    }

    pub fn impair(mut self, impair: Impair) -> Self {
        self.0.impair = Some(impair);
        self
    }

    pub fn expire(mut self, expiry: Expiry) -> Self {
        self.0.expire = Some(expiry);
        self
    }

    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.0.token = Some(token.into());
        self
    }

    pub fn times(mut self, n: u64) -> Self {
        self.0.times = Some(n);
        self
    }

    pub fn after(mut self, n: u64) -> Self {
        self.0.after = Some(n);
        self
    }

    pub fn probability(mut self, p: f64, seed: u64) -> Self {
        self.0.probability = Some(p);
        self.0.seed = Some(seed);
        self
    }

    pub fn rule(&self) -> &FaultRule {
        &self.0
    }

    pub fn into_rule(self) -> FaultRule {
        self.0
    }
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> Self {
        fault.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_issues_example_parses_and_the_builder_makes_the_same_rule() {
        let parsed: FaultRule = serde_json::from_value(json!({
            "on": "/v1/streaming.task",
            "respond": {"status": 500, "code": 10000, "message": "boom"},
            "times": 1
        }))
        .unwrap();
        let built: FaultRule = Fault::on("/v1/streaming.task")
            .respond_with(500, 10000, "boom")
            .times(1)
            .into();
        assert_eq!(parsed, built);
        assert_eq!(
            serde_json::to_value(&built).unwrap(),
            json!({"on": "/v1/streaming.task", "respond": {"status": 500, "code": 10000, "message": "boom"}, "times": 1})
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let wrong = serde_json::from_value::<FaultRule>(json!({"on": "room", "leav": 5}));
        assert!(wrong.unwrap_err().to_string().contains("leav"));
    }
}
