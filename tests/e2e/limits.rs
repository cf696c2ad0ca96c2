//! §4 limits: concurrency (10007), idle timeout, session duration limit.

use serde_json::json;
use std::time::Duration;
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_server::ServerConfig;

#[tokio::test]
async fn the_fourth_live_session_of_a_trial_key_gets_10007() {
    // §4: 3 concurrent sessions on a trial token; §5: 10007 is HTTP 429.
    let env = TestEnv::start().await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(env.new_session().await);
    }
    let token = env.token().await;
    let answer = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    assert_error(&answer, 429, 10007);
    assert_eq!(answer.1["message"], "Concurrent limit reached");

    // Another account is not affected; stopping one frees a slot.
    let other = env.token_for("another-account").await;
    assert_success(
        &env.post("/v1/streaming.new", &other, json!({"version": "v2"}))
            .await,
    );
    let (first_token, first_id) = &sessions[0];
    env.post(
        "/v1/streaming.stop",
        first_token,
        json!({"session_id": first_id}),
    )
    .await;
    assert_success(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
    );
}

#[tokio::test]
async fn a_zero_limit_means_no_limit() {
    let env = TestEnv::with_config(ServerConfig {
        concurrency_limit: 0,
        ..understudy_e2e::rest_config()
    })
    .await;
    for _ in 0..10 {
        env.new_session().await;
    }
}

fn short_idle() -> ServerConfig {
    ServerConfig {
        default_idle_timeout: Duration::from_millis(300),
        ..understudy_e2e::rest_config()
    }
}

#[tokio::test]
async fn an_idle_session_closes_and_then_answers_10005() {
    // §4: idle timeout after the last activity; §5: 10005 afterwards.
    let env = TestEnv::with_config(short_idle()).await;
    let (token, id) = env.connected_session().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi"}),
        )
        .await,
        400,
        10005,
    );
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    assert_eq!(sessions[0]["close_reason"], "idle_timeout");
}

#[tokio::test]
async fn keep_alive_and_tasks_reset_the_idle_timer() {
    // §3.8: keep_alive resets the idle counter; so do tasks (§4).
    let env = TestEnv::with_config(short_idle()).await;
    let (token, id) = env.connected_session().await;
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let path = if round % 2 == 0 {
            "/v1/streaming.keep_alive"
        } else {
            "/v1/streaming.task"
        };
        let answer = env
            .post(
                path,
                &token,
                json!({"session_id": id, "text": "hi", "task_mode": "async"}),
            )
            .await;
        assert_success(&answer);
    }
    assert_eq!(env.status_of(&token, &id).await, "connected");
}

#[tokio::test]
async fn disable_idle_timeout_keeps_an_idle_session_open() {
    // §3.2: disable_idle_timeout: true turns the idle timeout off.
    let env = TestEnv::with_config(short_idle()).await;
    let token = env.token().await;
    let (_, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "disable_idle_timeout": true}),
        )
        .await;
    let id = body["data"]["session_id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(env.status_of(&token, id).await, "new");
}

#[tokio::test]
async fn the_duration_limit_closes_even_a_busy_session() {
    // §4: session_duration_limit caps a session whatever it does.
    let config = ServerConfig {
        session_duration_limit: Duration::from_millis(400),
        ..understudy_e2e::rest_config()
    };
    let env = TestEnv::with_config(config).await;
    let (token, id) = env.connected_session().await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": id}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_error(
        &env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": id}),
        )
        .await,
        400,
        10005,
    );
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    assert_eq!(sessions[0]["close_reason"], "duration_limit");
}

#[tokio::test]
async fn a_timed_out_session_frees_its_concurrency_slot() {
    let config = ServerConfig {
        concurrency_limit: 1,
        ..short_idle()
    };
    let env = TestEnv::with_config(config).await;
    env.new_session().await;
    let token = env.token().await;
    assert_error(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
        429,
        10007,
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_success(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
    );
}

#[tokio::test]
async fn minted_tokens_expire_and_the_table_stays_bounded() {
    // A mock that mints for hours keeps only live tokens: create_token goes through the sweep.
    let env = TestEnv::with_config(ServerConfig {
        token_ttl: std::time::Duration::from_secs(1),
        ..understudy_e2e::rest_config()
    })
    .await;
    for _ in 0..100 {
        env.token().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for _ in 0..924 {
        env.token().await;
    }
    let live = env.server.state().registry().token_count();
    assert!(
        live <= 924,
        "the 100 expired tokens were swept: {live} left"
    );
}

#[tokio::test]
async fn a_session_holds_at_most_eight_chat_sockets_and_eight_room_clients() {
    // Bounded sockets per session [INF: docs/fidelity.md]: past the limit the upgrade is
    // refused, HeyGen-style on the chat socket and with 429 on /rtc; a closed one frees a place.
    // The room clients all join with the session's one access token, so duplicate identities
    // are let in here (by default each would replace the one before).
    let env = TestEnv::with_config(ServerConfig {
        allow_duplicate_identity: true,
        ..ServerConfig::default()
    })
    .await;
    let token = env.token().await;
    let (_, created) = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    let data = &created["data"];
    let id = data["session_id"].as_str().unwrap().to_owned();
    assert_success(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
    );
    let limit = understudy_server::MAX_CLIENTS_PER_DOOR;

    let url = env.chat_url(&id, &token, "");
    let mut sockets = Vec::new();
    for _ in 0..limit {
        sockets.push(understudy_e2e::chat_client::connect(&url).await);
    }
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body: serde_json::Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["code"], 400123);
        }
        other => panic!("the ninth chat socket must be refused, got {other:?}"),
    }
    let mut first = sockets.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if tokio_tungstenite::connect_async(url.as_str()).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed socket frees its place"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let rtc = format!(
        "{}/rtc?access_token={}",
        data["url"].as_str().unwrap().replace("http", "ws"),
        data["access_token"].as_str().unwrap()
    );
    let mut clients = Vec::new();
    for _ in 0..limit {
        clients.push(
            tokio_tungstenite::connect_async(rtc.as_str())
                .await
                .unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(rtc.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("the ninth room client must be refused, got {other:?}"),
    }
}
