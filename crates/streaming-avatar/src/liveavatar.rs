//! LiveAvatar, HeyGen's successor API (`liveavatar.md`), with the surface of its web SDK
//! (`@heygen/liveavatar-web-sdk` 0.0.18):
//!
//! - [`LiveAvatar`]: the account's client (API key): `create_session_token`, the session list,
//!   reads, transcripts, `stop_session`; and [`LiveAvatar::start`], which starts a session with
//!   its session token (as the web SDK's `start()` does) and joins its room.
//! - [`LiveAvatarSession`]: one started session. FULL: `repeat` (`avatar.speak_text`),
//!   `message` (`avatar.speak_response`), `interrupt`, listening and push-to-talk commands on
//!   the `agent-control` topic, each returning the `event_id` its events carry back as
//!   `source_event_id`; events as [`StreamingEvent::LiveAvatar`]; media as for the Streaming
//!   API. LITE: the `ws_url` socket, opened on `connect` as the web SDK opens it, takes
//!   [`LiveAvatarSession::repeat_audio`] (PCM16 at 24 kHz, sent base64 in the web SDK's
//!   chunks) and reports its speech as events; the room has the media.
//!
//! ```no_run
//! use streaming_avatar::liveavatar::LiveAvatar;
//! use streaming_avatar::proto::liveavatar::rest::SessionTokenRequest;
//! # async fn demo() -> Result<(), streaming_avatar::Error> {
//! let account = LiveAvatar::builder().base_path("http://127.0.0.1:8080").api_key("demo").build()?;
//! let token = account
//!     .create_session_token(&SessionTokenRequest { avatar_id: "my-avatar".into(), ..Default::default() })
//!     .await?;
//! let session = account.start(&token.session_token).await?;
//! let started = session.repeat("Hello from Rust").await?;
//! println!("said as event {started}");
//! session.stop().await?;
//! # Ok(()) }
//! ```

use crate::error::{ApiFailure, Error};
use crate::events::EventSource;
use crate::events::{EventStream, StreamingEvent};
use crate::media::MediaStream;
use crate::media::frames::{AudioPacket, VideoFrame};
use crate::rest::{Rest, decode};
use crate::room::JoinInfo;
use crate::session::{Session, SessionOptions};
use crate::voice::PcmSource;
use crate::{StreamingAvatar, StreamingAvatarBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use understudy_proto::liveavatar::rest::{
    KeepAliveRequest, Page, SessionEndReason, SessionEntry, SessionTokenData, SessionTokenRequest,
    StartSessionData, StopSessionRequest, Transcript,
};
use understudy_proto::liveavatar::{
    AgentCommand, AgentEvent, AgentEventKind, COMMAND_TOPIC, LiveAvatarEnvelope, SUCCESS_CODE,
    SessionMode,
};
use understudy_proto::rest::session::NewSessionData;

/// The real service.
pub const DEFAULT_BASE_PATH: &str = "https://api.liveavatar.com";

/// How long push-to-talk waits for the server's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`LiveAvatar`] client.
#[derive(Debug)]
pub struct LiveAvatarBuilder {
    inner: StreamingAvatarBuilder,
    base_path: String,
}

impl Default for LiveAvatarBuilder {
    fn default() -> Self {
        Self {
            inner: StreamingAvatar::builder(),
            base_path: DEFAULT_BASE_PATH.to_owned(),
        }
    }
}

impl LiveAvatarBuilder {
    /// Where the API is: the real service by default, or a mock such as `understudy serve`.
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = base_path.into();
        self
    }

    /// The account's API key (`X-API-KEY`): needed to mint session tokens and read sessions.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.inner = self.inner.api_key(key);
        self
    }

    /// Trusts this root certificate too (a mock's self-signed one).
    pub fn add_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.inner = self.inner.add_root_certificate_pem(pem);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// # Errors
    /// A base path that is not an http(s) URL, or an unusable root certificate.
    pub fn build(self) -> Result<LiveAvatar, Error> {
        let inner = self.inner.base_path(self.base_path);
        // A client that only starts sessions has no key: its calls carry session tokens.
        let inner = match inner.build() {
            Err(Error::Config(why)) if why.contains("token or an API key") => {
                return Err(Error::Config("an API key is required".into()));
            }
            other => other?,
        };
        Ok(LiveAvatar { inner })
    }
}

