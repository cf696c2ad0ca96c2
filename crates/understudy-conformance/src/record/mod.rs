//! Record mode: a proxy between a client and a target that writes what it saw as a runnable
//! scenario, with the observed timings as expectations (with tolerances), and no secret in it.
//!
//! - `proxy`: the HTTP and chat-socket relay, and the room observer.
//! - here: what was seen ([`Recording`]), the scenario written from it, and the secret scan.

mod proxy;

use crate::matchers;
use prost::Message as _;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streaming_avatar::Event;
use streaming_avatar::proto::pipecat::{Frame, FrameKind};
use streaming_avatar::proto::rest::session::NewSessionData;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why a recording could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("nothing was recorded: no request reached the proxy")]
    Empty,
    #[error("a secret seen during the recording survived redaction ({0}); nothing was written")]
    SecretSurvived(String),
}

/// One thing the proxy saw.
#[derive(Debug, Clone)]
enum Entry {
    Rest {
        at: Instant,
        method: String,
        path: String,
        api_key: bool,
        /// The `Authorization: Bearer` token, if any.
        bearer: Option<String>,
        request: Value,
        status: u16,
        reply: Value,
    },
    /// Text the client sent on the chat socket (a pipecat `TextFrame`: a speak).
    ClientText { at: Instant, text: String },
    /// An avatar event the observer received.
    Event {
        at: Instant,
        name: String,
        task_id: Option<String>,
    },
}

/// Everything seen so far.
#[derive(Debug)]
pub(crate) struct Recording {
    entries: Vec<Entry>,
    secrets: BTreeSet<String>,
    session: Option<NewSessionData>,
    token: Option<String>,
    chat_socket: bool,
}

