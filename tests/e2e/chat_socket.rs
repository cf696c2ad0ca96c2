//! `/v1/ws/streaming.chat` (§8): who may open it, what client frames do, and how it closes.

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use understudy_e2e::chat_client::{WAIT, connect};
use understudy_e2e::{TestEnv, tls_config};
use understudy_proto::pipecat::Frame;

/// The HTTP status and HeyGen body of a refused upgrade.
async fn refused(url: &str) -> (u16, Value) {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (
                response.status().as_u16(),
                serde_json::from_slice(&body).expect("a JSON body"),
            )
        }
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
}

async fn speaking_task(env: &TestEnv) -> Value {
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    sessions[0]["speaking_task_id"].clone()
}

/// Waits until the session says something, failing with `why` after [`WAIT`].
async fn until_speaking(env: &TestEnv, why: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while speaking_task(env).await.is_null() {
        assert!(tokio::time::Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_text_frame_becomes_a_talk_task() {
    // §8.2: speak() in TALK + ASYNC sends Frame{text:{text}} on the socket.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket =
        connect(&env.chat_url(&id, &token, "&arch_version=v2&push_to_talk=false")).await;
    assert!(speaking_task(&env).await.is_null());
    socket
        .send(Message::Binary(
            Frame::text("hello avatar").encode_to_vec().into(),
        ))
        .await
        .unwrap();
    until_speaking(&env, "the text frame never became a task").await;
}

#[tokio::test]
async fn garbage_and_unknown_frames_are_dropped_without_harm() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    for junk in [
        vec![0xff, 0xff, 0xff],
        vec![],
        Frame { frame: None }.encode_to_vec(),
    ] {
        socket.send(Message::Binary(junk.into())).await.unwrap();
    }
    socket
        .send(Message::Text("not protobuf".into()))
        .await
        .unwrap();
    socket
        .send(Message::Binary(Frame::text("   ").encode_to_vec().into()))
        .await
        .unwrap();
    // The socket is still served: a ping gets its pong, and the session still works.
    socket
        .send(Message::Ping(b"still there".to_vec().into()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Pong(payload))) => break assert_eq!(&payload[..], b"still there"),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
    assert!(speaking_task(&env).await.is_null(), "nothing was spoken");
    env.assert_alive(&token, &id).await;
}

#[tokio::test]
async fn stop_closes_the_socket_with_a_reason() {
    // §6: on close the WS is closed [INF: code 1000, reason names the cause].
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Normal);
                assert_eq!(frame.reason.as_str(), "session stopped");
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_credentials_and_wrong_sessions_are_refused_before_upgrade() {
    // §8.1: the session_token query parameter is the only credential.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let (status, body) = refused(&env.chat_url(&id, "bogus", "")).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(400112)));
    let (status, body) = refused(&env.chat_url("nope", &token, "")).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(10006)));
    // A valid token of the same account acts only on its own sessions.
    let other_token = env.token().await;
    let (status, body) = refused(&env.chat_url(&id, &other_token, "")).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(10006)));
    env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    let (status, body) = refused(&env.chat_url(&id, &token, "")).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(10005)));
}

#[tokio::test]
async fn the_guide_opens_the_socket_before_start_and_its_greeting_waits_for_the_connection() {
    // §6 row "WS": HeyGen's LiveKit guide opens the socket right after `new`.
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    let _socket = connect(&env.chat_url(&id, &token, "&opening_text=Welcome")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        speaking_task(&env).await.is_null(),
        "nothing is said before the session connects"
    );
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    until_speaking(&env, "the greeting was never spoken").await;
}

#[tokio::test]
async fn a_knowledge_bases_opening_is_said_when_the_session_connects() {
    let env = TestEnv::start().await;
    let key = [("x-api-key", "test-key")];
    let (_, created) = env
        .send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(
                json!({"name": "kb", "opening": "Hello, I am your guide.", "prompt": "Be brief."}),
            ),
        )
        .await;
    let kb = created["data"]["id"].as_str().expect("kb id").to_owned();
    let token = env.token_for("test-key").await;
    let (_, new) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "knowledge_base_id": kb}),
        )
        .await;
    let id = new["data"]["session_id"].as_str().unwrap().to_owned();
    assert!(speaking_task(&env).await.is_null());
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    assert!(!speaking_task(&env).await.is_null(), "the opening is said");
}

#[tokio::test]
async fn a_plain_get_on_the_socket_path_is_a_heygen_error() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let (status, body) = env
        .send(
            "GET",
            &format!("/v1/ws/streaming.chat?session_id={id}&session_token={token}"),
            &[],
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(400006)));
}

#[tokio::test]
async fn opening_text_is_spoken_on_connect() {
    // §8.1: the LiveKit guide passes opening_text as a greeting.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let _socket = connect(&env.chat_url(&id, &token, "&opening_text=Welcome%20back")).await;
    until_speaking(&env, "the greeting was never spoken").await;
}

#[tokio::test]
async fn the_socket_is_served_over_wss_too() {
    // §8.1: the SDK always dials wss://<basePath host>.
    let (server, _dir) = understudy_e2e::https_server(&[], true).await;
    let env = TestEnv {
        http: understudy_e2e::http_client(None),
        server,
    };
    let (token, id) = env.connected_session().await;
    let port = env.server.https_addr().unwrap().port();
    let url = format!(
        "wss://localhost:{port}/v1/ws/streaming.chat?session_id={id}&session_token={token}"
    );
    let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(tls_config(
        &env.server.tls().unwrap().cert_pem,
    )));
    let (mut socket, response) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
            .await
            .unwrap();
    assert_eq!(response.status(), 101);
    socket
        .send(Message::Binary(
            Frame::text("over tls").encode_to_vec().into(),
        ))
        .await
        .unwrap();
    socket.close(None).await.unwrap();
}