/// The account-level LiveAvatar client. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct LiveAvatar {
    inner: StreamingAvatar,
}

impl LiveAvatar {
    pub fn builder() -> LiveAvatarBuilder {
        LiveAvatarBuilder::default()
    }

    pub fn base_path(&self) -> &str {
        self.inner.base_path()
    }

    fn rest(&self) -> &Rest {
        self.inner.rest()
    }

    /// `POST /v1/sessions/token`: a session (FULL or LITE, as `request.mode` says) and its
    /// session token.
    ///
    /// # Errors
    /// [`Error::Api`] with the service's status, `code` and `message` (a 422's `detail` is in
    /// the body), or transport failures.
    pub async fn create_session_token(
        &self,
        request: &SessionTokenRequest,
    ) -> Result<SessionTokenData, Error> {
        call(
            self.rest(),
            reqwest::Method::POST,
            "/v1/sessions/token",
            Some(request),
        )
        .await
    }

    /// `POST /v1/sessions/start` with the session token, then the room, as the web SDK's
    /// `start()`: returns once the subscriber connection is up (and, in FULL, the avatar and
    /// the agent are in the room).
    ///
    /// # Errors
    /// The API's errors (401 for a bad token, 400 for a session already started), or the
    /// room's.
    pub async fn start(&self, session_token: &str) -> Result<LiveAvatarSession, Error> {
        let mut session = self.start_session(session_token).await?;
        session.connect().await?;
        Ok(session)
    }

    /// `POST /v1/sessions/start` alone: the session, not yet in its room
    /// ([`LiveAvatarSession::connect`] joins it), so events can be listened to from before the
    /// join.
    ///
    /// # Errors
    /// The API's errors (401 for a bad token, 400 for a session already started).
    pub async fn start_session(&self, session_token: &str) -> Result<LiveAvatarSession, Error> {
        let client = self.inner.with_token(session_token);
        let data: StartSessionData = call(
            client.rest(),
            reqwest::Method::POST,
            "/v1/sessions/start",
            None::<&()>,
        )
        .await?;
        let info = NewSessionData {
            session_id: data.session_id.clone(),
            url: Some(data.livekit_url.clone()),
            access_token: Some(data.livekit_client_token.clone()),
            livekit_agent_token: data.livekit_agent_token.clone(),
            realtime_endpoint: data.ws_url.clone(),
            is_paid: None,
            session_duration_limit: Some(data.max_session_duration),
            sdp: None,
            ice_servers: None,
            ice_servers2: None,
        };
        // The user's voice is a microphone track in the room (`liveavatar.md` §3.1).
        let options = SessionOptions::default()
            .chat_socket(None)
            .keep_alive_every(None)
            .voice_chat_transport(crate::VoiceChatTransport::LiveKit);
        Ok(LiveAvatarSession {
            session: client.attach_session(info, options),
            data,
            rest: client.rest().clone(),
            mode: mode_of(session_token),
            lite: tokio::sync::Mutex::new(None),
        })
    }

    /// `POST /v1/sessions/stop` with the API key, for one of the account's sessions.
    ///
    /// # Errors
    /// The API's errors (404 for a session the account does not have).
    pub async fn stop_session(
        &self,
        session_id: &str,
        reason: Option<SessionEndReason>,
    ) -> Result<(), Error> {
        let body = StopSessionRequest {
            session_id: Some(session_id.to_owned()),
            reason,
        };
        call_empty(self.rest(), "/v1/sessions/stop", &body).await
    }

    /// `GET /v1/sessions?type=active|historic`: the first page (up to 100), newest first.
    ///
    /// # Errors
    /// The API's errors.
    pub async fn list_sessions(&self, active: bool) -> Result<Page<SessionEntry>, Error> {
        let kind = if active { "active" } else { "historic" };
        let path = format!("/v1/sessions?type={kind}&page_size=100");
        call(self.rest(), reqwest::Method::GET, &path, None::<&()>).await
    }

    /// `GET /v1/sessions/{id}`.
    ///
    /// # Errors
    /// The API's errors (404).
    pub async fn session(&self, session_id: &str) -> Result<SessionEntry, Error> {
        let path = format!("/v1/sessions/{session_id}");
        call(self.rest(), reqwest::Method::GET, &path, None::<&()>).await
    }

