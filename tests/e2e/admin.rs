//! The admin routes under `/__understudy`: journal, session dump, reset, health.

use serde_json::json;
use understudy_e2e::{KEY, TestEnv, assert_error};

#[tokio::test]
async fn the_journal_records_requests_with_headers_bodies_and_answers() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    env.post(
        "/v1/streaming.task",
        &token,
        json!({"session_id": id, "text": "hello", "task_mode": "async"}),
    )
    .await;
    let requests = env.server.received_requests();
    let task = requests
        .iter()
        .find(|r| r.path == "/v1/streaming.task")
        .expect("journaled");
    assert_eq!(task.method, "POST");
    // Secrets are journaled as fingerprints: which token was sent, never the token.
    assert_eq!(
        task.headers["authorization"],
        format!("Bearer {}", understudy_server::redact::fingerprint(&token))
    );
    assert_eq!(task.body["text"], "hello");
    assert_eq!(task.status, 200);
    assert!(task.response["data"]["task_id"].is_string());
    let (_, over_http) = env.send("GET", "/__understudy/requests", &[], None).await;
    assert_eq!(
        over_http.as_array().unwrap().len(),
        requests.len(),
        "admin calls are not journaled"
    );
}

#[tokio::test]
async fn reset_forgets_tokens_and_sessions() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let (status, _) = env.send("POST", "/__understudy/reset", &[], None).await;
    assert_eq!(status, 200);
    assert_error(
        &env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": id}),
        )
        .await,
        401,
        400112,
    );
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    assert_eq!(sessions, json!([]));
    let (_, requests) = env.send("GET", "/__understudy/requests", &[], None).await;
    assert_eq!(
        requests.as_array().unwrap().len(),
        1,
        "only the refused keep_alive"
    );
}

#[tokio::test]
async fn health_answers_ok_and_the_journal_can_be_cleared() {
    let env = TestEnv::start().await;
    env.send("GET", "/v1/streaming.list", &[("x-api-key", KEY)], None)
        .await;
    assert_eq!(
        env.send("GET", "/__understudy/health", &[], None).await.1["status"],
        "ok"
    );
    env.send("DELETE", "/__understudy/requests", &[], None)
        .await;
    assert!(env.server.received_requests().is_empty());
}

#[tokio::test]
async fn the_journal_never_holds_an_api_key_or_a_token() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let (_, created) = env
        .send(
            "POST",
            "/v1/streaming.create_token",
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    let minted = created["data"]["token"].as_str().unwrap().to_owned();
    let (_, over_http) = env.send("GET", "/__understudy/requests", &[], None).await;
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    let export = format!("{over_http}{sessions}");
    for secret in [KEY, token.as_str(), minted.as_str()] {
        assert!(!export.contains(secret), "{secret} leaked into the journal");
    }
    assert!(export.contains(&understudy_server::redact::fingerprint(&minted)));
    assert!(export.contains(&id), "ids are not secrets");
    assert!(export.contains(&understudy_server::redact::fingerprint(KEY)));
}
