//! The fault rules a test has set (`/__understudy/faults`, `MockServer::fault`): which request
//! or connection each matches, whether it fires this time, and what it does. Pure bookkeeping
//! under one lock; the routes, the chat socket, the realtime socket and the room act on what
//! it returns, and journal it.
//!
//! REST rules are asked per request ([`Faults::for_request`]). Channel rules are asked per
//! connection, once per rule: when the connection opens and whenever the rules change
//! ([`Faults::changes`]), so a rule added mid-session reaches connections already open.
//! Session and token rules act once, when added.

use crate::livekit::shaper::Impairment;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use understudy_proto::ErrorKind;
use understudy_proto::faults::{
    CHAT_SOCKET, Close, Expiry, FaultRule, FaultStatus, Quality, REALTIME, ROOM, SESSION, TOKEN,
};

/// Rules one server holds; more are refused (a test adding rules in a loop would otherwise
/// grow it without bound).
pub const MAX_RULES: usize = 1000;

/// What a REST rule does to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFault {
    pub delay: Option<Duration>,
    pub answer: HttpAnswer,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HttpAnswer {
    /// The normal answer (after the delay).
    Normal,
    Error {
        status: u16,
        code: i64,
        message: String,
    },
    DropConnection,
    MalformedBody,
}

/// What a channel rule does to a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelFault {
    Close(Close),
    /// Gone without a close frame (the room: without a leave).
    Drop,
    DelayEvents(Duration),
    DropEvents,
    Leave(i32),
    KillMedia,
    FreezeVideo,
    MuteAudio,
    ConnectionQuality(Quality),
    /// Network trouble on the avatar's tracks, drawn from this seed.
    Impair(Impairment, u64),
}

/// What a session or token rule does, once, when it is added.
#[derive(Debug, Clone, PartialEq)]
pub enum ImmediateFault {
    ExpireSession { session_id: String, expiry: Expiry },
    ExpireToken(String),
}

impl HttpFault {
    /// In words, for the journal.
    pub fn describe(&self) -> String {
        let answer = match &self.answer {
            HttpAnswer::Normal => String::new(),
            HttpAnswer::Error { status, code, .. } => format!("respond {status} {code}"),
            HttpAnswer::DropConnection => "drop_connection".into(),
            HttpAnswer::MalformedBody => "malformed_body".into(),
        };
        match self.delay {
            Some(delay) if answer.is_empty() => format!("delay {} ms", delay.as_millis()),
            Some(delay) => format!("{answer} after {} ms", delay.as_millis()),
            None => answer,
        }
    }
}