    /// `GET /v1/sessions/{id}/transcript`.
    ///
    /// # Errors
    /// The API's errors (404).
    pub async fn transcript(&self, session_id: &str) -> Result<Transcript, Error> {
        let path = format!("/v1/sessions/{session_id}/transcript");
        call(self.rest(), reqwest::Method::GET, &path, None::<&()>).await
    }
}

/// The mode a session token's payload names (`start_session_data.mode`), FULL when it names
/// none or cannot be read, as the web SDK decides.
pub fn mode_of(session_token: &str) -> SessionMode {
    use base64::Engine as _;
    let payload = session_token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|claims| {
            serde_json::from_value(claims["start_session_data"]["mode"].clone()).ok()
        })
        .unwrap_or(SessionMode::Full)
}

/// A started LiveAvatar session and its room. [`LiveAvatarSession::stop`] ends it; dropping it
/// leaves the room without stopping the session.
#[derive(Debug)]
pub struct LiveAvatarSession {
    session: Session,
    data: StartSessionData,
    /// Carries the session token.
    rest: Rest,
    mode: SessionMode,
    /// LITE: the sending half of the `ws_url` socket, opened by `connect` as the web SDK opens
    /// it; its reader turns `agent.speak_started`/`ended` into events.
    lite: tokio::sync::Mutex<Option<LiteSink>>,
}

type LiteSink = futures_util::stream::SplitSink<crate::websocket::Socket, Message>;

/// The largest message the LITE socket reads: its events are small.
const LITE_MAX_MESSAGE: usize = 1 << 20;
/// The web SDK's chunks of PCM16 at 24 kHz: 400 ms first, then a second each.
const FIRST_CHUNK_BYTES: usize = 19_200;
const CHUNK_BYTES: usize = 48_000;

impl LiveAvatarSession {
    pub fn session_id(&self) -> &str {
        &self.data.session_id
    }

    pub fn mode(&self) -> SessionMode {
        self.mode
    }

    /// What `start` answered: the room, its tokens, the session's limit, LITE's `ws_url`.
    pub fn start_data(&self) -> &StartSessionData {
        &self.data
    }

    /// The maximum duration, in seconds, as `start` reported it (`maxSessionDuration`).
    pub fn max_session_duration(&self) -> u64 {
        self.data.max_session_duration
    }

    pub fn join_info(&self) -> Option<&JoinInfo> {
        self.session.join_info()
    }

    /// Joins the session's room (after [`LiveAvatar::start_session`]). In FULL the room must
    /// have LiveAvatar's agent, as the web SDK waits for it.
    ///
    /// # Errors
    /// The room's errors; [`Error::Room`] for a FULL room without the agent.
    pub async fn connect(&mut self) -> Result<(), Error> {
        self.session.connect().await?;
        if let Some(url) = self.data.ws_url.clone() {
            self.open_lite_socket(&url).await?;
        }
        if self.mode == SessionMode::Full {
            let agent = understudy_proto::liveavatar::agent_identity(&self.data.session_id);
            let present = self
                .session
                .join_info()
                .is_some_and(|j| j.others.iter().any(|p| p.identity == agent));
            if !present {
                return Err(Error::Room(format!(
                    "the room has no LiveAvatar agent ({agent}) for this FULL session"
                )));
            }
        }
        Ok(())
    }

    pub fn is_stream_ready(&self) -> bool {
        self.session.is_stream_ready()
    }

    /// The session's events from now on: [`StreamingEvent::LiveAvatar`] for the agent's, and
    /// the SDK's own (`StreamReady`, `StreamDisconnected`, quality).
    pub fn events(&self) -> EventStream {
        self.session.events()
    }

    pub fn video(&self) -> MediaStream<VideoFrame> {
        self.session.video()
    }

    pub fn audio(&self) -> MediaStream<AudioPacket> {
        self.session.audio()
    }

    /// `avatar.speak_text`: says `text` as it is. Returns the command's `event_id`.
    ///
    /// # Errors
    /// [`Error::NotReady`] in LITE (as the web SDK refuses), or a closed room.
    pub async fn repeat(&self, text: &str) -> Result<String, Error> {
        self.speak(|event_id| AgentCommand::SpeakText {
            text: text.to_owned(),
            event_id,
        })
        .await
    }