impl Recording {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            secrets: BTreeSet::new(),
            session: None,
            token: None,
            chat_socket: false,
        }
    }

    fn secret(&mut self, value: &str) {
        if value.len() >= 6 {
            self.secrets.insert(value.to_owned());
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rest(
        &mut self,
        at: Instant,
        method: &axum::http::Method,
        path: &str,
        headers: &axum::http::HeaderMap,
        request: Value,
        status: u16,
        reply: &Value,
    ) {
        // A browser's CORS preflight is the browser's business, not the client's call.
        if method == axum::http::Method::OPTIONS {
            return;
        }
        let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if let Some(key) = api_key {
            self.secret(key);
        }
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        if let Some(bearer) = &bearer {
            self.secret(bearer);
            self.token = Some(bearer.clone());
        }
        for path in [
            "data.token",
            "data.access_token",
            "data.livekit_agent_token",
        ] {
            if let Some(secret) = matchers::at_path(reply, path).and_then(Value::as_str) {
                self.secret(secret);
            }
        }
        if path == "/v1/streaming.new" && (200..300).contains(&status) {
            self.session = reply
                .get("data")
                .and_then(|d| serde_json::from_value(d.clone()).ok());
        }
        self.entries.push(Entry::Rest {
            at,
            method: method.to_string(),
            path: path.to_owned(),
            api_key: api_key.is_some(),
            bearer,
            request,
            status,
            reply: reply.clone(),
        });
    }

    pub(crate) fn chat_socket_opened(&mut self, query: Option<&str>) {
        self.chat_socket = true;
        for pair in query.unwrap_or_default().split('&') {
            if let Some(token) = pair.strip_prefix("session_token=") {
                self.secret(token);
            }
        }
    }

    pub(crate) fn client_frame(&mut self, at: Instant, bytes: &[u8]) {
        if let Ok(Frame {
            frame: Some(FrameKind::Text(text)),
        }) = Frame::decode(bytes)
        {
            if !text.text.trim().is_empty() {
                self.entries.push(Entry::ClientText {
                    at,
                    text: text.text,
                });
            }
        }
    }

    pub(crate) fn event(&mut self, event: &Event) {
        self.entries.push(Entry::Event {
            at: event.at,
            name: event.event.name().to_owned(),
            task_id: event.event.task_id().map(str::to_owned),
        });
    }

    pub(crate) fn observer_credential(&self) -> Option<String> {
        self.token.clone()
    }

    /// The scenario, as YAML.
    fn scenario(&self, name: &str) -> Result<String, RecordError> {
        let mut entries = self.entries.clone();
        entries.sort_by_key(|e| match e {
            Entry::Rest { at, .. } | Entry::ClientText { at, .. } | Entry::Event { at, .. } => *at,
        });
        let events: Vec<(Instant, String, Option<String>)> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Event { at, name, task_id } => Some((*at, name.clone(), task_id.clone())),
                _ => None,
            })
            .collect();
        // Tokens minted through the proxy: calls with any other bearer (a bad one, or one
        // minted elsewhere) are replayed with it redacted, as raw `http` steps.
        let minted: BTreeSet<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Rest { path, reply, .. } if path == "/v1/streaming.create_token" => {
                    matchers::at_path(reply, "data.token").and_then(Value::as_str)
                }
                _ => None,
            })
            .collect();
        // Client steps and the waits for what they caused, each at its own time: a wait goes
        // where its event came, among the client's later calls (an interrupt before a stop).
        let mut timed: Vec<(Instant, u8, Value)> = Vec::new();
        let mut speaks = 0;
        // HTTP speaks so far: their task id, variable, and when they stopped talking. A socket
        // speak's answer is the first task to start after it that is none of those.
        let mut http_tasks: Vec<(String, String, Option<Instant>)> = Vec::new();
        for entry in &entries {
            match entry {
                Entry::Rest {
                    at,
                    method,
                    path,
                    api_key,
                    bearer,
                    request,
                    status,
                    reply,
                } => {
                    let expect = expectation(*status, reply, path == "/v1/streaming.new");
                    let foreign = bearer.as_deref().is_some_and(|b| !minted.contains(b));
                    let step = match path.as_str() {
                        _ if foreign || method != "POST" => {
                            self.http_step(method, path, foreign, *api_key, request, expect)
                        }
                        "/v1/streaming.create_token" => json!({"create_token": {"expect": expect}}),
                        "/v1/streaming.new" => {
                            json!({"new": {"body": self.redacted(request), "expect": expect}})
                        }
                        "/v1/streaming.start" if (200..300).contains(status) => {
                            json!({"start": {"chat_socket": self.chat_socket}})
                        }
                        "/v1/streaming.start" => json!({"start_session": {"expect": expect}}),
                        "/v1/streaming.task" => {
                            speaks += 1;
                            let id = format!("speak{speaks}");
                            let task = format!("task{speaks}");
                            let mut speak = Map::new();
                            speak.insert("id".into(), json!(id));
                            speak.insert(
                                "text".into(),
                                request.get("text").cloned().unwrap_or(json!("")),
                            );
                            for field in ["task_type", "task_mode"] {
                                if let Some(v) = request.get(field) {
                                    speak.insert(field.into(), v.clone());
                                }
                            }
                            speak.insert("expect".into(), expect);
                            let task_id =
                                matchers::at_path(reply, "data.task_id").and_then(Value::as_str);
                            if task_id.is_some() {
                                speak.insert(
                                    "capture".into(),
                                    json!({ task.clone(): "data.task_id" }),
                                );
                            }
                            if let Some(task_id) = task_id {
                                for (t, wait) in waits_for_task(&events, *at, &id, task_id, &task) {
                                    timed.push((t, 1, wait));
                                }
                                let stopped = events.iter().find(|(_, name, t)| {
                                    name == "avatar_stop_talking" && t.as_deref() == Some(task_id)
                                });
                                http_tasks.push((
                                    task_id.to_owned(),
                                    task.clone(),
                                    stopped.map(|(at, _, _)| *at),
                                ));
                            }
                            json!({ "speak": speak })
                        }
                        "/v1/streaming.interrupt" => json!({"interrupt": {"expect": expect}}),
                        "/v1/streaming.keep_alive" => json!({"keep_alive": {"expect": expect}}),
                        "/v1/streaming.start_listening" => {
                            json!({"start_listening": {"expect": expect}})
                        }
                        "/v1/streaming.stop_listening" => {
                            json!({"stop_listening": {"expect": expect}})
                        }
                        "/v1/streaming.stop" => json!({"stop": {"expect": expect}}),
                        _ => self.http_step(method, path, false, *api_key, request, expect),
                    };
                    timed.push((*at, 0, step));
                }
                Entry::ClientText { at, text } => {
                    speaks += 1;
                    let id = format!("speak{speaks}");
                    let task = format!("task{speaks}");
                    timed.push((
                        *at,
                        0,
                        json!({"speak": {"id": id, "text": text, "path": "chat_socket"}}),
                    ));
                    // The avatar's answer: the first task to start after the text that no
                    // HTTP speak asked for; on replay, none of the HTTP tasks still talking.
                    let theirs: Vec<&str> =
                        http_tasks.iter().map(|(id, _, _)| id.as_str()).collect();
                    let pending: Vec<String> = http_tasks
                        .iter()
                        .filter(|(_, _, stopped)| stopped.is_none_or(|s| s > *at))
                        .map(|(_, var, _)| format!("${{{var}}}"))
                        .collect();
                    if let Some((started, _, Some(task_id))) =
                        events.iter().find(|(t, name, task)| {
                            t >= at
                                && name == "avatar_start_talking"
                                && task.as_deref().is_some_and(|task| !theirs.contains(&task))
                        })
                    {
                        let within = tolerance(started.saturating_duration_since(*at));
                        let mut wait = json!({
                            "event": "avatar_start_talking", "after": id,
                            "within_ms": within, "capture": { task.clone(): "task_id" }
                        });
                        if !pending.is_empty() {
                            wait["where"] =
                                json!({ "task_id": format!("$not {}", pending.join(",")) });
                        }
                        timed.push((*started, 1, json!({ "wait_event": wait })));
                        if let Some((t, stop)) = stop_wait(&events, *at, &id, task_id, &task) {
                            timed.push((t, 1, stop));
                        }
                    }
                }
                Entry::Event { .. } => {}
            }
        }
        timed.sort_by_key(|(at, order, _)| (*at, *order));
        let steps: Vec<Value> = timed.into_iter().map(|(_, _, step)| step).collect();
        if steps.is_empty() {
            return Err(RecordError::Empty);
        }
        let mut scenario = Map::new();
        scenario.insert("name".into(), json!(name));
        scenario.insert(
            "description".into(),
            json!("Recorded by `understudy record`: the client's calls, with the observed timings as expectations (tolerances: twice the observed time, at least one second more). Secrets were redacted."),
        );
        scenario.insert("tags".into(), json!(["recorded"]));
        scenario.insert("steps".into(), Value::Array(steps));
        let yaml =
            serde_saphyr::to_string(&Value::Object(scenario)).unwrap_or_else(|_| String::new());
        if let Some(secret) = self.secrets.iter().find(|s| yaml.contains(s.as_str())) {
            let shown: String = secret.chars().take(4).collect();
            return Err(RecordError::SecretSurvived(format!("{shown}…")));
        }
        Ok(yaml)
    }

    /// A raw `http` step. A call with a bearer token minted elsewhere (or a bad one) is
    /// replayed with the token redacted; others with the replay's own credential.
    fn http_step(
        &self,
        method: &str,
        path: &str,
        foreign: bool,
        api_key: bool,
        request: &Value,
        expect: Value,
    ) -> Value {
        let mut http = Map::new();
        http.insert("method".into(), json!(method));
        http.insert("path".into(), json!(path));
        if foreign {
            http.insert("auth".into(), json!("none"));
            http.insert(
                "headers".into(),
                json!({ "authorization": "Bearer <redacted>" }),
            );
        } else {
            http.insert(
                "auth".into(),
                json!(if api_key { "api_key" } else { "token" }),
            );
        }
        if !request.is_null() {
            http.insert("body".into(), self.redacted(request));
        }
        http.insert("expect".into(), expect);
        json!({ "http": http })
    }

    /// `value` with every string that is a secret seen in the recording replaced.
    fn redacted(&self, value: &Value) -> Value {
        match value {
            Value::String(s) if self.secrets.contains(s) => json!("<redacted>"),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redacted(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redacted(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Tolerance for an observed delay: twice it, and at least a second more, in whole 100 ms.
fn tolerance(observed: Duration) -> u64 {
    let ms = observed.as_millis() as u64;
    let allowed = (ms * 2).max(ms + 1000);
    allowed.div_ceil(100) * 100
}

/// The expectation for a reply: its status, HeyGen's code and message when there, and for
/// `new` the types of the data fields (ids and tokens differ on every run).
fn expectation(status: u16, reply: &Value, with_data_types: bool) -> Value {
    let mut body = Map::new();
    if let Some(code) = reply.get("code") {
        body.insert("code".into(), code.clone());
    }
    if status >= 400 {
        if let Some(message) = reply.get("message") {
            body.insert("message".into(), message.clone());
        }
    }
    if with_data_types {
        if let Some(Value::Object(data)) = reply.get("data") {
            let types: Map<String, Value> = data
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), json!(type_matcher(v))))
                .collect();
            body.insert("data".into(), Value::Object(types));
        }
    }
    if body.is_empty() {
        json!({ "status": status })
    } else {
        json!({ "status": status, "body": body })
    }
}

fn type_matcher(value: &Value) -> &'static str {
    match value {
        Value::String(s)
            if matchers::check(&json!("$uuid"), Some(value)).is_ok() && !s.is_empty() =>
        {
            "$uuid"
        }
        Value::String(_) => "$string",
        Value::Number(_) => "$number",
        Value::Bool(_) => "$bool",
        Value::Array(_) => "$array",
        Value::Object(_) => "$object",
        Value::Null => "$null",
    }
}

