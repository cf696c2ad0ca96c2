//! `TestEnv`: a running mock on a free loopback port plus an HTTP client, and the few calls
//! every e2e test needs (mint a token, create and start a session). Every request has a timeout.

pub mod chat_client;
pub mod livekit_viewer;
pub mod raw_viewer;
pub mod sdk_events;
pub mod speech;

use serde_json::{Value, json};
use std::time::Duration;
use understudy_server::{MockServer, ServerConfig};

/// The longest any single request may take in a test before it fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The API key tests use unless they need another account.
pub const KEY: &str = "test-key";

/// A directory of its own under the system temp directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(
            std::env::temp_dir().join(format!("understudy-e2e-{label}-{}-{n}", std::process::id())),
        )
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A mock serving HTTPS on a free loopback port with a certificate generated for this test
/// (for `localhost` plus `extra_names`), and plain HTTP too when `plain_http`. Keep the
/// directory alive as long as the server.
pub async fn https_server(extra_names: &[&str], plain_http: bool) -> (MockServer, TempDir) {
    let dir = TempDir::new("tls");
    let tls = understudy_server::TlsSource::Generated {
        dir: dir.0.clone(),
        names: extra_names.iter().map(|n| n.to_string()).collect(),
    };
    let mut builder = MockServer::builder()
        .config(rest_config())
        .https(([127, 0, 0, 1], 0).into(), tls);
    if !plain_http {
        builder = builder.no_http();
    }
    (builder.start().await.expect("HTTPS mock starts"), dir)
}

/// The default configuration plus `connect_on_start`, for tests that never join the room.
pub fn rest_config() -> ServerConfig {
    ServerConfig {
        connect_on_start: true,
        ..ServerConfig::default()
    }
}

#[derive(Debug)]
pub struct TestEnv {
    pub server: MockServer,
    pub http: reqwest::Client,
}

/// An HTTP client on rustls/ring that also trusts `extra_root_pem`.
pub fn http_client(extra_root_pem: Option<&str>) -> reqwest::Client {
    let tls = tls_config(extra_root_pem.unwrap_or_default());
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

impl TestEnv {
    /// A mock for REST-level tests: sessions connect on `start` since no client joins a room.
    pub async fn start() -> Self {
        Self::with_config(rest_config()).await
    }

    pub async fn with_config(config: ServerConfig) -> Self {
        let server = MockServer::builder()
            .config(config)
            .start()
            .await
            .expect("mock starts");
        Self {
            server,
            http: http_client(None),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }

    /// Sends `body` (or nothing) as JSON with the given headers; returns the status and the
    /// JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut with_type: Vec<(&str, &str)> = headers.to_vec();
        with_type.push(("content-type", "application/json"));
        self.send_raw(method, path, &with_type, bytes).await
    }

    /// Sends raw bytes; the answer must still be JSON.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the mock answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("non-JSON body from {path}: {text:?}"));
        (status, json)
    }

    /// POST with a session token.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            "POST",
            path,
            &[("authorization", &format!("Bearer {token}"))],
            Some(body),
        )
        .await
    }

    /// GET with a session token.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(
            "GET",
            path,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await
    }

    /// A fresh session token for `key`.
    pub async fn token_for(&self, key: &str) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/v1/streaming.create_token",
                &[("x-api-key", key)],
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["token"].as_str().expect("token").to_owned()
    }

    pub async fn token(&self) -> String {
        self.token_for(KEY).await
    }

    /// The Rust SDK with a fresh session token, as an app's front end holds it.
    pub async fn sdk(&self) -> streaming_avatar::StreamingAvatar {
        streaming_avatar::StreamingAvatar::builder()
            .base_path(self.server.uri())
            .token(self.token().await)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("SDK client")
    }

    /// A session started through the SDK (room joined, chat socket open) and its events from
    /// before the start, so none is missed; also the token that owns it.
    pub async fn sdk_session(
        &self,
        request: streaming_avatar::proto::rest::session::NewSessionRequest,
        options: streaming_avatar::SessionOptions,
    ) -> (
        streaming_avatar::Session,
        streaming_avatar::EventStream,
        String,
    ) {
        let token = self.token().await;
        let client = streaming_avatar::StreamingAvatar::builder()
            .base_path(self.server.uri())
            .token(token.clone())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("SDK client");
        let mut session = client
            .new_session_with(&request, options)
            .await
            .expect("streaming.new");
        let events = session.events();
        session
            .start()
            .await
            .expect("the session starts and joins its room");
        (session, events, token)
    }

    /// A v2 session in state `new`, with its own token.
    pub async fn new_session(&self) -> (String, String) {
        let token = self.token().await;
        let (status, body) = self
            .post(
                "/v1/streaming.new",
                &token,
                json!({"version": "v2", "avatar_name": "default"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            token,
            body["data"]["session_id"]
                .as_str()
                .expect("session_id")
                .to_owned(),
        )
    }

    /// A v2 session in state `connected`.
    pub async fn connected_session(&self) -> (String, String) {
        let (token, id) = self.new_session().await;
        let (status, body) = self
            .post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await;
        assert_eq!(status, 200, "{body}");
        (token, id)
    }

    /// Asserts that the session outlived whatever the test threw at it: `keep_alive` succeeds.
    pub async fn assert_alive(&self, token: &str, session_id: &str) {
        assert_success(
            &self
                .post(
                    "/v1/streaming.keep_alive",
                    token,
                    json!({"session_id": session_id}),
                )
                .await,
        );
    }

    /// The session's state as `/v2/streaming.list` reports it.
    pub async fn status_of(&self, token: &str, session_id: &str) -> String {
        let (_, body) = self.get("/v2/streaming.list?page_size=100", token).await;
        body["data"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["session_id"] == session_id))
            .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }
}

/// Asserts a HeyGen error answer: this status, this code, and a `{code, message}` body.
pub fn assert_error(answer: &(u16, Value), status: u16, code: i64) {
    let (got_status, body) = answer;
    assert_eq!(
        (*got_status, body["code"].as_i64()),
        (status, Some(code)),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
}

/// Asserts a `{code: 100, data, message: "success"}` answer.
pub fn assert_success(answer: &(u16, Value)) {
    let (status, body) = answer;
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["code"], 100, "{body}");
}

/// A rustls client configuration on ring that trusts only `root_pem`.
pub fn tls_config(root_pem: &str) -> rustls::ClientConfig {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        roots.add(cert.expect("PEM certificate")).expect("add root");
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}