    /// `avatar.speak_response`: the avatar answers `text`. Returns the command's `event_id`.
    ///
    /// # Errors
    /// As [`LiveAvatarSession::repeat`].
    pub async fn message(&self, text: &str) -> Result<String, Error> {
        self.speak(|event_id| AgentCommand::SpeakResponse {
            text: text.to_owned(),
            event_id,
        })
        .await
    }

    async fn speak(
        &self,
        command: impl FnOnce(Option<String>) -> AgentCommand,
    ) -> Result<String, Error> {
        if self.mode == SessionMode::Lite {
            return Err(Error::NotReady("not permitted in LITE mode"));
        }
        let event_id = random_event_id();
        self.command(&command(Some(event_id.clone()))).await?;
        Ok(event_id)
    }

    /// `avatar.interrupt` (sent without an `event_id`, as the web SDK sends it).
    ///
    /// # Errors
    /// A closed room.
    pub async fn interrupt(&self) -> Result<(), Error> {
        self.command(&AgentCommand::Interrupt { event_id: None })
            .await
    }

    /// `avatar.start_listening`; returns its `event_id`.
    ///
    /// # Errors
    /// A closed room.
    pub async fn start_listening(&self) -> Result<String, Error> {
        let event_id = random_event_id();
        self.command(&AgentCommand::StartListening {
            event_id: Some(event_id.clone()),
        })
        .await?;
        Ok(event_id)
    }

    /// `avatar.stop_listening`; returns its `event_id`.
    ///
    /// # Errors
    /// A closed room.
    pub async fn stop_listening(&self) -> Result<String, Error> {
        let event_id = random_event_id();
        self.command(&AgentCommand::StopListening {
            event_id: Some(event_id.clone()),
        })
        .await?;
        Ok(event_id)
    }

    /// `user.start_push_to_talk`, and waits for `user.push_to_talk_started`.
    ///
    /// # Errors
    /// [`Error::NotReady`] when the server answers `…_start_failed` (a session not made
    /// with `PUSH_TO_TALK`); [`Error::Timeout`] when it does not answer.
    pub async fn push_to_talk_start(&self) -> Result<(), Error> {
        self.push_to_talk(
            AgentCommand::StartPushToTalk { event_id: None },
            AgentEventKind::PushToTalkStarted,
            AgentEventKind::PushToTalkStartFailed,
        )
        .await
    }

    /// `user.stop_push_to_talk`, and waits for `user.push_to_talk_stopped`.
    ///
    /// # Errors
    /// As [`LiveAvatarSession::push_to_talk_start`].
    pub async fn push_to_talk_stop(&self) -> Result<(), Error> {
        self.push_to_talk(
            AgentCommand::StopPushToTalk { event_id: None },
            AgentEventKind::PushToTalkStopped,
            AgentEventKind::PushToTalkStopFailed,
        )
        .await
    }

    async fn push_to_talk(
        &self,
        command: AgentCommand,
        success: AgentEventKind,
        failure: AgentEventKind,
    ) -> Result<(), Error> {
        let mut events = self.events();
        self.command(&command).await?;
        let answer = events
            .wait_for(ACK_TIMEOUT, |e| {
                matches!(e, StreamingEvent::LiveAvatar(event) if event.kind == success || event.kind == failure)
            })
            .await?;
        match answer.event {
            StreamingEvent::LiveAvatar(event) if event.kind == success => Ok(()),
            _ => Err(Error::NotReady(
                "the server refused push-to-talk (is the session PUSH_TO_TALK?)",
            )),
        }
    }

    /// A command on `agent-control`, or in LITE its equivalent on the socket (the web SDK
    /// sends them there whenever it has one).
    async fn command(&self, command: &AgentCommand) -> Result<(), Error> {
        if self.mode == SessionMode::Lite {
            let kind = match command {
                AgentCommand::Interrupt { .. } => "agent.interrupt",
                AgentCommand::StartListening { .. } => "agent.start_listening",
                AgentCommand::StopListening { .. } => "agent.stop_listening",
                _ => return Err(Error::NotReady("not permitted in LITE mode")),
            };
            let event_id = command
                .event_id()
                .map_or_else(random_event_id, str::to_owned);
            return self
                .send_lite(&[json!({"type": kind, "event_id": event_id})])
                .await;
        }
        let payload = serde_json::to_vec(command).map_err(|e| Error::Voice(e.to_string()))?;
        self.session.publish_on(COMMAND_TOPIC, &payload).await
    }

