//! Running one scenario against a target: REST calls made raw (so every status and body can be
//! checked), the session's real-time half through the Rust SDK (room, chat socket, events), and
//! every reply and event on one timeline that the event expectations read.

mod liveavatar;

use crate::matchers::{self, Mismatch};
use crate::scenario::{self, Call, Dialect, Expect, Scenario, Step};
use crate::speech_clips;
use crate::timeline::{TimedEvent, Timeline};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionData;
use streaming_avatar::voice::{SOCKET_SAMPLE_RATE, tone};
use streaming_avatar::{
    ChatSocketUrl, PcmSource, Session, SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar,
    VoiceChatTransport,
};

use tokio::time::Instant;

/// How long a `wait_event` waits when it names no `within_ms`.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);
/// How long any one HTTP call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where scenarios run.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API's base URL (`https://api.heygen.com`, or the mock's).
    pub base_url: String,
    pub api_key: String,
    /// Where `liveavatar` scenarios run, and with which key, when not at `base_url` (the real
    /// services are two: `https://api.liveavatar.com` with its own keys).
    pub liveavatar: Option<(String, String)>,
}

impl Target {
    /// Both dialects at `base_url` (a mock serves both).
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            liveavatar: None,
        }
    }

    /// Where a scenario of `dialect` runs.
    fn for_dialect(&self, dialect: Dialect) -> Target {
        match (&self.liveavatar, dialect) {
            (Some((url, key)), Dialect::Liveavatar) => Target::new(url.clone(), key.clone()),
            _ => self.clone(),
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    Passed,
    /// An expectation did not hold.
    Failed {
        message: String,
        mismatch: Option<Mismatch>,
    },
    /// The step could not run (the target failed, or an earlier step failed).
    Error {
        message: String,
    },
    /// Not run: an earlier step failed.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub index: usize,
    pub kind: &'static str,
    pub id: Option<String>,
    /// When the step began and how long it took, in milliseconds on the scenario's axis.
    pub started_ms: f64,
    pub took_ms: f64,
    #[serde(flatten)]
    pub outcome: StepOutcome,
}

/// One scenario's run.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub file: String,
    pub reference: Option<String>,
    pub tags: Vec<String>,
    pub passed: bool,
    /// Whether the target could not be reached at all.
    pub unreachable: bool,
    pub took_ms: f64,
    pub steps: Vec<StepReport>,
    pub events: Vec<TimedEvent>,
}

/// Why a step stopped the scenario.
enum Stop {
    Failed(String, Option<Mismatch>),
    Error(String),
    Unreachable(String),
}

impl From<Mismatch> for Stop {
    fn from(m: Mismatch) -> Self {
        Stop::Failed(m.to_string(), Some(m))
    }
}

/// The running state of one scenario.
struct Run<'a> {
    target: &'a Target,
    http: reqwest::Client,
    vars: BTreeMap<String, Value>,
    timeline: Timeline,
    info: Option<NewSessionData>,
    session: Option<Session>,
    dialect: Dialect,
    /// Under the `liveavatar` dialect: the started session.
    liveavatar: Option<streaming_avatar::liveavatar::LiveAvatarSession>,
    events: Option<streaming_avatar::EventStream>,
    step_starts: HashMap<String, Instant>,
    previous_start: Instant,
    /// The scenario file's directory, for relative paths (WAV files).
    dir: std::path::PathBuf,
}

