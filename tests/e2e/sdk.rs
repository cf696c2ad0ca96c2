//! The Rust SDK (`streaming-avatar`) against the real mock over sockets: the whole REST
//! surface, and HeyGen's errors surfacing through the SDK's error type.

use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{Error, SessionOptions, SpeakRequest, StreamingAvatar};
use understudy_e2e::{KEY, TestEnv};
use understudy_server::ServerConfig;

#[tokio::test]
async fn the_sdk_runs_a_whole_session() {
    let env = TestEnv::with_config(ServerConfig {
        words_per_minute: 6000.0,
        ..understudy_e2e::rest_config()
    })
    .await;
    let avatar = env.sdk().await;
    // REST only: this mock connects sessions on `start`, nobody joins the room.
    let mut session = avatar
        .create_start_avatar_with(
            &NewSessionRequest {
                avatar_name: Some("default".into()),
                ..Default::default()
            },
            SessionOptions::default().join_room(false),
        )
        .await
        .unwrap();
    assert!(session.info().access_token.is_some());
    let listed = avatar.list_sessions().await.unwrap();
    assert_eq!(listed.sessions[0].session_id, session.session_id());

    let task = session
        .speak(&SpeakRequest::repeat("one two three").sync())
        .await
        .unwrap()
        .expect("HTTP answers the task");
    assert!(task.duration_ms > 0.0);
    // TALK + ASYNC goes over the chat socket, as SDK 2.1.0 sends it: no task in the answer.
    assert!(
        session
            .speak(&SpeakRequest::talk("hello"))
            .await
            .unwrap()
            .is_none()
    );
    session.interrupt().await.unwrap();
    session.start_listening().await.unwrap();
    session.stop_listening().await.unwrap();
    session.keep_alive().await.unwrap();
    assert_eq!(avatar.list_avatars().await.unwrap()[0].avatar_id, "default");
    assert_eq!(avatar.list_session_history(1, 10).await.unwrap().total, 1);
    session.stop().await.unwrap();
    assert_eq!(session.running_tasks(), 0);
    assert!(avatar.list_sessions().await.unwrap().sessions.is_empty());
}

#[tokio::test]
async fn heygen_errors_reach_the_sdk_intact() {
    let env = TestEnv::start().await;
    let avatar = env.sdk().await;
    let mut session = avatar
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap();
    let info = session.info().clone();

    // A task before start: 10001.
    let err = session
        .speak(&SpeakRequest::repeat("hi"))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some(10001)));

    session.stop().await.unwrap();
    let mut again = avatar.attach_session(info, SessionOptions::default());
    let err = again.keep_alive().await.unwrap_err();
    assert!(err.is_session_closed(), "{err}");
    let err = again.stop().await.unwrap_err();
    assert!(err.is_session_not_found(), "{err}");

    let bad = StreamingAvatar::builder()
        .base_path(env.server.uri())
        .token("bogus")
        .build()
        .unwrap();
    let err = bad
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert!(matches!(err, Error::Api(_)));
}

#[tokio::test]
async fn the_sdk_sees_the_concurrency_limit() {
    let env = TestEnv::with_config(ServerConfig {
        concurrency_limit: 1,
        ..understudy_e2e::rest_config()
    })
    .await;
    let _first = env
        .sdk()
        .await
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap();
    let err = env
        .sdk()
        .await
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_concurrency_limit(), "{err}");
}

#[tokio::test]
async fn the_sdk_trusts_the_mock_certificate_over_https() {
    let (server, _dir) = understudy_e2e::https_server(&[], false).await;
    let pem = server.tls().unwrap().cert_pem.clone();
    let client = StreamingAvatar::builder()
        .base_path(server.uri())
        .api_key(KEY)
        .add_root_certificate_pem(pem)
        .build()
        .unwrap();
    assert!(!client.create_token().await.unwrap().is_empty());
    server.shutdown().await;
}