    /// LITE: says `pcm` (16-bit little-endian mono at 24 kHz), as the web SDK's `repeatAudio`
    /// but base64-encoded as the service wants: `agent.speak` chunks of 400 ms, then a second
    /// each, and `agent.speak_end`, all with one `event_id`, which is returned; the socket's
    /// `agent.speak_started`/`ended` for it arrive as [`StreamingEvent::LiveAvatar`] events
    /// with it as `source_event_id`.
    ///
    /// # Errors
    /// [`Error::NotReady`] in FULL or before `connect`; the socket's errors.
    pub async fn repeat_audio(&self, pcm: &[u8]) -> Result<String, Error> {
        use base64::Engine as _;
        if self.mode != SessionMode::Lite {
            return Err(Error::NotReady("repeat_audio is LITE's: FULL speaks text"));
        }
        let event_id = random_event_id();
        let first = pcm.len().min(FIRST_CHUNK_BYTES);
        let chunks = std::iter::once(&pcm[..first]).chain(pcm[first..].chunks(CHUNK_BYTES));
        let mut messages: Vec<Value> = chunks
            .filter(|c| !c.is_empty())
            .map(|chunk| {
                let audio = base64::engine::general_purpose::STANDARD.encode(chunk);
                json!({"type": "agent.speak", "event_id": event_id, "audio": audio})
            })
            .collect();
        messages.push(json!({"type": "agent.speak_end", "event_id": event_id}));
        self.send_lite(&messages).await?;
        Ok(event_id)
    }

    async fn send_lite(&self, messages: &[Value]) -> Result<(), Error> {
        use futures_util::SinkExt as _;
        let mut sink = self.lite.lock().await;
        let sink = sink.as_mut().ok_or(Error::NotReady(
            "the LITE socket is not open: connect first",
        ))?;
        for message in messages {
            sink.send(Message::Text(message.to_string().into()))
                .await
                .map_err(|e| Error::Room(format!("LITE socket: {e}")))?;
        }
        Ok(())
    }

    /// Opens LITE's `ws_url` and reads it on the session's tasks until the session ends.
    async fn open_lite_socket(&mut self, url: &str) -> Result<(), Error> {
        use futures_util::StreamExt as _;
        let tls = url.starts_with("wss").then(|| self.session.socket_tls());
        let socket = crate::websocket::dial(url, LITE_MAX_MESSAGE, tls)
            .await
            .map_err(|e| Error::Room(format!("LITE socket {url}: {e}")))?;
        let (sink, mut stream) = socket.split();
        *self.lite.get_mut() = Some(sink);
        let (events, tasks, stop) = self.session.hooks();
        let session_id = self.data.session_id.clone();
        tasks.spawn(async move {
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => return,
                    message = stream.next() => message,
                };
                let Some(Ok(message)) = message else { return };
                let Message::Text(text) = message else {
                    continue;
                };
                if let Some(event) = lite_event(&session_id, &text) {
                    events.emit(EventSource::Room, event);
                }
            }
        });
        Ok(())
    }

    /// Starts voice chat, as the web SDK's `voiceChat.start()`: `source` becomes a microphone
    /// track in the room, which LiveAvatar listens to (FULL). `muted` starts it muted.
    ///
    /// # Errors
    /// The room's errors publishing the track.
    pub async fn start_voice_chat(&mut self, source: PcmSource, muted: bool) -> Result<(), Error> {
        self.session.start_voice_chat(source, muted).await
    }

    /// Stops voice chat: the microphone track ends.
    pub async fn close_voice_chat(&mut self) {
        self.session.close_voice_chat().await;
    }

    pub fn mute_input_audio(&self) {
        self.session.mute_input_audio();
    }

    pub fn unmute_input_audio(&self) {
        self.session.unmute_input_audio();
    }

    /// `POST /v1/sessions/keep-alive` with the session token.
    ///
    /// # Errors
    /// The API's errors (400 once the session has ended).
    pub async fn keep_alive(&self) -> Result<(), Error> {
        call_empty(
            &self.rest,
            "/v1/sessions/keep-alive",
            &KeepAliveRequest::default(),
        )
        .await
    }

    /// Leaves the room and `POST /v1/sessions/stop`s the session, as the web SDK's `stop()`.
    ///
    /// # Errors
    /// The stop call's errors; the room is left in any case.
    pub async fn stop(self) -> Result<(), Error> {
        let Self { session, rest, .. } = self;
        session.leave().await;
        call_empty(&rest, "/v1/sessions/stop", &StopSessionRequest::default()).await
    }
}