/// Runs `scenario` (from `file`) against `target`.
pub async fn run(scenario: &Scenario, file: &str, target: &Target) -> ScenarioReport {
    let began = Instant::now();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = &target.for_dialect(scenario.dialect);
    let mut run = Run {
        target,
        http: reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .unwrap_or_default(),
        vars: scenario.vars.clone(),
        timeline: Timeline::new(began),
        info: None,
        session: None,
        dialect: scenario.dialect,
        liveavatar: None,
        events: None,
        step_starts: HashMap::new(),
        previous_start: began,
        dir: std::path::Path::new(file)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
    };
    let mut steps = Vec::new();
    let mut failed = false;
    let mut unreachable = false;
    for (index, step) in scenario.steps.iter().enumerate() {
        let started = Instant::now();
        let outcome = if failed {
            StepOutcome::Skipped
        } else {
            match run.step(step, started).await {
                Ok(()) => StepOutcome::Passed,
                Err(stop) => {
                    failed = true;
                    match stop {
                        Stop::Failed(message, mismatch) => {
                            StepOutcome::Failed { message, mismatch }
                        }
                        Stop::Error(message) => StepOutcome::Error { message },
                        Stop::Unreachable(message) => {
                            unreachable = true;
                            StepOutcome::Error { message }
                        }
                    }
                }
            }
        };
        if let Some(id) = step.id() {
            run.step_starts.insert(id.to_owned(), started);
        }
        run.previous_start = started;
        run.collect();
        steps.push(StepReport {
            index,
            kind: step.kind(),
            id: step.id().map(str::to_owned),
            started_ms: run.timeline.ms(started),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            outcome,
        });
    }
    run.finish().await;
    ScenarioReport {
        name: scenario.name.clone(),
        file: file.to_owned(),
        reference: scenario.reference.clone(),
        tags: scenario.tags.clone(),
        passed: !failed,
        unreachable,
        took_ms: began.elapsed().as_secs_f64() * 1000.0,
        steps,
        events: run.timeline.into_events(),
    }
}

