//! The scenario model: what a scenario file says, as plain data. One YAML file per scenario:
//!
//! ```yaml
//! name: speak over HTTP, repeat, async
//! reference: heygen-api.md §3.5
//! tags: [sdk-flow]
//! steps:
//!   - create_token: {}
//!   - new: { body: { version: v2, quality: low } }
//!   - start: {}
//!   - speak: { text: one two three, capture: { task: data.task_id } }
//!   - wait_event: { event: avatar_start_talking, where: { task_id: "${task}" }, within_ms: 3000 }
//!   - stop: {}
//! ```
//!
//! Strings may name variables (`${name}`): the scenario's `vars`, and what earlier steps
//! captured (`token` and `session_id` are captured by `create_token` and `new` on their own).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// What it checks and why, for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// The reference section it checks (e.g. `heygen-api.md §3.5`).
    #[serde(default)]
    pub reference: Option<String>,
    /// For `--tag` / `--exclude-tag`; `mock-only` marks scenarios that use the mock's admin API.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Values for `${name}` before any capture.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    /// Which API the steps speak: `streaming` (HeyGen's Streaming API, the default) or
    /// `liveavatar` (its successor; see [`Dialect`]).
    #[serde(default)]
    pub dialect: Dialect,
    /// Settings for the embedded mock when it is the target: the scenario then gets a mock of
    /// its own, so it can check a limit in seconds that the real service holds for minutes.
    /// Ignored against any other target.
    #[serde(default)]
    pub embedded_mock: Option<EmbeddedMock>,
    pub steps: Vec<Step>,
}

/// The API a scenario's steps speak.
///
/// Under `liveavatar` (`liveavatar.md`) the same steps mean LiveAvatar's calls:
/// `create_token` is `POST /v1/sessions/token` with the API key (body default `{mode: FULL,
/// avatar_id: default}`; captures `token`, the session token, and `session_id`), `start` is
/// `POST /v1/sessions/start` and the room through the Rust SDK, `start_session` the REST call
/// alone, `speak` (`repeat` or `talk`), `interrupt`, `start_listening` and `stop_listening`
/// are commands on `agent-control` with no reply to check (each captures `event_id`, which
/// the events it causes carry as `source_event_id`), `keep_alive` and `stop` are
/// `POST /v1/sessions/keep-alive` and `/stop`, push-to-talk and voice chat are the SDK's.
/// `new` and `connect` do not exist there. Events are named as LiveAvatar names them
/// (`avatar.speak_started`), with their fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Streaming,
    Liveavatar,
}

/// What a scenario asks of the embedded mock.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedMock {
    /// `session_duration_limit`, in seconds (the real service: 600).
    #[serde(default)]
    pub session_duration_limit_s: Option<u64>,
    /// Refuse avatar ids `avatar.list` does not show (10012), as the real service does for
    /// ids it does not know.
    #[serde(default)]
    pub strict_avatars: bool,
    /// Run the mock's timers this many times faster (`understudy serve --time-scale`): a
    /// scenario about a 10-minute limit finishes in seconds, while everything the mock
    /// reports (durations, limits) stays in the service's time.
    #[serde(default)]
    pub time_scale: Option<f64>,
}

