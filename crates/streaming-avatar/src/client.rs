//! `StreamingAvatar`: a cheap, cloneable handle over one HTTP client and, like the official SDK,
//! the id of the session it is driving. Its methods map one-to-one onto the REST endpoints.

use crate::error::{ApiFailure, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use understudy_proto::rest::SessionIdRequest;
use understudy_proto::rest::avatar::StreamingAvatarInfo;
use understudy_proto::rest::list::{ListSessionsData, SessionHistoryPage};
use understudy_proto::rest::session::{
    NewSessionData, NewSessionRequest, StartSessionRequest, VideoEncoding,
};
use understudy_proto::rest::task::{TaskData, TaskMode, TaskRequest, TaskType};
use understudy_proto::rest::token::{CreateTokenData, CreateTokenRequest};
use understudy_proto::{ApiEnvelope, SUCCESS_CODE, TokenEnvelope};

/// The real service.
pub const DEFAULT_BASE_PATH: &str = "https://api.heygen.com";

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A session token from `create_token`, sent as `Authorization: Bearer`; what browsers hold.
    Token(String),
    /// The account's API key, sent as `X-Api-Key`; only servers should hold it.
    ApiKey(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
        }
    }
}

/// What `speak` sends: the text, and the official SDK's `taskType` / `taskMode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakRequest {
    pub text: String,
    pub task_type: TaskType,
    pub task_mode: TaskMode,
}

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
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config(&self.extra_roots_pem)?)
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(StreamingAvatar {
            inner: Arc::new(Inner {
                http,
                base_path: self.base_path.trim_end_matches('/').to_owned(),
                credentials,
                session_id: Mutex::new(None),
            }),
        })
    }
}

