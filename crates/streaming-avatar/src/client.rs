//! `StreamingAvatar`: the account-level client, a cheap, cloneable handle over one HTTP client
//! and the credentials. It mints tokens, lists, and makes [`Session`]s; everything a session
//! does lives on the session, which owns its id, room and chat socket.

use crate::error::{ApiFailure, Error};
use crate::rest::{Credentials, Rest, decode};
use crate::session::{Session, SessionOptions};
use std::sync::Arc;
use std::time::Duration;
use understudy_proto::TokenEnvelope;
use understudy_proto::rest::avatar::StreamingAvatarInfo;
use understudy_proto::rest::list::{ListSessionsData, SessionHistoryPage};
use understudy_proto::rest::session::{NewSessionData, NewSessionRequest, VideoEncoding};
use understudy_proto::rest::token::{CreateTokenData, CreateTokenRequest};

/// The real service.
pub const DEFAULT_BASE_PATH: &str = "https://api.heygen.com";

/// What `speak` sends: the text, and the official SDK's `taskType` / `taskMode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakRequest {
    pub text: String,
    pub task_type: TaskType,
    pub task_mode: TaskMode,
}

use understudy_proto::rest::task::{TaskMode, TaskType};

impl SpeakRequest {
    /// Say `text` verbatim, answering at once (`repeat`, `async`).
    pub fn repeat(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            task_type: TaskType::Repeat,
            task_mode: TaskMode::Async,
        }
    }

    /// Treat `text` as the user's words and speak the reply (`talk`, `async`), the SDK default.
    pub fn talk(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            task_type: TaskType::Talk,
            task_mode: TaskMode::Async,
        }
    }

    /// Answer only when the speech has ended.
    pub fn sync(mut self) -> Self {
        self.task_mode = TaskMode::Sync;
        self
    }
}

/// Builds a [`StreamingAvatar`].
#[derive(Debug, Clone)]
#[must_use]
pub struct StreamingAvatarBuilder {
    base_path: String,
    credentials: Option<Credentials>,
    extra_roots_pem: Vec<String>,
    timeout: Duration,
}

impl Default for StreamingAvatarBuilder {
    fn default() -> Self {
        Self {
            base_path: DEFAULT_BASE_PATH.to_owned(),
            credentials: None,
            extra_roots_pem: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }
}

impl StreamingAvatarBuilder {
    /// The API's base URL, `https://api.heygen.com` unless set.
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = base_path.into();
        self
    }

    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Token(token.into()));
        self
    }

    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::ApiKey(key.into()));
        self
    }

    /// Trust this PEM certificate too, e.g. the one `understudy serve` writes for HTTPS.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Per-request timeout; `sync` tasks wait for the whole utterance, so keep it generous.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// # Errors
    /// No credentials, a base path that is not an http(s) URL, or an unusable root certificate.
    pub fn build(self) -> Result<StreamingAvatar, Error> {
        let credentials = self
            .credentials
            .ok_or_else(|| Error::Config("a token or an API key is required".into()))?;
        let base = url::Url::parse(&self.base_path)
            .map_err(|e| Error::Config(format!("base path {:?}: {e}", self.base_path)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base path {:?} is not http or https",
                self.base_path
            )));
        }
        let tls = crate::tls::client_config(&self.extra_roots_pem)?;
        let mut socket_tls = tls.clone();
        // WebSockets upgrade over HTTP/1.1 only.
        socket_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(StreamingAvatar {
            rest: Rest::new(
                http,
                self.base_path.trim_end_matches('/').to_owned(),
                credentials,
            ),
            socket_tls: Arc::new(socket_tls),
        })
    }
}

/// A client of the Streaming Avatar API. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct StreamingAvatar {
    rest: Rest,
    /// TLS for the signalling and chat sockets (same roots as HTTP, HTTP/1.1 only).
    socket_tls: Arc<rustls::ClientConfig>,
}

impl StreamingAvatar {
    pub fn builder() -> StreamingAvatarBuilder {
        StreamingAvatarBuilder::default()
    }

    /// A client for the real service with a session token, like `new StreamingAvatar({token})`.
    ///
    /// # Errors
    /// Only if TLS cannot be set up.
    pub fn new(token: impl Into<String>) -> Result<Self, Error> {
        Self::builder().token(token).build()
    }

    pub fn base_path(&self) -> &str {
        self.rest.base_path()
    }

    /// A client for a session token this one minted, sharing its HTTP connections, timeout
    /// and TLS roots: what a server holding many sessions wants, rather than a connection
    /// pool per session.
    pub fn with_token(&self, token: impl Into<String>) -> StreamingAvatar {
        StreamingAvatar {
            rest: self.rest.with_credentials(Credentials::Token(token.into())),
            socket_tls: Arc::clone(&self.socket_tls),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        self.rest.credentials()
    }

    pub(crate) fn rest(&self) -> &Rest {
        &self.rest
    }

    pub(crate) fn socket_tls(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.socket_tls)
    }

