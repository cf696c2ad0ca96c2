//! Property tests: arbitrary bodies, raw bytes and credentials on every endpoint always get a
//! well-formed HeyGen answer, never a 500 and never a panic.
//!
//! Cases per endpoint: 1,000 by default; set `PROPTEST_CASES` for more (or fewer).
//! The router runs in process on a paused clock, so `sync` tasks and timers cost no real time.

use axum::body::Body;
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use understudy_server::{MockServer, ServerConfig, app};

const ENDPOINTS: [(&str, &str); 16] = [
    ("POST", "/v1/streaming.create_token"),
    ("POST", "/v1/streaming.new"),
    ("POST", "/v1/streaming.start"),
    ("POST", "/v1/streaming.ice"),
    ("POST", "/v1/streaming.task"),
    ("POST", "/v1/streaming.interrupt"),
    ("POST", "/v1/streaming.start_listening"),
    ("POST", "/v1/streaming.stop_listening"),
    ("POST", "/v1/streaming.keep_alive"),
    ("POST", "/v1/streaming.stop"),
    ("GET", "/v1/streaming.list"),
    ("GET", "/v2/streaming.list"),
    ("GET", "/v1/streaming/avatar.list"),
    ("GET", "/v1/streaming/knowledge_base/list"),
    ("POST", "/v1/streaming/knowledge_base/create"),
    ("POST", "/v1/streaming/knowledge_base/kb-1"),
];

const FIELDS: [&str; 18] = [
    "session_id",
    "text",
    "task_type",
    "task_mode",
    "version",
    "quality",
    "avatar_name",
    "avatar_id",
    "voice",
    "rate",
    "emotion",
    "activity_idle_timeout",
    "disable_idle_timeout",
    "candidate",
    "sdp",
    "name",
    "prompt",
    "video_encoding",
];

const WORDS: [&str; 12] = [
    "v2", "sync", "async", "talk", "repeat", "chat", "high", "low", "H264", "excited", "default",
    "",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// JSON made of the fields and words the endpoints care about, plus the live session's id.
fn json_value(session_id: String) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(WORDS.to_vec()).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        Just(Value::from(session_id)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6).prop_map(
                |pairs| Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>()
                )
            ),
        ]
    })
}

#[derive(Debug, Clone)]
enum Credential {
    None,
    Key,
    Token,
    Garbage(String),
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        Just(Credential::None),
        Just(Credential::Key),
        Just(Credential::Token),
        "\\PC{0,20}".prop_map(Credential::Garbage),
    ]
}

fn body(session_id: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value(session_id).prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ]
}

/// Checks one answer's envelope.
fn check(path: &str, status: u16, bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(status, 200 | 400 | 401 | 403 | 404 | 405 | 413 | 429),
        "status {status} on {path}"
    );
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| TestCaseError::fail(format!("{path}: not JSON: {e}")))?;
    if status == 200 && path.ends_with("create_token") {
        prop_assert!(
            body["error"].is_null() && body["data"]["token"].is_string(),
            "{body}"
        );
    } else if status == 200 {
        prop_assert_eq!(&body["code"], &json!(100), "{}", body);
        prop_assert!(body["message"].is_string());
    } else {
        let object = body
            .as_object()
            .ok_or_else(|| TestCaseError::fail("error body is not an object"))?;
        prop_assert!(
            object["code"].is_i64() && object["message"].is_string(),
            "{body}"
        );
        prop_assert_eq!(object.len(), 2, "{}", body);
    }
    Ok(())
}

#[test]
fn every_endpoint_answers_any_body_with_a_heygen_envelope() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let config = ServerConfig {
        concurrency_limit: 0,
        allow_token_reuse: true,
        ..understudy_e2e::rest_config()
    };
    let server = runtime
        .block_on(MockServer::builder().config(config).start())
        .unwrap();
    let router = app(server.state().clone());
    let send = |method: &str, path: &str, credential: &Credential, token: &str, body: Vec<u8>| {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        request = match credential {
            Credential::None => request,
            Credential::Key => request.header("x-api-key", "prop-key"),
            Credential::Token => request.header("authorization", format!("Bearer {token}")),
            Credential::Garbage(value) => request.header("authorization", value.as_str()),
        };
        let request = request.body(Body::from(body)).unwrap();
        runtime.block_on(async {
            let response = router.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.into_body().collect().await.unwrap().to_bytes(),
            )
        })
    };

    // A live, connected session so that valid-looking bodies reach the handlers' success paths.
    let (_, token) = send(
        "POST",
        "/v1/streaming.create_token",
        &Credential::Key,
        "",
        vec![],
    );
    let token: Value = serde_json::from_slice(&token).unwrap();
    let token = token["data"]["token"].as_str().unwrap().to_owned();
    let (_, session) = send(
        "POST",
        "/v1/streaming.new",
        &Credential::Key,
        "",
        br#"{"version":"v2"}"#.to_vec(),
    );
    let session: Value = serde_json::from_slice(&session).unwrap();
    let session_id = session["data"]["session_id"].as_str().unwrap().to_owned();
    let start = json!({"session_id": session_id}).to_string().into_bytes();
    assert_eq!(
        send("POST", "/v1/streaming.start", &Credential::Key, "", start).0,
        200
    );

    for (method, path) in ENDPOINTS {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(
                &(credential(), body(session_id.clone())),
                |(credential, body)| {
                    let (status, bytes) = send(method, path, &credential, &token, body);
                    check(path, status, &bytes)
                },
            )
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    }
}