/// One step: a single-key map naming what it does.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `POST /v1/streaming.create_token` with the target's API key; captures `token`.
    CreateToken(Call),
    /// `POST /v1/streaming.new` with the token (body default `{version: v2}`); captures
    /// `session_id` and keeps the session for `start`.
    New(Call),
    /// Starts the session through the Rust SDK: `streaming.start`, then (by default) the room
    /// and the chat socket, whose events feed the timeline.
    Start(Start),
    /// `POST /v1/streaming.start` alone (REST only): the reply can be checked.
    StartSession(Call),
    /// Joins the room and opens the chat socket of a session already started (`start_session`).
    Connect(Connect),
    /// Makes the avatar speak.
    Speak(Speak),
    /// `POST /v1/streaming.interrupt`.
    Interrupt(Call),
    /// `POST /v1/streaming.keep_alive`.
    KeepAlive(Call),
    /// `POST /v1/streaming.start_listening`.
    StartListening(Call),
    /// `POST /v1/streaming.stop_listening`.
    StopListening(Call),
    /// The user speaks: on the mock, through its admin injection (`mock-only`).
    UserSays(UserSays),
    /// The SDK's voice chat starts, on the transport `start` chose, with a WAV file or a tone
    /// as the microphone (silence once it is spent, as a microphone).
    StartVoiceChat(VoiceChat),
    /// The SDK's voice chat ends.
    CloseVoiceChat(Empty),
    /// SDK 2.1.0's `pushToTalkStart` (LiveKit transport, push-to-talk enabled at `start`).
    PushToTalkStart(Empty),
    /// SDK 2.1.0's `pushToTalkStop`.
    PushToTalkStop(Empty),
    /// Waits for an event on the timeline.
    WaitEvent(WaitEvent),
    /// Checks the timeline so far.
    ExpectEvents(ExpectEvents),
    /// Waits.
    Sleep(Sleep),
    /// `POST /v1/streaming.stop`, then the SDK session's end.
    Stop(Call),
    /// Any HTTP request to the target.
    Http(Http),
    /// Adds a fault rule on the mock (`mock-only`): the rule as `/__understudy/faults` takes it
    /// (`understudy_proto::faults::FaultRule`), `${variables}` expanded; e.g. `{on:
    /// /v1/streaming.task, session_id: "${session_id}", respond: {status: 500}, times: 1}`.
    Fault(understudy_proto::faults::FaultRule),
}

impl Step {
    /// The step's kind, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CreateToken(_) => "create_token",
            Step::New(_) => "new",
            Step::Start(_) => "start",
            Step::StartSession(_) => "start_session",
            Step::Connect(_) => "connect",
            Step::Speak(_) => "speak",
            Step::Interrupt(_) => "interrupt",
            Step::KeepAlive(_) => "keep_alive",
            Step::StartListening(_) => "start_listening",
            Step::StopListening(_) => "stop_listening",
            Step::UserSays(_) => "user_says",
            Step::StartVoiceChat(_) => "start_voice_chat",
            Step::CloseVoiceChat(_) => "close_voice_chat",
            Step::PushToTalkStart(_) => "push_to_talk_start",
            Step::PushToTalkStop(_) => "push_to_talk_stop",
            Step::WaitEvent(_) => "wait_event",
            Step::ExpectEvents(_) => "expect_events",
            Step::Sleep(_) => "sleep",
            Step::Stop(_) => "stop",
            Step::Http(_) => "http",
            Step::Fault(_) => "fault",
        }
    }

    /// The step's own name, if it has one (for `after:` and the report).
    pub fn id(&self) -> Option<&str> {
        match self {
            Step::CreateToken(c)
            | Step::New(c)
            | Step::StartSession(c)
            | Step::Interrupt(c)
            | Step::KeepAlive(c)
            | Step::StartListening(c)
            | Step::StopListening(c)
            | Step::Stop(c) => c.id.as_deref(),
            Step::Start(s) => s.id.as_deref(),
            Step::Connect(s) => s.id.as_deref(),
            Step::Speak(s) => s.id.as_deref(),
            Step::Http(s) => s.id.as_deref(),
            Step::UserSays(s) => s.id.as_deref(),
            Step::StartVoiceChat(s) => s.id.as_deref(),
            Step::CloseVoiceChat(s) | Step::PushToTalkStart(s) | Step::PushToTalkStop(s) => {
                s.id.as_deref()
            }
            Step::WaitEvent(_) | Step::ExpectEvents(_) | Step::Sleep(_) | Step::Fault(_) => None,
        }
    }
}

/// A REST call with an optional body, expectations and captures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    #[serde(default)]
    pub id: Option<String>,
    /// The JSON body; the step's default (`{session_id}` for session calls) when absent.
    #[serde(default)]
    pub body: Option<Value>,
    /// Authenticate with the API key instead of the session token.
    #[serde(default)]
    pub use_api_key: bool,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Variables to set from the reply: name -> JSON path (`data.task_id`).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

