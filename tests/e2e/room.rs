//! The LiveKit room (`livekit.md` §2, `heygen-api.md` §6-§7): a viewer joins with the
//! `streaming.new` credentials, gets the avatar and its two tracks, the session connects, tasks
//! are narrated over `_reliable` in order, and stop ends the room with ROOM_DELETED.

use serde_json::json;
use std::sync::atomic::Ordering;
use understudy_e2e::livekit_viewer::Viewer;
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_proto::events::DataChannelEvent;
use understudy_server::ServerConfig;

/// livekit-protocol `DisconnectReason.ROOM_DELETED` and `SERVER_SHUTDOWN`.
const ROOM_DELETED: i32 = 5;
const SERVER_SHUTDOWN: i32 = 3;

/// A started session whose client has not joined yet: `(token, session id, url, access token)`.
async fn started(env: &TestEnv) -> (String, String, String, String) {
    let token = env.token().await;
    let (_, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "quality": "low"}),
        )
        .await;
    let data = &body["data"];
    let id = data["session_id"].as_str().unwrap().to_owned();
    assert_success(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
    );
    (
        token,
        id,
        data["url"].as_str().unwrap().to_owned(),
        data["access_token"].as_str().unwrap().to_owned(),
    )
}

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn a_task_before_the_client_joins_gets_400006() {
    // §3.5, §6: v2 task after start but before joining LiveKit.
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (token, id, _, _) = started(&env).await;
    assert_eq!(env.status_of(&token, &id).await, "connecting");
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi"}),
        )
        .await;
    assert_error(&answer, 400, 400006);
    assert_eq!(answer.1["message"], "Session is not in correct state");
}