impl Run<'_> {
    async fn step(&mut self, step: &Step, started: Instant) -> Result<(), Stop> {
        if self.dialect == Dialect::Liveavatar {
            return self.liveavatar_step(step, started).await;
        }
        match step {
            Step::CreateToken(call) => {
                let reply = self
                    .call(
                        "create_token",
                        "/v1/streaming.create_token",
                        call,
                        None,
                        true,
                    )
                    .await?;
                if let Some(token) = matchers::at_path(&reply, "data.token") {
                    self.vars.insert("token".into(), token.clone());
                }
                Ok(())
            }
            Step::New(call) => {
                let reply = self
                    .call(
                        "new",
                        "/v1/streaming.new",
                        call,
                        Some(json!({"version": "v2"})),
                        false,
                    )
                    .await?;
                if let Some(data) = reply.get("data").filter(|d| d.is_object()) {
                    if let Ok(info) = serde_json::from_value::<NewSessionData>(data.clone()) {
                        self.vars
                            .insert("session_id".into(), Value::String(info.session_id.clone()));
                        self.info = Some(info);
                    }
                }
                Ok(())
            }
            Step::StartSession(call) => {
                let body = self.session_body();
                self.call(
                    "start_session",
                    "/v1/streaming.start",
                    call,
                    Some(body),
                    false,
                )
                .await
                .map(drop)
            }
            Step::Start(start) => self.start(start, true).await,
            Step::Connect(_) => self.start(&scenario::Start::default(), false).await,
            Step::Speak(speak) => self.speak(speak).await,
            Step::Interrupt(call) => {
                self.session_call("interrupt", "/v1/streaming.interrupt", call)
                    .await
            }
            Step::KeepAlive(call) => {
                self.session_call("keep_alive", "/v1/streaming.keep_alive", call)
                    .await
            }
            Step::StartListening(call) => {
                self.session_call("start_listening", "/v1/streaming.start_listening", call)
                    .await
            }
            Step::StopListening(call) => {
                self.session_call("stop_listening", "/v1/streaming.stop_listening", call)
                    .await
            }
            Step::UserSays(says) => self.user_says(says).await,
            Step::StartVoiceChat(voice) => self.start_voice_chat(voice).await,
            Step::CloseVoiceChat(_) => {
                self.sdk_session()?.close_voice_chat().await;
                Ok(())
            }
            Step::PushToTalkStart(_) => self
                .sdk_session()?
                .push_to_talk_start()
                .await
                .map_err(|e| Stop::Failed(format!("push_to_talk_start: {e}"), None)),
            Step::PushToTalkStop(_) => self
                .sdk_session()?
                .push_to_talk_stop()
                .await
                .map_err(|e| Stop::Failed(format!("push_to_talk_stop: {e}"), None)),
            Step::WaitEvent(wait) => self.wait_event(wait).await,
            Step::ExpectEvents(expect) => self.expect_events(expect),
            Step::Sleep(sleep) => {
                tokio::time::sleep_until(started + Duration::from_millis(sleep.ms)).await;
                Ok(())
            }
            Step::Stop(call) => {
                self.session_call("stop", "/v1/streaming.stop", call)
                    .await?;
                self.await_room_end().await;
                Ok(())
            }
            Step::Http(http) => self.http(http).await,
            Step::Fault(rule) => self.fault(rule).await,
        }
    }

    /// Replaces `${name}` in every string of `value` with the variable's value (a string
    /// entirely `${name}` takes the variable's JSON type).
    fn expand(&self, value: &Value) -> Result<Value, Stop> {
        Ok(match value {
            Value::String(text) => self.expand_str(text)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.expand(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.expand(v)?)))
                    .collect::<Result<_, Stop>>()?,
            ),
            other => other.clone(),
        })
    }

    fn expand_str(&self, text: &str) -> Result<Value, Stop> {
        if let Some(name) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
            if !name.contains("${") {
                return self.vars.get(name).cloned().ok_or_else(|| {
                    Stop::Error(format!("no variable `{name}` (captured or in vars)"))
                });
            }
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let Some(end) = rest[at..].find('}') else {
                break;
            };
            let name = &rest[at + 2..at + end];
            let value = self.vars.get(name).ok_or_else(|| {
                Stop::Error(format!("no variable `{name}` (captured or in vars)"))
            })?;
            match value {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    fn text(&self, text: &str) -> Result<String, Stop> {
        Ok(match self.expand_str(text)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    fn session_body(&self) -> Value {
        json!({ "session_id": self.vars.get("session_id").cloned().unwrap_or(Value::Null) })
    }

    async fn session_call(&mut self, step: &str, path: &str, call: &Call) -> Result<(), Stop> {
        let body = self.session_body();
        self.call(step, path, call, Some(body), false)
            .await
            .map(drop)
    }

    /// A POST with the step's body (or `default`), authenticated by the session token (or the
    /// API key), checked and captured; returns the reply's body.
    async fn call(
        &mut self,
        step: &str,
        path: &str,
        call: &Call,
        default: Option<Value>,
        api_key: bool,
    ) -> Result<Value, Stop> {
        let body = match &call.body {
            Some(body) => self.expand(body)?,
            None => default.unwrap_or(Value::Null),
        };
        let auth = if api_key || call.use_api_key || !self.vars.contains_key("token") {
            "api_key"
        } else {
            "token"
        };
        self.post(step, path, auth, &body, call.expect.as_ref(), &call.capture)
            .await
    }

    /// A POST of `body` as it is (already expanded), checked and captured.
    async fn post(
        &mut self,
        step: &str,
        path: &str,
        auth: &str,
        body: &Value,
        expect: Option<&Expect>,
        capture: &BTreeMap<String, String>,
    ) -> Result<Value, Stop> {
        let (status, reply) = self
            .send("POST", path, auth, &BTreeMap::new(), Some(body))
            .await?;
        self.timeline.reply(Instant::now(), step, status, &reply);
        check_reply(expect, status, &reply)?;
        self.capture(capture, &reply)?;
        Ok(reply)
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        auth: &str,
        headers: &BTreeMap<String, String>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Stop> {
        let url = format!("{}{}", self.target.base_url.trim_end_matches('/'), path);
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| Stop::Error(format!("method `{method}`: {e}")))?;
        let mut request = self.http.request(method, &url);
        match auth {
            "token" => {
                let token = self
                    .vars
                    .get("token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Stop::Error("no session token yet: run create_token first".into())
                    })?;
                request = request.bearer_auth(token);
            }
            "api_key" => request = request.header("x-api-key", &self.target.api_key),
            _ => {}
        }
        for (name, value) in headers {
            request = request.header(name, self.text(value)?);
        }
        if let Some(body) = body.filter(|b| !b.is_null()) {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                Stop::Unreachable(format!("{url}: cannot connect: {e}"))
            } else {
                Stop::Error(format!("{url}: {e}"))
            }
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Stop::Error(format!("{url}: reading the reply: {e}")))?;
        let reply = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, reply))
    }

    fn capture(&mut self, capture: &BTreeMap<String, String>, from: &Value) -> Result<(), Stop> {
        for (name, path) in capture {
            let value = matchers::at_path(from, path).ok_or_else(|| {
                Stop::Failed(
                    format!("capture `{name}`: nothing at `{path}`"),
                    Some(Mismatch {
                        path: path.clone(),
                        expected: "a value to capture".into(),
                        actual: "nothing (absent)".into(),
                    }),
                )
            })?;
            self.vars.insert(name.clone(), value.clone());
        }
        Ok(())
    }

    fn client(&self) -> Result<StreamingAvatar, Stop> {
        let builder = StreamingAvatar::builder().base_path(&self.target.base_url);
        let builder = match self.vars.get("token").and_then(Value::as_str) {
            Some(token) => builder.token(token),
            None => builder.api_key(&self.target.api_key),
        };
        builder
            .build()
            .map_err(|e| Stop::Error(format!("the SDK client: {e}")))
    }

    async fn start(&mut self, start: &scenario::Start, call_start: bool) -> Result<(), Stop> {
        let info = self
            .info
            .clone()
            .ok_or_else(|| Stop::Error("no session yet: run new first".into()))?;
        let transport = match start.voice_transport.as_deref() {
            Some("livekit") => VoiceChatTransport::LiveKit,
            None | Some("websocket") => VoiceChatTransport::WebSocket,
            Some(other) => {
                return Err(Stop::Error(format!(
                    "voice_transport `{other}`: websocket or livekit"
                )));
            }
        };
        let options = SessionOptions::default()
            .join_room(start.join)
            .chat_socket(start.chat_socket.then_some(ChatSocketUrl::FromBasePath))
            .voice_chat_transport(transport)
            .enable_push_to_talk(start.push_to_talk);
        let mut session = self.client()?.attach_session(info, options);
        self.events = Some(session.events());
        let began = Instant::now();
        let result = if call_start {
            session.start().await
        } else {
            session.connect().await
        };
        let step = if call_start { "start" } else { "connect" };
        match result {
            Ok(()) => {
                self.timeline
                    .reply(Instant::now(), step, 200, &json!({"code": 100}));
                self.session = Some(session);
                Ok(())
            }
            Err(e) => {
                let message = format!("{step} failed after {:?}: {e}", began.elapsed());
                self.session = Some(session);
                Err(Stop::Failed(message, None))
            }
        }
    }

    async fn speak(&mut self, speak: &scenario::Speak) -> Result<(), Stop> {
        let text = self.text(&speak.text)?;
        let task_type = speak.task_type.as_deref().unwrap_or("repeat");
        let task_mode = speak.task_mode.as_deref().unwrap_or("async");
        match speak.path {
            scenario::SpeakPath::Http => {
                let body = json!({
                    "session_id": self.vars.get("session_id").cloned().unwrap_or(Value::Null),
                    "text": text,
                    "task_type": task_type,
                    "task_mode": task_mode,
                });
                self.post(
                    "speak",
                    "/v1/streaming.task",
                    "token",
                    &body,
                    speak.expect.as_ref(),
                    &speak.capture,
                )
                .await
                .map(drop)
            }
            path => {
                let session = self
                    .session
                    .as_ref()
                    .ok_or_else(|| Stop::Error("no SDK session: run start first".into()))?;
                let path = match path {
                    scenario::SpeakPath::ChatSocket => SpeakPath::ChatSocket,
                    _ => SpeakPath::LiveKit,
                };
                session
                    .speak_via(path, &SpeakRequest::talk(text))
                    .await
                    .map_err(|e| Stop::Failed(format!("speak over {path:?}: {e}"), None))?;
                Ok(())
            }
        }
    }

    fn sdk_session(&mut self) -> Result<&mut Session, Stop> {
        self.session
            .as_mut()
            .ok_or_else(|| Stop::Error("no SDK session: run start first".into()))
    }

    /// The microphone a voice-chat step names.
    fn microphone(&self, voice: &scenario::VoiceChat) -> Result<PcmSource, Stop> {
        Ok(match (&voice.wav, &voice.speech, voice.tone_ms) {
            (Some(wav), _, _) => {
                let path = self.dir.join(self.text(wav)?);
                PcmSource::from_wav(&path)
                    .map_err(|e| Stop::Error(format!("start_voice_chat: {e}")))?
            }
            (None, Some(name), _) => {
                let clip = speech_clips::find(name)
                    .ok_or_else(|| Stop::Error(speech_clips::unknown(name)))?;
                PcmSource::from_wav_bytes(clip)
                    .map_err(|e| Stop::Error(format!("start_voice_chat: {e}")))?
            }
            (None, None, Some(ms)) => PcmSource::from_samples(
                tone(220.0, Duration::from_millis(ms), SOCKET_SAMPLE_RATE),
                SOCKET_SAMPLE_RATE,
            ),
            (None, None, None) => PcmSource::silence(),
        })
    }

    async fn start_voice_chat(&mut self, voice: &scenario::VoiceChat) -> Result<(), Stop> {
        let source = self.microphone(voice)?;
        let muted = voice.muted;
        self.sdk_session()?
            .start_voice_chat(source, muted)
            .await
            .map_err(|e| Stop::Failed(format!("start_voice_chat: {e}"), None))
    }

    async fn user_says(&mut self, says: &scenario::UserSays) -> Result<(), Stop> {
        let id = self
            .vars
            .get("session_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Stop::Error("no session yet: run new first".into()))?
            .to_owned();
        let body = json!({
            "text": self.text(&says.text)?,
            "duration_ms": says.duration_ms.unwrap_or(800),
        });
        let path = format!("/__understudy/sessions/{id}/user_turn");
        let (status, reply) = self
            .send("POST", &path, "none", &BTreeMap::new(), Some(&body))
            .await?;
        if status != 200 {
            return Err(Stop::Failed(
                format!(
                    "user_says needs the mock's admin API (tag the scenario mock-only): {status} {reply}"
                ),
                None,
            ));
        }
        Ok(())
    }

    async fn fault(&mut self, rule: &understudy_proto::faults::FaultRule) -> Result<(), Stop> {
        let rule = serde_json::to_value(rule).map_err(|e| Stop::Error(format!("fault: {e}")))?;
        let body = self.expand(&rule)?;
        let (status, reply) = self
            .send(
                "POST",
                "/__understudy/faults",
                "none",
                &BTreeMap::new(),
                Some(&body),
            )
            .await?;
        if status != 200 {
            return Err(Stop::Failed(
                format!(
                    "fault needs the mock's admin API (tag the scenario mock-only), which answered {status} {reply}"
                ),
                None,
            ));
        }
        Ok(())
    }

    async fn http(&mut self, http: &scenario::Http) -> Result<(), Stop> {
        let path = self.text(&http.path)?;
        let body = http.body.as_ref().map(|b| self.expand(b)).transpose()?;
        let auth = http.auth.as_deref().unwrap_or("token");
        let (status, reply) = self
            .send(&http.method, &path, auth, &http.headers, body.as_ref())
            .await?;
        self.timeline.reply(Instant::now(), "http", status, &reply);
        check_reply(http.expect.as_ref(), status, &reply)?;
        self.capture(&http.capture, &reply)
    }

    /// After a stop the room ends: lets the SDK see it, so its disconnect is on the timeline.
    async fn await_room_end(&mut self) {
        if let Some(events) = self.events.as_mut() {
            let _ = events
                .wait_for(Duration::from_secs(2), |e| {
                    e.name() == "stream_disconnected"
                })
                .await
                .map(|e| self.timeline.sdk_event(&e));
        }
    }

    /// Moves every event the SDK has received onto the timeline.
    fn collect(&mut self) {
        if let Some(events) = self.events.as_mut() {
            for event in events.drain() {
                self.timeline.sdk_event(&event);
            }
        }
    }

    async fn wait_event(&mut self, wait: &scenario::WaitEvent) -> Result<(), Stop> {
        // Measured from the named step's start, or from when this wait began; events already
        // seen count from the start of the step before (they may have come during it).
        let (from, search_from) = match &wait.after {
            Some(id) => {
                let at = self
                    .step_starts
                    .get(id)
                    .copied()
                    .unwrap_or(self.previous_start);
                (at, at)
            }
            None => (Instant::now(), self.previous_start),
        };
        let within = wait.within_ms.map_or(DEFAULT_WAIT, Duration::from_millis);
        let deadline = from + within;
        let matching = wait.matching.as_ref().map(|m| self.expand(m)).transpose()?;
        let wanted = |event: &TimedEvent| {
            event.name == wait.event
                && matching
                    .as_ref()
                    .is_none_or(|m| matchers::check(m, Some(&event.fields)).is_ok())
        };
        let from_ms = self.timeline.ms(from);
        let search_ms = self.timeline.ms(search_from);
        self.collect();
        if let Some(found) = self
            .timeline
            .events()
            .iter()
            .find(|e| e.at_ms >= search_ms && wanted(e))
            .cloned()
        {
            return self.found(wait, &found, from_ms, within);
        }
        let Some(events) = self.events.as_mut() else {
            return Err(Stop::Error("no events: run start first".into()));
        };
        loop {
            match tokio::time::timeout_at(deadline, events.next()).await {
                Err(_) => {
                    return Err(Stop::Failed(
                        format!(
                            "no `{}`{} within {} ms",
                            wait.event,
                            matching
                                .as_ref()
                                .map(|m| format!(" where {m}"))
                                .unwrap_or_default(),
                            within.as_millis()
                        ),
                        None,
                    ));
                }
                Ok(None) => {
                    return Err(Stop::Failed(
                        format!("the session ended before `{}`", wait.event),
                        None,
                    ));
                }
                Ok(Some(Err(_lagged))) => continue,
                Ok(Some(Ok(event))) => {
                    self.timeline.sdk_event(&event);
                    let timed = TimedEvent {
                        at_ms: self.timeline.ms(event.at),
                        source: "sdk",
                        name: event.event.name().to_owned(),
                        fields: crate::timeline::fields(&event.event),
                    };
                    if wanted(&timed) {
                        return self.found(wait, &timed, from_ms, within);
                    }
                }
            }
        }
    }

    fn found(
        &mut self,
        wait: &scenario::WaitEvent,
        event: &TimedEvent,
        from_ms: f64,
        within: Duration,
    ) -> Result<(), Stop> {
        let after = event.at_ms - from_ms;
        if after > within.as_secs_f64() * 1000.0 {
            return Err(Stop::Failed(
                format!(
                    "`{}` came {after:.0} ms after, past {} ms",
                    wait.event,
                    within.as_millis()
                ),
                None,
            ));
        }
        self.capture(&wait.capture, &event.fields)
    }

    fn expect_events(&mut self, expect: &scenario::ExpectEvents) -> Result<(), Stop> {
        self.collect();
        let names: Vec<&str> = self
            .timeline
            .events()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let mut at = 0;
        for want in &expect.sequence {
            match names[at..].iter().position(|n| n == want) {
                Some(i) => at += i + 1,
                None => {
                    return Err(Stop::Failed(
                        format!("sequence: no `{want}` after the events before it; saw {names:?}"),
                        None,
                    ));
                }
            }
        }
        if let Some(bad) = expect.none_of.iter().find(|n| names.contains(&n.as_str())) {
            return Err(Stop::Failed(format!("none_of: `{bad}` occurred"), None));
        }
        for (name, count) in &expect.count {
            let seen = names.iter().filter(|n| *n == name).count();
            if seen != *count {
                return Err(Stop::Failed(
                    format!("count of `{name}`: expected {count}, saw {seen}"),
                    Some(Mismatch {
                        path: name.clone(),
                        expected: count.to_string(),
                        actual: seen.to_string(),
                    }),
                ));
            }
        }
        for rule in &expect.before {
            let first = names.iter().position(|n| *n == rule.first);
            let then = names.iter().position(|n| *n == rule.then);
            match (first, then) {
                (Some(f), Some(t)) if f < t => {}
                (_, None) => {}
                _ => {
                    return Err(Stop::Failed(
                        format!("`{}` did not come before `{}`", rule.first, rule.then),
                        None,
                    ));
                }
            }
        }
        if let Some(talk) = &expect.talk_time {
            self.talk_time(talk)?;
        }
        Ok(())
    }

    fn talk_time(&self, talk: &scenario::TalkTime) -> Result<(), Stop> {
        let task = self.text(&talk.task_id)?;
        let planned = match self.expand_str(&talk.duration_ms)? {
            Value::Number(n) => n.as_f64().unwrap_or_default(),
            Value::String(s) => s.parse().unwrap_or_default(),
            _ => 0.0,
        };
        let at = |name: &str| {
            self.timeline
                .events()
                .iter()
                .find(|e| e.name == name && e.fields["task_id"] == task.as_str())
                .map(|e| e.at_ms)
        };
        let (Some(start), Some(stop)) = (at("avatar_start_talking"), at("avatar_stop_talking"))
        else {
            return Err(Stop::Failed(
                format!("talk_time: task {task} did not start and stop"),
                None,
            ));
        };
        let tolerance = talk.tolerance_ms.unwrap_or(250) as f64;
        let spoke = stop - start;
        if (spoke - planned).abs() > tolerance {
            return Err(Stop::Failed(
                format!(
                    "talk_time: spoke {spoke:.0} ms for a planned {planned:.0} ms (±{tolerance:.0})"
                ),
                Some(Mismatch {
                    path: "talk_time".into(),
                    expected: format!("{planned:.0} ± {tolerance:.0} ms"),
                    actual: format!("{spoke:.0} ms"),
                }),
            ));
        }
        Ok(())
    }

    /// Ends the run: the session (if any) is stopped, so nothing outlives the scenario.
    async fn finish(&mut self) {
        self.collect();
        if self.dialect == Dialect::Liveavatar {
            self.finish_liveavatar().await;
            return;
        }
        if let Some(mut session) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), session.stop()).await;
        } else if self.info.is_some() {
            // A session made by `new` and never started through the SDK: stop it, so it does
            // not count against the account's concurrency limit in the next scenario.
            let body = self.session_body();
            let _ = self
                .send(
                    "POST",
                    "/v1/streaming.stop",
                    "token",
                    &BTreeMap::new(),
                    Some(&body),
                )
                .await;
        }
    }
}

/// Checks a reply against `expect`. With no `expect`, a 2xx reply is required.
fn check_reply(expect: Option<&Expect>, status: u16, reply: &Value) -> Result<(), Stop> {
    let Some(expect) = expect else {
        if (200..300).contains(&status) {
            return Ok(());
        }
        return Err(Stop::Failed(
            format!("expected a success, got {status}: {reply}"),
            Some(Mismatch {
                path: "status".into(),
                expected: "2xx".into(),
                actual: status.to_string(),
            }),
        ));
    };
    if let Some(want) = expect.status {
        if want != status {
            return Err(Mismatch {
                path: "status".into(),
                expected: want.to_string(),
                actual: format!("{status} ({reply})"),
            }
            .into());
        }
    }
    if let Some(code) = expect.code {
        matchers::check(&json!({ "code": code }), Some(reply))?;
    }
    if let Some(body) = &expect.body {
        matchers::check(body, Some(reply))?;
    }
    Ok(())
}