/// What a reply must be. `body` is a subset: every key given must match, others are free.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<u16>,
    /// HeyGen's `code` in the body.
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    #[serde(default)]
    pub id: Option<String>,
    /// Join the LiveKit room (default true).
    #[serde(default = "yes")]
    pub join: bool,
    /// Open the chat socket (default true).
    #[serde(default = "yes")]
    pub chat_socket: bool,
    /// The voice chat's transport for the socket's query: `websocket` (default) or `livekit`.
    #[serde(default)]
    pub voice_transport: Option<String>,
    #[serde(default)]
    pub push_to_talk: bool,
}

impl Default for Start {
    fn default() -> Self {
        Self {
            id: None,
            join: true,
            chat_socket: true,
            voice_transport: None,
            push_to_talk: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    #[serde(default)]
    pub id: Option<String>,
}

fn yes() -> bool {
    true
}

/// How a speak travels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakPath {
    #[default]
    Http,
    ChatSocket,
    Livekit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Speak {
    #[serde(default)]
    pub id: Option<String>,
    pub text: String,
    #[serde(default)]
    pub path: SpeakPath,
    /// `repeat` (default) or `talk`.
    #[serde(default)]
    pub task_type: Option<String>,
    /// `async` (default) or `sync`.
    #[serde(default)]
    pub task_mode: Option<String>,
    /// Expectations on the HTTP reply (the `http` path only).
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSays {
    #[serde(default)]
    pub id: Option<String>,
    /// The transcript the turn carries.
    pub text: String,
    /// How long the user speaks (default 800 ms).
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

/// The microphone of a voice chat: a WAV file (relative to the scenario's file), a built-in
/// recording of a person speaking (`speech: hello` or `speech: question`, the clips in
/// `fixtures/speech/`), or a tone of `tone_ms` (a 220 Hz sine: a voice detector hears no one
/// talking, which is how to check that a noise opens no turn). Silence when none is given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceChat {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub wav: Option<String>,
    #[serde(default)]
    pub speech: Option<String>,
    #[serde(default)]
    pub tone_ms: Option<u64>,
    /// Start muted.
    #[serde(default)]
    pub muted: bool,
}

/// A step with nothing to say but, optionally, its id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {
    #[serde(default)]
    pub id: Option<String>,
}

/// Waits until an event matching `event` (and `where`) is on the timeline, at most
/// `within_ms` after the step named `after` began, or after this wait began when there is no
/// `after`. An event that came during the step before counts (at once).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitEvent {
    pub event: String,
    #[serde(default, rename = "where")]
    pub matching: Option<Value>,
    #[serde(default)]
    pub within_ms: Option<u64>,
    #[serde(default)]
    pub after: Option<String>,
    /// Variables to set from the event's fields.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

/// Checks on the events seen so far (from `start`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectEvents {
    /// These event names occur in this order (others may come between).
    #[serde(default)]
    pub sequence: Vec<String>,
    /// None of these occurred.
    #[serde(default)]
    pub none_of: Vec<String>,
    /// Exactly this many of each.
    #[serde(default)]
    pub count: BTreeMap<String, usize>,
    /// Every `first` came before the first `then`.
    #[serde(default)]
    pub before: Vec<Before>,
    /// The talking time of a task (its start to its stop) is its `duration_ms` within a
    /// tolerance.
    #[serde(default)]
    pub talk_time: Option<TalkTime>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    pub first: String,
    pub then: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalkTime {
    pub task_id: String,
    pub duration_ms: String,
    /// Allowed difference, in milliseconds (default 250).
    #[serde(default)]
    pub tolerance_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sleep {
    pub ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    #[serde(default)]
    pub id: Option<String>,
    pub method: String,
    /// A path on the target (`/v1/streaming.list`).
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Send the session token (`Authorization: Bearer`), or the API key, or nothing.
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}