/// A client of the Streaming Avatar API. Clones share the connection pool and the session.
#[derive(Debug, Clone)]
pub struct StreamingAvatar {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_path: String,
    credentials: Credentials,
    session_id: Mutex<Option<String>>,
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
        &self.inner.base_path
    }

    /// The session this client drives, once `new_session` or `attach_session` set it.
    pub fn session_id(&self) -> Option<String> {
        self.inner
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drive a session created elsewhere (e.g. by a backend), like SDK 2.0.15's `startAvatar`.
    pub fn attach_session(&self, session_id: impl Into<String>) {
        *self
            .inner
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(session_id.into());
    }

    fn require_session(&self) -> Result<String, Error> {
        self.session_id().ok_or(Error::NoSession)
    }

    /// `POST /v1/streaming.create_token`: trade the API key for a one-session token.
    ///
    /// # Errors
    /// [`Error::ApiKeyRequired`] on a token client; otherwise any API or transport failure.
    pub async fn create_token(&self) -> Result<String, Error> {
        if !matches!(self.inner.credentials, Credentials::ApiKey(_)) {
            return Err(Error::ApiKeyRequired);
        }
        let url = self.url("/v1/streaming.create_token");
        let (status, body) = self
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

    /// `POST /v1/streaming.new`. Like the official SDK it fills `version: "v2"`,
    /// `video_encoding: "H264"` and `source: "sdk"` when unset, and remembers the session id.
    ///
    /// # Errors
    /// Any API failure (401, 10007 concurrency, 400006 bad params) or transport failure.
    pub async fn new_session(&self, request: &NewSessionRequest) -> Result<NewSessionData, Error> {
        let mut request = request.clone();
        request.version.get_or_insert_with(|| "v2".to_owned());
        request.video_encoding.get_or_insert(VideoEncoding::H264);
        request.source.get_or_insert_with(|| "sdk".to_owned());
        let data: NewSessionData = self.call("/v1/streaming.new", &request).await?;
        self.attach_session(data.session_id.clone());
        Ok(data)
    }

    /// `POST /v1/streaming.start` for the current session.
    ///
    /// # Errors
    /// [`Error::NoSession`], or the API's state errors (10002, 10003, 10005).
    pub async fn start_session(&self) -> Result<(), Error> {
        let session_id = self.require_session()?;
        self.call_empty(
            "/v1/streaming.start",
            &StartSessionRequest {
                session_id,
                sdp: None,
            },
        )
        .await
    }

    /// `new_session` then `start_session`: the REST half of the SDK's `createStartAvatar`.
    ///
    /// # Errors
    /// The first failure of the two calls.
    pub async fn create_start_avatar(
        &self,
        request: &NewSessionRequest,
    ) -> Result<NewSessionData, Error> {
        let data = self.new_session(request).await?;
        self.start_session().await?;
        Ok(data)
    }

    /// `POST /v1/streaming.task`.
    ///
    /// # Errors
    /// [`Error::NoSession`], 400006 before the client joined, 10005 once closed.
    pub async fn speak(&self, request: &SpeakRequest) -> Result<TaskData, Error> {
        let body = TaskRequest {
            session_id: self.require_session()?,
            text: request.text.clone(),
            task_type: Some(request.task_type),
            task_mode: Some(request.task_mode),
            interrupt: None,
        };
        self.call("/v1/streaming.task", &body).await
    }

    /// `POST /v1/streaming.interrupt`.
    ///
    /// # Errors
    /// [`Error::NoSession`] or the API's state errors.
    pub async fn interrupt(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.interrupt").await
    }

    /// `POST /v1/streaming.start_listening`.
    ///
    /// # Errors
    /// [`Error::NoSession`] or the API's state errors.
    pub async fn start_listening(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.start_listening").await
    }

    /// `POST /v1/streaming.stop_listening`.
    ///
    /// # Errors
    /// [`Error::NoSession`] or the API's state errors.
    pub async fn stop_listening(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.stop_listening").await
    }

    /// `POST /v1/streaming.keep_alive`: resets the idle timeout.
    ///
    /// # Errors
    /// [`Error::NoSession`] or the API's state errors.
    pub async fn keep_alive(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.keep_alive").await
    }

    /// `POST /v1/streaming.stop`; forgets the session once the server has closed it.
    ///
    /// # Errors
    /// [`Error::NoSession`], or 400004 for a session that had already ended.
    pub async fn stop_avatar(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.stop").await?;
        *self
            .inner
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// `GET /v1/streaming.list`: the account's live sessions.
    ///
    /// # Errors
    /// Any API or transport failure.
    pub async fn list_sessions(&self) -> Result<ListSessionsData, Error> {
        self.get("/v1/streaming.list").await
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
        let url = self.url(&format!(
            "/v2/streaming.list?page={page}&page_size={page_size}"
        ));
        let (status, body) = self.send::<()>(reqwest::Method::GET, &url, None).await?;
        decode(&url, status, &body)
    }

    /// `GET /v1/streaming/avatar.list`.
    ///
    /// # Errors
    /// Any API or transport failure.
    pub async fn list_avatars(&self) -> Result<Vec<StreamingAvatarInfo>, Error> {
        self.get("/v1/streaming/avatar.list").await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base_path)
    }

    async fn session_call(&self, path: &str) -> Result<(), Error> {
        let body = SessionIdRequest::new(self.require_session()?);
        self.call_empty(path, &body).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let url = self.url(path);
        let (status, text) = self.send(reqwest::Method::POST, &url, Some(body)).await?;
        unwrap_data(&url, status, text)
    }

    async fn call_empty<B: Serialize>(&self, path: &str, body: &B) -> Result<(), Error> {
        let url = self.url(path);
        let (status, text) = self.send(reqwest::Method::POST, &url, Some(body)).await?;
        let envelope: ApiEnvelope<serde_json::Value> = decode(&url, status, &text)?;
        check_code(status, &envelope, text)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let url = self.url(path);
        let (status, text) = self.send::<()>(reqwest::Method::GET, &url, None).await?;
        unwrap_data(&url, status, text)
    }

    /// Sends one request; a non-2xx status becomes [`Error::Api`] with HeyGen's code and message.
    async fn send<B: Serialize>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<(u16, String), Error> {
        let mut request = self.inner.http.request(method, url);
        request = match &self.inner.credentials {
            Credentials::Token(token) => request.bearer_auth(token),
            Credentials::ApiKey(key) => request.header("x-api-key", key),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: reqwest::Error| Error::Transport {
            url: url.to_owned(),
            source: Box::new(e),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            let parsed: Option<understudy_proto::ErrorBody> = serde_json::from_str(&text).ok();
            return Err(Error::Api(ApiFailure {
                status,
                code: parsed.as_ref().map(|b| b.code),
                message: parsed.map(|b| b.message),
                body: text,
            }));
        }
        Ok((status, text))
    }
}

fn decode<T: DeserializeOwned>(url: &str, status: u16, body: &str) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|source| Error::Decode {
        url: url.to_owned(),
        status,
        body: body.to_owned(),
        source,
    })
}

/// A 2xx whose envelope `code` is not 100 is still a failure (users saw it on the real service).
fn check_code<T>(status: u16, envelope: &ApiEnvelope<T>, body: String) -> Result<(), Error> {
    if envelope.code == SUCCESS_CODE {
        return Ok(());
    }
    Err(Error::Api(ApiFailure {
        status,
        code: Some(envelope.code),
        message: Some(envelope.message.clone()),
        body,
    }))
}

fn unwrap_data<T: DeserializeOwned>(url: &str, status: u16, body: String) -> Result<T, Error> {
    let envelope: ApiEnvelope<T> = decode(url, status, &body)?;
    check_code(status, &envelope, body.clone())?;
    envelope.data.ok_or_else(|| Error::Decode {
        url: url.to_owned(),
        status,
        body,
        source: serde::de::Error::custom("the envelope has no data"),
    })
}