#[tokio::test]
async fn joining_the_room_connects_the_session_and_shows_the_avatar() {
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (token, id, url, access) = started(&env).await;
    let viewer = Viewer::join(&url, &access).await;
    assert!(viewer.is_connected());
    assert!(viewer.join.subscriber_primary);
    assert!(!viewer.join.server_info.as_ref().unwrap().version.is_empty());
    let avatar = &viewer.join.other_participants[0];
    assert!(avatar.sid.starts_with("PA_"));
    assert_eq!(avatar.tracks.len(), 2);
    assert!(avatar.tracks.iter().all(|t| t.sid.starts_with("TR_")));
    assert_eq!(viewer.join.room.as_ref().unwrap().name, id);
    assert_eq!(env.status_of(&token, &id).await, "connected");

    // Both tracks carry RTP: H264 frames and Opus packets from the shared loops.
    let deadline = tokio::time::Instant::now() + understudy_e2e::livekit_viewer::VIEWER_TIMEOUT;
    loop {
        let video = viewer.media.video_packets.load(Ordering::Relaxed);
        let audio = viewer.media.audio_packets.load(Ordering::Relaxed);
        if video > 25 && audio > 25 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "media never flowed: video {video}, audio {audio}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(viewer.media.video_tracks.load(Ordering::Relaxed), 1);
    assert_eq!(viewer.media.audio_tracks.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_task_is_narrated_over_reliable_in_order() {
    // §7.1-§7.2, issue order: start, talking messages, end message, stop.
    let env = TestEnv::with_config(fast()).await;
    let (token, id, url, access) = started(&env).await;
    let mut viewer = Viewer::join(&url, &access).await;
    let (_, task) = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "one two three four five", "task_mode": "async"}),
        )
        .await;
    let task_id = task["data"]["task_id"].as_str().unwrap().to_owned();

    assert_eq!(
        viewer.next_event().await,
        DataChannelEvent::AvatarStartTalking {
            task_id: task_id.clone()
        }
    );
    let mut said = String::new();
    let stop = loop {
        match viewer.next_event().await {
            DataChannelEvent::AvatarTalkingMessage {
                task_id: t,
                message,
            } => {
                assert_eq!(t, task_id);
                said.push_str(&message);
            }
            DataChannelEvent::AvatarEndMessage { task_id: t } => {
                assert_eq!(t, task_id);
                break viewer.next_event().await;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(said, "one two three four five");
    match stop {
        DataChannelEvent::AvatarStopTalking {
            task_id: t,
            duration_ms,
        } => {
            assert_eq!(t, task_id);
            assert!(
                duration_ms.unwrap() >= 400.0,
                "5 words at 600 wpm last 500 ms: {duration_ms:?}"
            );
        }
        other => panic!("expected avatar_stop_talking, got {other:?}"),
    }
}

#[tokio::test]
async fn interrupt_stops_the_narration_at_once() {
    let env = TestEnv::with_config(ServerConfig {
        words_per_minute: 60.0,
        ..ServerConfig::default()
    })
    .await;
    let (token, id, url, access) = started(&env).await;
    let mut viewer = Viewer::join(&url, &access).await;
    env.post("/v1/streaming.task", &token, json!({"session_id": id, "text": "a long sentence of many words that takes a while", "task_mode": "async"}))
        .await;
    assert!(matches!(
        viewer.next_event().await,
        DataChannelEvent::AvatarStartTalking { .. }
    ));
    assert_success(
        &env.post("/v1/streaming.interrupt", &token, json!({"session_id": id}))
            .await,
    );
    let stop = loop {
        match viewer.next_event().await {
            DataChannelEvent::AvatarTalkingMessage { .. }
            | DataChannelEvent::AvatarEndMessage { .. } => continue,
            other => break other,
        }
    };
    match stop {
        DataChannelEvent::AvatarStopTalking { duration_ms, .. } => {
            assert!(
                duration_ms.unwrap() < 5_000.0,
                "cut well before the 10 s the text takes"
            );
        }
        other => panic!("expected avatar_stop_talking, got {other:?}"),
    }
}

#[tokio::test]
async fn stop_deletes_the_room() {
    // livekit.md §2.7: stop sends leave{ROOM_DELETED}; heygen-api.md §6.
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (token, id, url, access) = started(&env).await;
    let mut viewer = Viewer::join(&url, &access).await;
    assert_success(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
    );
    assert_eq!(viewer.left().await, ROOM_DELETED);
}

#[tokio::test]
async fn bad_tokens_and_resumes_are_refused() {
    // livekit.md §2.10: refuse resumes so an ended session ends the client at once.
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (_, _, url, access) = started(&env).await;
    for query in [
        "access_token=bogus".to_owned(),
        format!("access_token={access}&reconnect=1&sid=PA_x"),
    ] {
        let refused = tokio_tungstenite::connect_async(format!("{url}/rtc?{query}")).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401)
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn talk_replies_draw_on_the_sessions_knowledge_base() {
    // §3.2, §7.3: talk answers with the knowledge base behind knowledge_base_id.
    let env = TestEnv::with_config(fast()).await;
    let key = [("x-api-key", understudy_e2e::KEY)];
    let kb = env
        .send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(json!({"name": "Tea", "prompt": "We sell green tea. Ask us anything."})),
        )
        .await;
    let kb_id = kb.1["data"]["id"].as_str().unwrap().to_owned();
    let token = env.token().await;
    let (_, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "knowledge_base_id": kb_id}),
        )
        .await;
    let data = &body["data"];
    let id = data["session_id"].as_str().unwrap();
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    let mut viewer = Viewer::join(
        data["url"].as_str().unwrap(),
        data["access_token"].as_str().unwrap(),
    )
    .await;
    env.post("/v1/streaming.task", &token, json!({"session_id": id, "text": "what do you sell", "task_type": "talk", "task_mode": "async"}))
        .await;
    let mut said = String::new();
    loop {
        match viewer.next_event().await {
            DataChannelEvent::AvatarTalkingMessage { message, .. } => said.push_str(&message),
            DataChannelEvent::AvatarStopTalking { .. } => break,
            _ => {}
        }
    }
    assert!(said.contains("what do you sell"), "{said}");
    assert!(said.ends_with("We sell green tea."), "{said}");
}

#[tokio::test]
async fn garbage_signalling_is_dropped_and_the_socket_keeps_serving() {
    // Malformed signalling messages are dropped without harm.
    use futures_util::{SinkExt, StreamExt};
    use livekit_protocol as lk;
    use prost::Message as _;
    use tokio_tungstenite::tungstenite::Message;
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (_, _, url, access) = started(&env).await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{url}/rtc?access_token={access}"))
            .await
            .unwrap();
    for junk in [vec![0xff; 7], vec![], b"not protobuf at all".to_vec()] {
        socket.send(Message::Binary(junk.into())).await.unwrap();
    }
    socket
        .send(Message::Text("{\"ping\": 1}".into()))
        .await
        .unwrap();
    let bogus_answer = lk::SignalRequest {
        message: Some(lk::signal_request::Message::Answer(
            lk::SessionDescription {
                r#type: "answer".into(),
                sdp: "v=garbage".into(),
                ..Default::default()
            },
        )),
    };
    socket
        .send(Message::Binary(bogus_answer.encode_to_vec().into()))
        .await
        .unwrap();
    let ping = lk::SignalRequest {
        message: Some(lk::signal_request::Message::Ping(42)),
    };
    socket
        .send(Message::Binary(ping.encode_to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(understudy_e2e::livekit_viewer::VIEWER_TIMEOUT, async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Binary(bytes) = frame {
                if let Ok(lk::SignalResponse {
                    message: Some(lk::signal_response::Message::Pong(at)),
                }) = lk::SignalResponse::decode(&bytes[..])
                {
                    return at;
                }
            }
        }
        panic!("socket closed before the pong");
    })
    .await
    .expect("a pong in time");
    assert!(pong > 0);
}

#[tokio::test]
async fn shutdown_with_a_live_room_ends_every_task() {
    // Structured shutdown: viewers get leave{SERVER_SHUTDOWN}, every tracked task ends.
    let server = understudy_server::MockServer::builder()
        .config(ServerConfig::default())
        .start()
        .await
        .unwrap();
    let env = TestEnv {
        http: understudy_e2e::http_client(None),
        server,
    };
    let (token, id, url, access) = started(&env).await;
    let mut viewer = Viewer::join(&url, &access).await;
    env.post(
        "/v1/streaming.task",
        &token,
        json!({"session_id": id, "text": "talking while the server stops", "task_mode": "async"}),
    )
    .await;
    let TestEnv { server, .. } = env;
    tokio::time::timeout(std::time::Duration::from_secs(15), server.shutdown())
        .await
        .expect("shutdown completes");
    assert_eq!(viewer.left().await, SERVER_SHUTDOWN);
}
