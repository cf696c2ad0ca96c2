//! §1 authentication: API keys, session tokens, 401s, visibility.

use serde_json::json;
use std::collections::BTreeSet;
use understudy_e2e::{KEY, TestEnv, assert_error, assert_success};
use understudy_server::{AuthPolicy, ServerConfig};

#[tokio::test]
async fn create_token_answers_in_the_error_envelope() {
    // §2, §3.1: {"error": null, "data": {"token": ...}}, no code.
    let env = TestEnv::start().await;
    let (status, body) = env
        .send(
            "POST",
            "/v1/streaming.create_token",
            &[("X-Api-Key", KEY)],
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["error"].is_null());
    assert!(
        body["data"]["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(body.get("code").is_none());
}

#[tokio::test]
async fn the_api_key_header_matches_in_any_case() {
    // §1.1: SDK 1.0.0 sends X-API-KEY, demos x-api-key or X-Api-Key.
    let env = TestEnv::start().await;
    for name in ["X-API-KEY", "x-api-key", "X-Api-Key"] {
        let (status, _) = env
            .send("POST", "/v1/streaming.create_token", &[(name, KEY)], None)
            .await;
        assert_eq!(status, 200, "{name}");
    }
}

#[tokio::test]
async fn missing_or_unknown_credentials_get_400112() {
    // §1.1: HTTP 401 {"code":400112,"message":"Unauthorized"}.
    let env = TestEnv::start().await;
    assert_error(
        &env.send("POST", "/v1/streaming.create_token", &[], None)
            .await,
        401,
        400112,
    );
    assert_error(
        &env.post("/v1/streaming.new", "not-a-token", json!({"version": "v2"}))
            .await,
        401,
        400112,
    );
    let (_, body) = env
        .send(
            "POST",
            "/v1/streaming.new",
            &[],
            Some(json!({"version": "v2"})),
        )
        .await;
    assert_eq!(body, json!({"code": 400112, "message": "Unauthorized"}));
}

#[tokio::test]
async fn a_session_token_cannot_mint_tokens() {
    // §1.1: create_token always takes the API key.
    let env = TestEnv::start().await;
    let token = env.token().await;
    assert_error(
        &env.post("/v1/streaming.create_token", &token, json!({}))
            .await,
        401,
        400112,
    );
}

#[tokio::test]
async fn a_fixed_key_set_refuses_other_keys() {
    let keys = BTreeSet::from(["good".to_owned()]);
    let env = TestEnv::with_config(ServerConfig {
        auth: AuthPolicy::Keys(keys),
        ..understudy_e2e::rest_config()
    })
    .await;
    assert_eq!(
        env.send(
            "POST",
            "/v1/streaming.create_token",
            &[("x-api-key", "good")],
            None
        )
        .await
        .0,
        200
    );
    assert_error(
        &env.send(
            "POST",
            "/v1/streaming.create_token",
            &[("x-api-key", "bad")],
            None,
        )
        .await,
        401,
        400112,
    );
}

#[tokio::test]
async fn the_api_key_is_accepted_on_session_calls_too() {
    // §1.1: X-Api-Key is also accepted on new/start/task/stop/list.
    let env = TestEnv::start().await;
    let key = [("x-api-key", KEY)];
    let (status, body) = env
        .send(
            "POST",
            "/v1/streaming.new",
            &key,
            Some(json!({"version": "v2"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["session_id"].as_str().unwrap();
    assert_success(
        &env.send(
            "POST",
            "/v1/streaming.start",
            &key,
            Some(json!({"session_id": id})),
        )
        .await,
    );
    assert_success(
        &env.send(
            "POST",
            "/v1/streaming.stop",
            &key,
            Some(json!({"session_id": id})),
        )
        .await,
    );
}

#[tokio::test]
async fn a_session_is_visible_only_to_its_token_and_its_key() {
    // Brief: "A session is visible only to the credentials that made it".
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let other_token = env.token().await;
    let other_key_token = env.token_for("another-account").await;
    let body = json!({"session_id": id});
    assert_error(
        &env.post("/v1/streaming.keep_alive", &other_token, body.clone())
            .await,
        404,
        10006,
    );
    assert_error(
        &env.post("/v1/streaming.keep_alive", &other_key_token, body.clone())
            .await,
        404,
        10006,
    );
    assert_error(
        &env.send(
            "POST",
            "/v1/streaming.keep_alive",
            &[("x-api-key", "another-account")],
            Some(body.clone()),
        )
        .await,
        404,
        10006,
    );
    assert_success(
        &env.send(
            "POST",
            "/v1/streaming.keep_alive",
            &[("x-api-key", KEY)],
            Some(body.clone()),
        )
        .await,
    );
    assert_success(&env.post("/v1/streaming.keep_alive", &token, body).await);
}

#[tokio::test]
async fn a_token_creates_one_session_only() {
    // §1.1: "Each session must have a unique token" [INF: a reuse gets 401].
    let env = TestEnv::start().await;
    let (token, _) = env.new_session().await;
    assert_error(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
        401,
        400112,
    );
}

#[tokio::test]
async fn token_reuse_can_be_allowed() {
    let env = TestEnv::with_config(ServerConfig {
        allow_token_reuse: true,
        ..understudy_e2e::rest_config()
    })
    .await;
    let (token, _) = env.new_session().await;
    assert_success(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    // §1.1: a 401 was seen an hour in; the lifetime is configurable.
    let config = ServerConfig {
        token_ttl: std::time::Duration::from_millis(50),
        ..understudy_e2e::rest_config()
    };
    let env = TestEnv::with_config(config).await;
    let token = env.token().await;
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert_error(
        &env.post("/v1/streaming.new", &token, json!({"version": "v2"}))
            .await,
        401,
        400112,
    );
}

#[tokio::test]
async fn a_second_token_minted_for_a_session_acts_for_it_and_creates_nothing() {
    // §1.1: the iOS demo mints a second token with {session_id, paid} for the chat socket.
    let env = TestEnv::start().await;
    let (_, id) = env.connected_session().await;
    let key = [("x-api-key", KEY)];
    let (_, minted) = env
        .send(
            "POST",
            "/v1/streaming.create_token",
            &key,
            Some(json!({"session_id": id, "paid": true})),
        )
        .await;
    let second = minted["data"]["token"].as_str().unwrap().to_owned();
    assert_success(
        &env.post(
            "/v1/streaming.keep_alive",
            &second,
            json!({"session_id": id}),
        )
        .await,
    );
    let _socket = understudy_e2e::chat_client::connect(&env.chat_url(&id, &second, "")).await;
    let answer = env
        .post("/v1/streaming.new", &second, json!({"version": "v2"}))
        .await;
    assert_error(&answer, 401, 400112);
    // Another account's session id buys a plain token, which cannot see the session.
    let (_, other) = env
        .send(
            "POST",
            "/v1/streaming.create_token",
            &[("x-api-key", "another-account")],
            Some(json!({"session_id": id})),
        )
        .await;
    let other = other["data"]["token"].as_str().unwrap();
    let answer = env
        .post("/v1/streaming.keep_alive", other, json!({"session_id": id}))
        .await;
    assert_error(&answer, 404, 10006);
}