/// A LITE socket message as the web SDK reports it: `agent.speak_started`/`ended` become
/// `avatar.speak_started`/`ended`, naming the `agent.speak` that began the speech; the rest
/// (acknowledgements, state, errors) the web SDK drops, and so does this.
fn lite_event(session_id: &str, text: &str) -> Option<StreamingEvent> {
    let message: Value = serde_json::from_str(text).ok()?;
    let kind = match message.get("type")?.as_str()? {
        "agent.speak_started" => AgentEventKind::AvatarSpeakStarted,
        "agent.speak_ended" => AgentEventKind::AvatarSpeakEnded,
        _ => return None,
    };
    let event_id = message.get("event_id")?.as_str()?.to_owned();
    Some(StreamingEvent::LiveAvatar(Box::new(AgentEvent {
        event_id: event_id.clone(),
        session_id: session_id.to_owned(),
        source_event_id: Some(event_id),
        kind,
    })))
}

/// A UUID v4 string, as `crypto.randomUUID()` makes the web SDK's event ids.
fn random_event_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Sends a request and unwraps LiveAvatar's envelope: a 2xx whose `code` is not 1000 is a
/// failure too, as the web SDK treats it.
async fn call<B: Serialize, T: DeserializeOwned>(
    rest: &Rest,
    method: reqwest::Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, Error> {
    let url = rest.url(path);
    let (status, text) = rest.send(method, &url, body).await?;
    let envelope: LiveAvatarEnvelope<T> = decode(&url, status, &text)?;
    if envelope.code != SUCCESS_CODE {
        return Err(failure(status, envelope.code, envelope.message, text));
    }
    envelope.data.ok_or_else(|| Error::Decode {
        url,
        status,
        body: text,
        source: serde::de::Error::custom("the envelope has no data"),
    })
}

async fn call_empty<B: Serialize>(rest: &Rest, path: &str, body: &B) -> Result<(), Error> {
    let url = rest.url(path);
    let (status, text) = rest.send(reqwest::Method::POST, &url, Some(body)).await?;
    let envelope: LiveAvatarEnvelope<serde_json::Value> = decode(&url, status, &text)?;
    if envelope.code != SUCCESS_CODE {
        return Err(failure(status, envelope.code, envelope.message, text));
    }
    Ok(())
}

fn failure(status: u16, code: i64, message: String, body: String) -> Error {
    Error::Api(ApiFailure {
        status,
        code: Some(code),
        message: Some(message),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_comes_from_the_tokens_payload() {
        use base64::Engine as _;
        let token = |claims: serde_json::Value| {
            let payload =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("e30.{payload}.sig")
        };
        let lite = token(serde_json::json!({"start_session_data": {"mode": "LITE"}}));
        assert_eq!(mode_of(&lite), SessionMode::Lite);
        let full = token(serde_json::json!({"start_session_data": {"mode": "FULL"}}));
        assert_eq!(mode_of(&full), SessionMode::Full);
        assert_eq!(mode_of("not a jwt"), SessionMode::Full);
        assert_eq!(mode_of(&token(serde_json::json!({}))), SessionMode::Full);
    }

    #[test]
    fn lite_messages_become_the_web_sdks_events() {
        let started = lite_event(
            "s",
            r#"{"type":"agent.speak_started","event_id":"e","task":{"id":"t"}}"#,
        );
        let Some(StreamingEvent::LiveAvatar(event)) = started else {
            panic!("{started:?}")
        };
        assert_eq!(event.kind, AgentEventKind::AvatarSpeakStarted);
        assert_eq!(event.source_event_id.as_deref(), Some("e"));
        for ignored in [
            r#"{"type":"agent.audio_buffer_appended","event_id":"e"}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"x"}}"#,
            "not json",
        ] {
            assert!(lite_event("s", ignored).is_none(), "{ignored}");
        }
    }

    #[test]
    fn event_ids_are_version_four_uuids() {
        let id = random_event_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, random_event_id());
    }
}