impl ChannelFault {
    /// In words, for the journal.
    pub fn describe(&self) -> String {
        match self {
            ChannelFault::Close(close) => format!("close {} {}", close.code, close.reason),
            ChannelFault::Drop => "drop".into(),
            ChannelFault::DelayEvents(delay) => format!("delay events {} ms", delay.as_millis()),
            ChannelFault::DropEvents => "drop_events".into(),
            ChannelFault::Leave(reason) => format!("leave {reason}"),
            ChannelFault::KillMedia => "kill_media".into(),
            ChannelFault::FreezeVideo => "freeze_video".into(),
            ChannelFault::MuteAudio => "mute_audio".into(),
            ChannelFault::ConnectionQuality(q) => format!("connection_quality {q:?}"),
            ChannelFault::Impair(i, _) => format!(
                "impair loss {} jitter {} ms bandwidth {}",
                i.loss,
                i.jitter.as_millis(),
                i.bandwidth_bps
                    .map_or("unlimited".to_owned(), |b| format!("{} kbit/s", b / 1000))
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Action {
    Http(HttpFault),
    Channel(ChannelFault),
    Immediate(ImmediateFault),
}

#[derive(Debug)]
struct Entry {
    id: u64,
    rule: FaultRule,
    action: Action,
    matched: u64,
    fired: u64,
    rng: StdRng,
}

impl Entry {
    /// Counts a match and says whether the rule fires on it.
    fn fires(&mut self) -> bool {
        self.matched += 1;
        if self.rule.times.is_some_and(|times| self.fired >= times) {
            return false;
        }
        if self.rule.after.is_some_and(|after| self.matched <= after) {
            return false;
        }
        if let Some(p) = self.rule.probability {
            // Drawn on every match past `after`, so the same matches fire each run.
            if self.rng.random::<f64>() >= p {
                return false;
            }
        }
        self.fired += 1;
        true
    }
}

/// A server's fault rules.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
    changes: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Entry>,
    next_id: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            changes: watch::channel(0).0,
        }
    }
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule. Returns its id and, for a session or token rule, what to do now (the
    /// rule is counted as fired).
    ///
    /// # Errors
    /// A sentence saying what is wrong with the rule.
    pub fn add(&self, rule: FaultRule) -> Result<(u64, Option<ImmediateFault>), String> {
        let action = action_of(&rule)?;
        let mut inner = self.lock();
        if inner.rules.len() >= MAX_RULES {
            return Err(format!(
                "at most {MAX_RULES} fault rules at once: delete some first"
            ));
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let mut entry = Entry {
            id,
            rng: StdRng::seed_from_u64(rule.seed.unwrap_or(0)),
            rule,
            action,
            matched: 0,
            fired: 0,
        };
        let immediate = match entry.action.clone() {
            Action::Immediate(now) => entry.fires().then_some(now),
            _ => None,
        };
        inner.rules.push(entry);
        drop(inner);
        self.changes.send_modify(|n| *n += 1);
        Ok((id, immediate))
    }

    pub fn list(&self) -> Vec<FaultStatus> {
        self.lock()
            .rules
            .iter()
            .map(|e| FaultStatus {
                id: e.id,
                rule: e.rule.clone(),
                matched: e.matched,
                fired: e.fired,
            })
            .collect()
    }

    /// Removes rule `id`; whether it was there.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|e| e.id != id);
        before != inner.rules.len()
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Bumped whenever a rule is added, so open connections look again.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The first REST rule that matches `path` and `body` and fires now, and its id.
    pub fn for_request(&self, path: &str, body: &[u8]) -> Option<(u64, HttpFault)> {
        let mut inner = self.lock();
        if !inner
            .rules
            .iter()
            .any(|e| matches!(e.action, Action::Http(_)) && e.rule.on == path)
        {
            return None;
        }
        let body: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        for entry in inner.rules.iter_mut() {
            let Action::Http(fault) = &entry.action else {
                continue;
            };
            if entry.rule.on != path || !body_matches(&entry.rule, body.as_ref()) {
                continue;
            }
            let fault = fault.clone();
            if entry.fires() {
                return Some((entry.id, fault));
            }
        }
        None
    }

    /// Channel rules on `channel` for `session_id` that this connection has not yet been
    /// matched against (`seen`), that fire now.
    pub fn for_connection(
        &self,
        channel: &str,
        session_id: &str,
        seen: &mut HashSet<u64>,
    ) -> Vec<(u64, ChannelFault)> {
        let mut inner = self.lock();
        let mut fired = Vec::new();
        for entry in inner.rules.iter_mut() {
            let Action::Channel(fault) = &entry.action else {
                continue;
            };
            if entry.rule.on != channel
                || entry
                    .rule
                    .session_id
                    .as_deref()
                    .is_some_and(|id| id != session_id)
                || !seen.insert(entry.id)
            {
                continue;
            }
            let fault = fault.clone();
            if entry.fires() {
                fired.push((entry.id, fault));
            }
        }
        fired
    }
}

/// Whether a REST request's body meets the rule's `session_id` and `body` matches.
fn body_matches(rule: &FaultRule, body: Option<&serde_json::Value>) -> bool {
    let session_ok = rule.session_id.as_deref().is_none_or(|id| {
        body.and_then(|b| b.get("session_id"))
            .and_then(|v| v.as_str())
            == Some(id)
    });
    let subset_ok = rule
        .body
        .as_ref()
        .is_none_or(|want| body.is_some_and(|got| contains(got, want)));
    session_ok && subset_ok
}

/// Whether `got` holds every field of `want`, recursively (arrays and scalars compare whole).
fn contains(got: &serde_json::Value, want: &serde_json::Value) -> bool {
    match (got, want) {
        (serde_json::Value::Object(got), serde_json::Value::Object(want)) => want
            .iter()
            .all(|(k, w)| got.get(k).is_some_and(|g| contains(g, w))),
        _ => got == want,
    }
}

/// The one action a rule names, checked against where it applies.
fn action_of(rule: &FaultRule) -> Result<Action, String> {
    if let Some(p) = rule.probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("probability must be between 0 and 1, got {p}"));
        }
    }
    let mut named: Vec<&str> = Vec::new();
    let mut name = |set: bool, field: &'static str| {
        if set {
            named.push(field);
        }
    };
    name(rule.respond.is_some(), "respond");
    name(rule.drop_connection, "drop_connection");
    name(rule.malformed_body, "malformed_body");
    name(rule.close.is_some(), "close");
    name(rule.drop, "drop");
    name(rule.drop_events, "drop_events");
    name(rule.leave.is_some(), "leave");
    name(rule.kill_media, "kill_media");
    name(rule.freeze_video, "freeze_video");
    name(rule.mute_audio, "mute_audio");
    name(rule.connection_quality.is_some(), "connection_quality");
    name(rule.impair.is_some(), "impair");
    name(rule.expire.is_some(), "expire");
    let delay = rule.delay_ms.map(Duration::from_millis);
    let only = |allowed: &[&str]| -> Result<Option<&str>, String> {
        if named.len() > 1 {
            return Err(format!(
                "a rule has one action; this one names {}",
                named.join(" and ")
            ));
        }
        match named.first() {
            Some(n) if !allowed.contains(n) => Err(format!(
                "{n} does not apply to {:?}; it takes {}",
                rule.on,
                allowed.join(", ")
            )),
            other => Ok(other.copied()),
        }
    };
    match rule.on.as_str() {
        path if path.starts_with('/') => {
            if rule.token.is_some() {
                return Err("token applies only to \"on\": \"token\"".into());
            }
            let answer = match only(&["respond", "drop_connection", "malformed_body"])? {
                Some("respond") => http_error(rule.respond.as_ref().expect("named"))?,
                Some("drop_connection") => HttpAnswer::DropConnection,
                Some("malformed_body") => HttpAnswer::MalformedBody,
                _ if delay.is_some() => HttpAnswer::Normal,
                _ => return Err(no_action(rule)),
            };
            Ok(Action::Http(HttpFault { delay, answer }))
        }
        CHAT_SOCKET | REALTIME | ROOM => {
            if rule.body.is_some() || rule.token.is_some() {
                return Err("body and token apply only to REST and token rules".into());
            }
            let allowed: &[&str] = if rule.on == ROOM {
                &[
                    "leave",
                    "drop",
                    "kill_media",
                    "freeze_video",
                    "mute_audio",
                    "connection_quality",
                    "impair",
                ]
            } else {
                &["close", "drop", "drop_events"]
            };
            let fault = match only(allowed)? {
                Some("close") => ChannelFault::Close(rule.close.clone().expect("named")),
                Some("drop") => ChannelFault::Drop,
                Some("drop_events") => ChannelFault::DropEvents,
                Some("leave") => ChannelFault::Leave(rule.leave.expect("named")),
                Some("kill_media") => ChannelFault::KillMedia,
                Some("freeze_video") => ChannelFault::FreezeVideo,
                Some("mute_audio") => ChannelFault::MuteAudio,
                Some("connection_quality") => {
                    ChannelFault::ConnectionQuality(rule.connection_quality.expect("named"))
                }
                Some("impair") => impairment(rule.impair.expect("named"), rule.seed)?,
                _ if rule.on != ROOM && delay.is_some() => {
                    ChannelFault::DelayEvents(delay.expect("checked"))
                }
                _ => return Err(no_action(rule)),
            };
            if delay.is_some() && !matches!(fault, ChannelFault::DelayEvents(_)) {
                return Err("delay_ms on a channel delays its events: give it alone".into());
            }
            Ok(Action::Channel(fault))
        }
        SESSION => {
            let Some(session_id) = rule.session_id.clone() else {
                return Err("a session rule needs session_id".into());
            };
            match only(&["expire"])? {
                Some(_) => Ok(Action::Immediate(ImmediateFault::ExpireSession {
                    session_id,
                    expiry: rule.expire.expect("named"),
                })),
                None => Err(no_action(rule)),
            }
        }
        TOKEN => {
            let Some(token) = rule.token.clone() else {
                return Err("a token rule needs token".into());
            };
            if !named.is_empty() || delay.is_some() {
                return Err("a token rule expires its token and takes no action field".into());
            }
            Ok(Action::Immediate(ImmediateFault::ExpireToken(token)))
        }
        other => Err(format!(
            "on must be a REST path (\"/v1/streaming.task\") or one of {CHAT_SOCKET}, {ROOM}, {REALTIME}, {SESSION}, {TOKEN}; got {other:?}"
        )),
    }
}