    /// `POST /v1/streaming.create_token`: trade the API key for a one-session token.
    ///
    /// # Errors
    /// [`Error::ApiKeyRequired`] on a token client; otherwise any API or transport failure.
    pub async fn create_token(&self) -> Result<String, Error> {
        if !matches!(self.rest.credentials(), Credentials::ApiKey(_)) {
            return Err(Error::ApiKeyRequired);
        }
        let url = self.rest.url("/v1/streaming.create_token");
        let (status, body) = self
            .rest
            .send(
                reqwest::Method::POST,
                &url,
                Some(&CreateTokenRequest::default()),
            )
            .await?;
        let envelope: TokenEnvelope<CreateTokenData> = decode(&url, status, &body)?;
        match envelope.data {
            Some(data) if envelope.error.is_none() => Ok(data.token),
            _ => Err(Error::Api(ApiFailure {
                status,
                code: None,
                message: envelope.error.map(|e| e.to_string()),
                body,
            })),
        }
    }

    /// `POST /v1/streaming.new` with the default [`SessionOptions`]: a session in state `new`,
    /// not yet started. Like the official SDK it fills `version: "v2"`, `video_encoding:
    /// "H264"` and `source: "sdk"` when unset.
    ///
    /// # Errors
    /// Any API failure (401, 10007 concurrency, 400006 bad params) or transport failure.
    pub async fn new_session(&self, request: &NewSessionRequest) -> Result<Session, Error> {
        self.new_session_with(request, SessionOptions::default())
            .await
    }

    /// `POST /v1/streaming.new` with `options`, which also fill the request's voice-transport
    /// and silence fields (`ia_is_livekit_transport`, `silence_response`) as the SDK does.
    ///
    /// # Errors
    /// As [`StreamingAvatar::new_session`].
    pub async fn new_session_with(
        &self,
        request: &NewSessionRequest,
        options: SessionOptions,
    ) -> Result<Session, Error> {
        let mut request = request.clone();
        request.version.get_or_insert_with(|| "v2".to_owned());
        request.video_encoding.get_or_insert(VideoEncoding::H264);
        request.source.get_or_insert_with(|| "sdk".to_owned());
        request
            .ia_is_livekit_transport
            .get_or_insert(options.voice_chat_transport == crate::VoiceChatTransport::LiveKit);
        // The official SDK sends `useSilencePrompt` as given: absent unless set.
        if options.use_silence_prompt {
            request.silence_response.get_or_insert(true);
        }
        let data: NewSessionData = self.rest.call("/v1/streaming.new", &request).await?;
        Ok(Session::new(self.clone(), data, options))
    }

    /// `new_session` then [`Session::start`]: the official SDK's `createStartAvatar`. Returns
    /// once the room is joined and the chat socket is open; `StreamReady` follows when both of
    /// the avatar's tracks are subscribed.
    ///
    /// # Errors
    /// The first failure; a session that was created but could not start is stopped.
    pub async fn create_start_avatar(&self, request: &NewSessionRequest) -> Result<Session, Error> {
        self.create_start_avatar_with(request, SessionOptions::default())
            .await
    }

    /// [`StreamingAvatar::create_start_avatar`] with options.
    ///
    /// # Errors
    /// As [`StreamingAvatar::create_start_avatar`].
    pub async fn create_start_avatar_with(
        &self,
        request: &NewSessionRequest,
        options: SessionOptions,
    ) -> Result<Session, Error> {
        let mut session = self.new_session_with(request, options).await?;
        if let Err(e) = session.start().await {
            let _ = session.stop().await;
            return Err(e);
        }
        Ok(session)
    }

    /// Drives a session created elsewhere (e.g. by a backend), as SDK 2.x's `startAvatar(…,
    /// sessionInfo)` does: call [`Session::start`] next, or only the REST calls.
    pub fn attach_session(&self, info: NewSessionData, options: SessionOptions) -> Session {
        Session::new(self.clone(), info, options)
    }

    /// `GET /v1/streaming.list`: the account's live sessions.
    ///
    /// # Errors
    /// Any API or transport failure.
    pub async fn list_sessions(&self) -> Result<ListSessionsData, Error> {
        self.rest.get("/v1/streaming.list").await
    }

    /// `GET /v2/streaming.list?page=&page_size=`: the account's session history.
    ///
    /// # Errors
    /// Any API or transport failure.
    pub async fn list_session_history(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<SessionHistoryPage, Error> {
        let url = self.rest.url(&format!(
            "/v2/streaming.list?page={page}&page_size={page_size}"
        ));
        let (status, body) = self
            .rest
            .send::<()>(reqwest::Method::GET, &url, None)
            .await?;
        decode(&url, status, &body)
    }

    /// `GET /v1/streaming/avatar.list`.
    ///
    /// # Errors
    /// Any API or transport failure.
    pub async fn list_avatars(&self) -> Result<Vec<StreamingAvatarInfo>, Error> {
        self.rest.get("/v1/streaming/avatar.list").await
    }
}