/// The avatar's start and stop of `task_id`, as waits measured from step `id` (asked at
/// `asked`), each with the time its event came.
fn waits_for_task(
    events: &[(Instant, String, Option<String>)],
    asked: Instant,
    id: &str,
    task_id: &str,
    var: &str,
) -> Vec<(Instant, Value)> {
    let mut steps = Vec::new();
    if let Some((started, _, _)) = events
        .iter()
        .find(|(_, name, t)| name == "avatar_start_talking" && t.as_deref() == Some(task_id))
    {
        steps.push((
            *started,
            json!({"wait_event": {
                "event": "avatar_start_talking", "where": { "task_id": format!("${{{var}}}") },
                "after": id, "within_ms": tolerance(started.saturating_duration_since(asked))
            }}),
        ));
        steps.extend(stop_wait(events, asked, id, task_id, var));
    }
    steps
}

fn stop_wait(
    events: &[(Instant, String, Option<String>)],
    asked: Instant,
    id: &str,
    task_id: &str,
    var: &str,
) -> Option<(Instant, Value)> {
    let (stopped, _, _) = events
        .iter()
        .find(|(_, name, t)| name == "avatar_stop_talking" && t.as_deref() == Some(task_id))?;
    Some((
        *stopped,
        json!({"wait_event": {
            "event": "avatar_stop_talking", "where": { "task_id": format!("${{{var}}}") },
            "after": id, "within_ms": tolerance(stopped.saturating_duration_since(asked))
        }}),
    ))
}

