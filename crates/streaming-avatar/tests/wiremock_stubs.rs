//! The SDK against wiremock stubs: what it sends (method, path, headers, body) and how it reads
//! every kind of answer, including each error path.

use serde_json::json;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{Error, Session, SpeakRequest, StreamingAvatar};
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok(data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"code": 100, "data": data, "message": "success"}))
}

fn token_client(server: &MockServer) -> StreamingAvatar {
    StreamingAvatar::builder()
        .base_path(server.uri())
        .token("tok")
        .build()
        .unwrap()
}

async fn with_session(server: &MockServer) -> Session {
    Mock::given(method("POST"))
        .and(path("/v1/streaming.new"))
        .respond_with(ok(
            json!({"session_id": "s-1", "url": "ws://x", "access_token": "jwt"}),
        ))
        .mount(server)
        .await;
    token_client(server)
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn create_token_sends_the_api_key_and_reads_the_error_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.create_token"))
        .and(header("x-api-key", "key-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": null, "data": {"token": "t-9"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = StreamingAvatar::builder()
        .base_path(server.uri())
        .api_key("key-1")
        .build()
        .unwrap();
    assert_eq!(client.create_token().await.unwrap(), "t-9");
}

#[tokio::test]
async fn create_token_needs_an_api_key() {
    let server = MockServer::start().await;
    let err = token_client(&server).create_token().await.unwrap_err();
    assert!(matches!(err, Error::ApiKeyRequired), "{err}");
}

#[tokio::test]
async fn new_session_fills_the_sdk_defaults_and_uses_bearer_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.new"))
        .and(header("authorization", "Bearer tok"))
        .and(body_json(json!({"avatar_name": "Wayne", "version": "v2", "video_encoding": "H264", "source": "sdk", "ia_is_livekit_transport": false})))
        .respond_with(ok(json!({"session_id": "s-1", "url": "ws://x", "access_token": "jwt", "sdp": null, "ice_servers": null, "ice_servers2": null})))
        .expect(1)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let request = NewSessionRequest {
        avatar_name: Some("Wayne".into()),
        ..Default::default()
    };
    let session = client.new_session(&request).await.unwrap();
    assert_eq!(session.session_id(), "s-1");
    assert_eq!(session.info().url.as_deref(), Some("ws://x"));
}

#[tokio::test]
async fn speak_sends_text_type_and_mode_for_the_current_session() {
    let server = MockServer::start().await;
    let session = with_session(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.task"))
        .and(body_json(
            json!({"session_id": "s-1", "text": "hi", "task_type": "repeat", "task_mode": "sync"}),
        ))
        .respond_with(ok(json!({"duration_ms": 400.0, "task_id": "t-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let task = session
        .speak(&SpeakRequest::repeat("hi").sync())
        .await
        .unwrap()
        .expect("an HTTP task answers its task");
    assert_eq!(task.task_id, "t-1");
    assert_eq!(task.duration_ms, 400.0);
}

#[tokio::test]
async fn session_calls_post_the_session_id() {
    let server = MockServer::start().await;
    let mut session = with_session(&server).await;
    for route in [
        "start",
        "interrupt",
        "start_listening",
        "stop_listening",
        "keep_alive",
        "stop",
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/v1/streaming.{route}")))
            .and(body_json(json!({"session_id": "s-1"})))
            .respond_with(ok(serde_json::Value::Null))
            .expect(1)
            .mount(&server)
            .await;
    }
    session.start_session().await.unwrap();
    session.interrupt().await.unwrap();
    session.start_listening().await.unwrap();
    session.stop_listening().await.unwrap();
    session.keep_alive().await.unwrap();
    session.stop().await.unwrap();
    session.stop().await.unwrap(); // a second stop sends nothing (expect(1) above)
    assert_eq!(session.running_tasks(), 0);
}

#[tokio::test]
async fn heygen_errors_keep_status_code_message_and_body() {
    let server = MockServer::start().await;
    let session = with_session(&server).await;
    let body = json!({"code": 10005, "message": "session state wrong: closed"});
    Mock::given(path("/v1/streaming.task"))
        .respond_with(ResponseTemplate::new(400).set_body_json(&body))
        .mount(&server)
        .await;
    let err = session.speak(&SpeakRequest::talk("hi")).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some(10005));
    assert_eq!(err.message(), Some("session state wrong: closed"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(err.body().unwrap()).unwrap(),
        body
    );
    assert!(err.is_session_closed());
}

#[tokio::test]
async fn unauthorized_and_limits_have_predicates() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/streaming.new"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"code": 10007, "message": "Concurrent limit reached"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/streaming.list"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": 400112, "message": "Unauthorized"})),
        )
        .mount(&server)
        .await;
    let client = token_client(&server);
    assert!(
        client
            .new_session(&NewSessionRequest::default())
            .await
            .unwrap_err()
            .is_concurrency_limit()
    );
    assert!(client.list_sessions().await.unwrap_err().is_unauthorized());
}

#[tokio::test]
async fn an_error_body_that_is_not_json_is_kept_raw() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/streaming.list"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    let err = token_client(&server).list_sessions().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.code(), None);
    assert_eq!(err.body(), Some("<html>bad gateway</html>"));
}

#[tokio::test]
async fn a_success_status_with_an_error_code_is_an_error() {
    let server = MockServer::start().await;
    let client = with_session(&server).await;
    Mock::given(path("/v1/streaming.keep_alive"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"code": 10005, "message": "session state wrong: closed", "data": null}),
        ))
        .mount(&server)
        .await;
    let err = client.keep_alive().await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(200), Some(10005)));
}

#[tokio::test]
async fn a_malformed_success_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/streaming/avatar.list"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    let err = token_client(&server).list_avatars().await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let client = StreamingAvatar::builder()
        .base_path("http://127.0.0.1:1")
        .token("t")
        .build()
        .unwrap();
    let err = client.list_sessions().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
}

#[test]
fn the_builder_refuses_bad_configuration() {
    assert!(matches!(
        StreamingAvatar::builder().build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        StreamingAvatar::builder()
            .token("t")
            .base_path("ftp://x")
            .build(),
        Err(Error::Config(_))
    ));
    let bad_pem = StreamingAvatar::builder()
        .token("t")
        .add_root_certificate_pem("nope")
        .build();
    assert!(matches!(bad_pem, Err(Error::Config(_))));
}

#[tokio::test]
async fn a_client_with_a_minted_token_sends_the_token_not_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.create_token"))
        .and(header("x-api-key", "key"))
        .respond_with(ok(json!({"token": "minted"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.new"))
        .and(header("authorization", "Bearer minted"))
        .respond_with(ok(json!({"session_id": "s-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let backend = StreamingAvatar::builder()
        .base_path(server.uri())
        .api_key("key")
        .build()
        .unwrap();
    let token = backend.create_token().await.unwrap();
    let front = backend.with_token(token);
    assert_eq!(front.base_path(), backend.base_path());
    let session = front
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap();
    assert_eq!(session.info().session_id, "s-1");
}
