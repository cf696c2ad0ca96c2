//! Shared set-up for the criterion benches: a mock with one connected session whose idle
//! timeout is off, and requests for the routes under measurement.

pub mod bare_channel;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use understudy_server::{MockServer, ServerConfig};

/// Bench key; any key works on the default configuration.
pub const KEY: &str = "bench-key";

/// A plain-HTTP client. reqwest is built without a default crypto provider (ring is chosen
/// explicitly everywhere), so install ring as the process default first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A mock on loopback with one connected session; returns the server and the session id.
pub async fn server_with_session() -> (MockServer, String) {
    let config = ServerConfig {
        concurrency_limit: 0,
        ..Default::default()
    };
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("mock starts");
    let client = http_client();
    let new: serde_json::Value = client
        .post(format!("{}/v1/streaming.new", server.uri()))
        .header("x-api-key", KEY)
        .json(&json!({"version": "v2", "disable_idle_timeout": true}))
        .send()
        .await
        .expect("new")
        .json()
        .await
        .expect("json");
    let id = new["data"]["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    client
        .post(format!("{}/v1/streaming.start", server.uri()))
        .header("x-api-key", KEY)
        .json(&json!({"session_id": id}))
        .send()
        .await
        .expect("start");
    (server, id)
}

/// The body of an async repeat task of ten words.
pub fn task_body(session_id: &str) -> String {
    json!({"session_id": session_id, "text": "one two three four five six seven eight nine ten", "task_type": "repeat", "task_mode": "async"})
        .to_string()
}

pub fn interrupt_body(session_id: &str) -> String {
    json!({"session_id": session_id}).to_string()
}

/// An in-process POST with the bench key.
pub fn post(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header("x-api-key", KEY)
        .body(Body::from(body))
        .expect("request")
}

/// An in-process GET of the health route: the baseline that passes the same layers (CORS,
/// journal, panic guard) with no session work.
pub fn health() -> Request<Body> {
    Request::get("/__understudy/health")
        .body(Body::empty())
        .expect("request")
}