/// An `impair` action checked: a loss between 0 and 1, at least one part given.
fn impairment(
    impair: understudy_proto::faults::Impair,
    seed: Option<u64>,
) -> Result<ChannelFault, String> {
    let loss = impair.packet_loss.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&loss) {
        return Err(format!(
            "impair.packet_loss must be between 0 and 1, got {loss}"
        ));
    }
    if impair.packet_loss.is_none() && impair.jitter_ms.is_none() && impair.bandwidth_kbps.is_none()
    {
        return Err("impair needs packet_loss, jitter_ms or bandwidth_kbps".into());
    }
    if impair.bandwidth_kbps == Some(0) {
        return Err(
            "impair.bandwidth_kbps must be above 0 (freeze_video and mute_audio stop the media)"
                .into(),
        );
    }
    Ok(ChannelFault::Impair(
        Impairment {
            loss,
            jitter: Duration::from_millis(impair.jitter_ms.unwrap_or(0)),
            bandwidth_bps: impair.bandwidth_kbps.map(|k| k * 1000),
        },
        seed.unwrap_or(0),
    ))
}

fn no_action(rule: &FaultRule) -> String {
    format!("the rule on {:?} names no action", rule.on)
}

/// A `respond` filled in from the catalogue where it leaves fields out.
fn http_error(respond: &understudy_proto::faults::Respond) -> Result<HttpAnswer, String> {
    let by_code = respond
        .code
        .and_then(|code| ErrorKind::ALL.into_iter().find(|k| k.code() == code));
    let status = respond
        .status
        .or(by_code.map(ErrorKind::http_status))
        .unwrap_or(500);
    if !(100..=599).contains(&status) {
        return Err(format!(
            "status must be an HTTP status (100-599), got {status}"
        ));
    }
    let by_status = ErrorKind::ALL
        .into_iter()
        .find(|k| k.http_status() == status);
    let kind = by_code.or(by_status).unwrap_or(ErrorKind::Internal);
    Ok(HttpAnswer::Error {
        status,
        code: respond.code.unwrap_or(kind.code()),
        message: respond
            .message
            .clone()
            .unwrap_or_else(|| kind.message().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use understudy_proto::faults::Fault;

    #[test]
    fn times_and_after_count_matches() {
        let faults = Faults::default();
        faults
            .add(
                Fault::on("/v1/streaming.task")
                    .respond(500)
                    .after(1)
                    .times(2)
                    .into(),
            )
            .unwrap();
        let fired: Vec<bool> = (0..5)
            .map(|_| faults.for_request("/v1/streaming.task", b"{}").is_some())
            .collect();
        assert_eq!(fired, [false, true, true, false, false]);
        assert_eq!(faults.for_request("/v1/streaming.new", b"{}"), None);
        let status = &faults.list()[0];
        assert_eq!((status.matched, status.fired), (5, 2));
    }

    #[test]
    fn a_probability_under_a_seed_fires_on_the_same_matches_every_time() {
        let run = || {
            let faults = Faults::default();
            faults
                .add(
                    Fault::on("/v1/streaming.task")
                        .respond(500)
                        .probability(0.5, 7)
                        .into(),
                )
                .unwrap();
            (0..40)
                .map(|_| faults.for_request("/v1/streaming.task", b"{}").is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let fired = first.iter().filter(|f| **f).count();
        assert!((8..32).contains(&fired), "{fired} of 40");
    }

    #[test]
    fn bodies_and_sessions_narrow_a_rest_rule() {
        let faults = Faults::default();
        faults
            .add(
                Fault::on("/v1/streaming.task")
                    .for_session("s1")
                    .body_contains(serde_json::json!({"task_type": "talk"}))
                    .respond(500)
                    .into(),
            )
            .unwrap();
        let ask = |body: &str| faults.for_request("/v1/streaming.task", body.as_bytes());
        assert!(ask(r#"{"session_id":"s2","task_type":"talk"}"#).is_none());
        assert!(ask(r#"{"session_id":"s1","task_type":"repeat"}"#).is_none());
        assert!(ask("not json").is_none());
        let (_, fault) = ask(r#"{"session_id":"s1","task_type":"talk","text":"x"}"#).unwrap();
        assert_eq!(
            fault.answer,
            HttpAnswer::Error {
                status: 500,
                code: 500,
                message: "Internal server error".into()
            }
        );
    }

    #[test]
    fn the_catalogue_fills_what_respond_leaves_out() {
        let filled = |respond| http_error(&respond).unwrap();
        let respond = understudy_proto::faults::Respond {
            code: Some(10007),
            ..Default::default()
        };
        assert_eq!(
            filled(respond),
            HttpAnswer::Error {
                status: 429,
                code: 10007,
                message: "Concurrent limit reached".into()
            }
        );
    }

    #[test]
    fn a_connection_meets_each_channel_rule_once() {
        let faults = Faults::default();
        faults
            .add(
                Fault::on(CHAT_SOCKET)
                    .for_session("s1")
                    .close(4000, "bye")
                    .into(),
            )
            .unwrap();
        let mut seen = HashSet::new();
        assert!(
            faults
                .for_connection(CHAT_SOCKET, "s2", &mut seen)
                .is_empty()
        );
        let fired = faults.for_connection(CHAT_SOCKET, "s1", &mut seen);
        assert_eq!(fired.len(), 1);
        assert!(
            faults
                .for_connection(CHAT_SOCKET, "s1", &mut seen)
                .is_empty()
        );
        assert_eq!(
            faults
                .for_connection(CHAT_SOCKET, "s1", &mut HashSet::new())
                .len(),
            1
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let faults = Faults::default();
        let refuse = |fault: Fault| faults.add(fault.into()).unwrap_err();
        assert!(refuse(Fault::on("/v1/streaming.task")).contains("no action"));
        assert!(refuse(Fault::on("/v1/streaming.task").leave(5)).contains("does not apply"));
        assert!(refuse(Fault::on("room").respond(500)).contains("does not apply"));
        assert!(refuse(Fault::on("elsewhere").drop()).contains("REST path"));
        assert!(refuse(Fault::on("/x").respond(500).drop_connection()).contains("one action"));
        assert!(refuse(Fault::on("session").expire(Expiry::IdleTimeout)).contains("session_id"));
        assert!(refuse(Fault::on("/x").respond(500).probability(2.0, 0)).contains("probability"));
        assert!(refuse(Fault::on("/x").respond(99)).contains("status"));
    }
}