/// A running recording proxy.
#[derive(Debug)]
pub struct Recorder {
    addr: SocketAddr,
    recording: Arc<Mutex<Recording>>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Recorder {
    /// Listens on `listen` and forwards to `upstream` (a base URL like `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(upstream: &str, listen: SocketAddr) -> Result<Recorder, RecordError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| RecordError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| RecordError::Listen {
                addr: listen,
                source,
            })?;
        let recording = Arc::new(Mutex::new(Recording::new()));
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let app = proxy::router(proxy::Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            recording: Arc::clone(&recording),
            tasks: tasks.clone(),
            stop: stop.clone(),
        });
        let serving = stop.clone();
        tasks.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { serving.cancelled().await })
                .await;
        });
        Ok(Recorder {
            addr,
            recording,
            stop,
            tasks,
        })
    }

    /// Where clients point their `basePath`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the proxy and writes the scenario named `name` as YAML.
    ///
    /// # Errors
    /// Nothing was recorded, or a secret seen during the recording is still in the text.
    pub async fn finish(self, name: &str) -> Result<String, RecordError> {
        // Let the last events (the avatar's stop, the room's end) reach the observer.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.stop.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tasks.wait()).await;
        let recording = self.recording.lock().unwrap_or_else(|p| p.into_inner());
        recording.scenario(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_are_generous_and_round() {
        assert_eq!(tolerance(Duration::from_millis(30)), 1100);
        assert_eq!(tolerance(Duration::from_millis(1500)), 3000);
    }

    #[test]
    fn a_secret_that_survives_fails_the_recording() {
        let mut recording = Recording::new();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-api-key", "sk-very-secret".parse().unwrap());
        recording.rest(
            Instant::now(),
            &axum::http::Method::POST,
            "/v1/custom",
            &headers,
            json!({"note": "sk-very-secret", "other": "sk-very-secret-too"}),
            200,
            &json!({}),
        );
        // The exact value is redacted; a value that merely contains it is not, and is caught.
        let error = recording.scenario("s").unwrap_err();
        assert!(matches!(error, RecordError::SecretSurvived(_)), "{error}");
    }
}
