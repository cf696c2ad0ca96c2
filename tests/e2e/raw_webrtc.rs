//! v1 sessions, HeyGen's raw WebRTC protocol (`heygen-api.md` §0, §3.2-§3.4, §6, §7.1),
//! driven by a webrtc-rs client doing what SDK 1.x does: the server's offer in `new`, the answer
//! in `start`, candidates trickled through `ice` racing `start`, events as binary JSON on the
//! server's data channel, stop closing the peer.

use serde_json::json;
use understudy_e2e::raw_viewer::{RawMessage, RawViewer};
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_proto::events::DataChannelEvent;
use understudy_server::ServerConfig;

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

/// SDK 1.0.16's `streaming.new` body: no `version`, so v1.
fn sdk_1_body() -> serde_json::Value {
    json!({"quality": "low", "avatar_name": "default", "voice": {"voice_id": "v"}})
}

/// The `a=setup` line of a v1 offer made for a `streaming.new` sent with `user_agent`.
async fn v1_offered_setup(env: &TestEnv, user_agent: Option<&str>) -> String {
    let token = env.token().await;
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("authorization", bearer.as_str())];
    headers.extend(user_agent.map(|ua| ("user-agent", ua)));
    let (status, body) = env
        .send("POST", "/v1/streaming.new", &headers, Some(sdk_1_body()))
        .await;
    assert_eq!(status, 200, "{body}");
    let sdp = body["data"]["sdp"]["sdp"].as_str().unwrap();
    let setup = sdp.lines().find(|l| l.starts_with("a=setup:"));
    setup.expect("a setup line").to_owned()
}

#[tokio::test]
async fn a_browser_is_offered_to_be_dialled_on_v1_too() {
    // SDK 1.x calls `streaming.new` from the page, so its User-Agent is the browser's: the
    // offer asks the browser's peer to be dialled, as on `/rtc` with `sdk=js` (a browser
    // answering `actpass` dials at once and webrtc-rs may drop that first ClientHello).
    let env = TestEnv::with_config(fast()).await;
    let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";
    assert_eq!(
        v1_offered_setup(&env, Some(chromium)).await,
        "a=setup:active"
    );
    assert_eq!(v1_offered_setup(&env, None).await, "a=setup:actpass");
    assert_eq!(
        v1_offered_setup(&env, Some("python-requests/2.31")).await,
        "a=setup:actpass"
    );
    let as_livekit = TestEnv::with_config(ServerConfig {
        offer_dtls_role: understudy_server::OfferDtlsRole::Actpass,
        ..fast()
    })
    .await;
    assert_eq!(
        v1_offered_setup(&as_livekit, Some(chromium)).await,
        "a=setup:actpass"
    );
}

#[tokio::test]
async fn new_without_a_version_offers_vp8_opus_and_a_data_channel() {
    // §3.2: v1 data is the session id, the server's offer and the ICE servers; no LiveKit.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let (status, body) = env.post("/v1/streaming.new", &token, sdk_1_body()).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["sdp"]["type"], "offer");
    let sdp = data["sdp"]["sdp"].as_str().unwrap();
    for line in [
        "m=video",
        "VP8/90000",
        "m=audio",
        "opus/48000/2",
        "m=application",
        "webrtc-datachannel",
        "a=candidate:",
    ] {
        assert!(sdp.contains(line), "the offer lacks {line:?}:\n{sdp}");
    }
    assert!(!sdp.contains("H264"), "only the codec asked for: {sdp}");
    // The mock's own STUN responder, on loopback, in both shapes (§3.2).
    let stun = format!("stun:{}", env.server.stun_addr().unwrap());
    assert_eq!(data["ice_servers"], json!([stun]));
    assert_eq!(data["ice_servers2"], json!([{"urls": [stun]}]));
    for absent in ["url", "access_token", "realtime_endpoint"] {
        assert!(
            data.get(absent).is_none(),
            "{absent} in a v1 answer: {data}"
        );
    }
    let id = data["session_id"].as_str().unwrap();
    assert_eq!(env.status_of(&token, id).await, "new");
}

#[tokio::test]
async fn the_sdk_flow_connects_and_events_arrive_as_binary_json() {
    // §3.3-§3.4, §7.1: the answer starts the peer; the session is connected once the peer is;
    // a task's start and stop arrive on the server's channel as binary JSON, and nothing else.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let mut viewer = RawViewer::start(&env, &token, sdk_1_body()).await;
    viewer.connected().await;
    let id = viewer.session_id.clone();
    let mut state = env.status_of(&token, &id).await;
    for _ in 0..100 {
        if state == "connected" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        state = env.status_of(&token, &id).await;
    }
    assert_eq!(state, "connected");

    let (status, task) = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hello there", "task_type": "repeat"}),
        )
        .await;
    assert_eq!(status, 200, "{task}");
    let task_id = task["data"]["task_id"].as_str().unwrap().to_owned();
    assert_eq!(
        viewer.next_event().await,
        DataChannelEvent::AvatarStartTalking {
            task_id: task_id.clone()
        }
    );
    match viewer.next_event().await {
        DataChannelEvent::AvatarStopTalking {
            task_id: stopped,
            duration_ms,
        } => {
            assert_eq!(stopped, task_id);
            assert!(duration_ms.is_some_and(|d| d > 0.0), "{duration_ms:?}");
        }
        other => panic!("expected avatar_stop_talking, got {other:?}"),
    }

    assert_eq!(*viewer.channel_labels.borrow(), vec!["events".to_owned()]);
    // Video joins once the session's loops are encoded (on first need, in the background, with
    // no media cache here), which can outlast the talk: run alone, this test is the first to
    // need them.
    let video = || {
        viewer
            .media
            .video_packets
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    for _ in 0..750 {
        if video() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(video() > 0, "no video within 15 s");
    assert!(
        viewer
            .media
            .audio_packets
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    let mut codecs = viewer.media.codecs.lock().unwrap().clone();
    codecs.sort();
    assert_eq!(
        codecs,
        vec!["audio/opus".to_owned(), "video/VP8".to_owned()]
    );
    let statuses = viewer.ice_statuses.borrow().clone();
    assert!(!statuses.is_empty(), "the client trickled its candidates");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn interrupt_cuts_the_task_and_stop_closes_the_peer() {
    // §3.6, §3.9, §6: interrupt ends the talking at once; stop closes the peer connection
    // (SDK 1.x turns that into no event), and the session is closed for REST.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let mut viewer = RawViewer::start(&env, &token, sdk_1_body()).await;
    viewer.connected().await;
    let id = viewer.session_id.clone();
    let long = "word ".repeat(200);
    assert_success(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": long, "task_type": "repeat", "task_mode": "async"}),
        )
        .await,
    );
    assert!(matches!(
        viewer.next_event().await,
        DataChannelEvent::AvatarStartTalking { .. }
    ));
    assert_success(
        &env.post("/v1/streaming.interrupt", &token, json!({"session_id": id}))
            .await,
    );
    assert!(matches!(
        viewer.next_event().await,
        DataChannelEvent::AvatarStopTalking { .. }
    ));
    assert_success(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
    );
    viewer.closed().await;
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "late"}),
        )
        .await,
        400,
        10005,
    );
}

#[tokio::test]
async fn a_task_before_the_peer_connects_is_10002() {
    // §6: a v1 task while `connecting` is 10002 (v2's is 400006). A client that answers and
    // then goes away leaves the session connecting.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let (_, new) = env.post("/v1/streaming.new", &token, sdk_1_body()).await;
    let viewer = RawViewer::answer(&env, &token, new["data"].clone()).await;
    viewer.close().await;
    let id = viewer.session_id.clone();
    assert_success(&viewer.send_answer(&env, &token).await);
    assert_eq!(env.status_of(&token, &id).await, "connecting");
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "too soon"}),
        )
        .await,
        400,
        10002,
    );
}

#[tokio::test]
async fn a_bad_answer_is_peer_start_failed_and_the_session_can_start_again() {
    // §3.3: the observed message, word for word; the session stays `new`, so a client that
    // fixes its answer starts it.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let (_, new) = env.post("/v1/streaming.new", &token, sdk_1_body()).await;
    let data = new["data"].clone();
    let id = data["session_id"].as_str().unwrap().to_owned();
    for sdp in [
        json!({"type": "answer", "sdp": "not an sdp"}),
        json!({"type": "offer", "sdp": data["sdp"]["sdp"]}),
    ] {
        let answer = env
            .post(
                "/v1/streaming.start",
                &token,
                json!({"session_id": id, "sdp": sdp}),
            )
            .await;
        assert_error(&answer, 400, 400);
        assert_eq!(
            answer.1["message"],
            "peer start failed,please check the answer"
        );
        assert_eq!(env.status_of(&token, &id).await, "new");
    }
    let viewer = RawViewer::answer(&env, &token, data).await;
    assert_success(&viewer.send_answer(&env, &token).await);
    viewer.connected().await;
}

#[tokio::test]
async fn start_without_an_answer_is_invalid_params() {
    // §3.3: a v1 session started without `sdp` answered 400006.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let (_, new) = env.post("/v1/streaming.new", &token, sdk_1_body()).await;
    let id = new["data"]["session_id"].as_str().unwrap();
    assert_error(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
        400,
        400006,
    );
    assert_eq!(env.status_of(&token, id).await, "new");
}

#[tokio::test]
async fn candidates_are_taken_before_start_and_garbage_is_invalid_params() {
    // §3.4: `ice` is accepted in `new`; a candidate line that is not one is 400006, and the
    // session is unharmed.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let (_, new) = env.post("/v1/streaming.new", &token, sdk_1_body()).await;
    let id = new["data"]["session_id"].as_str().unwrap().to_owned();
    let candidate = json!({
        "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"
    });
    assert_success(
        &env.post(
            "/v1/streaming.ice",
            &token,
            json!({"session_id": id, "candidate": candidate}),
        )
        .await,
    );
    assert_error(
        &env.post(
            "/v1/streaming.ice",
            &token,
            json!({"session_id": id, "candidate": {"candidate": "garbage"}}),
        )
        .await,
        400,
        400006,
    );
    let token = env.token().await;
    let mut viewer = RawViewer::start(&env, &token, sdk_1_body()).await;
    viewer.connected().await;
    // Peers still work after a rejected candidate.
    assert_success(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": viewer.session_id, "text": "still here"}),
        )
        .await,
    );
    assert!(matches!(
        viewer.next_message().await,
        RawMessage::Event(DataChannelEvent::AvatarStartTalking { .. })
    ));
}

#[tokio::test]
async fn the_client_closing_first_leaves_the_session_for_stop() {
    // SDK 1.x's stopAvatar closes its peer, then calls stop: stop still answers success.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let viewer = RawViewer::start(&env, &token, sdk_1_body()).await;
    viewer.connected().await;
    viewer.close().await;
    let id = viewer.session_id.clone();
    assert_eq!(env.status_of(&token, &id).await, "connected");
    assert_success(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
    );
}

#[tokio::test]
async fn the_named_stun_server_tells_a_client_its_address() {
    // What a browser does with `ice_servers2`: a binding request, answered with the address
    // the request came from (its server-reflexive candidate).
    use rtc::stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Getter, Message, TransactionId};
    use rtc::stun::xoraddr::XorMappedAddress;
    let env = TestEnv::with_config(fast()).await;
    let stun = env.server.stun_addr().expect("a STUN responder by default");
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut request = Message::new();
    request
        .build(&[Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)])
        .unwrap();
    // Garbage first: dropped, and the responder goes on.
    socket.send_to(b"not stun", stun).await.unwrap();
    socket.send_to(&request.raw, stun).await.unwrap();
    let mut buffer = [0u8; 1500];
    let (len, _) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        socket.recv_from(&mut buffer),
    )
    .await
    .expect("an answer in time")
    .unwrap();
    let mut reply = Message::new();
    reply.raw = buffer[..len].to_vec();
    reply.decode().unwrap();
    assert_eq!(reply.typ, BINDING_SUCCESS);
    assert_eq!(reply.transaction_id, request.transaction_id);
    let mut mapped = XorMappedAddress::default();
    mapped.get_from(&reply).unwrap();
    let local = socket.local_addr().unwrap();
    assert_eq!((mapped.ip, mapped.port), (local.ip(), local.port()));
}

#[tokio::test]
async fn room_faults_act_on_a_v1_peer() {
    // A `room` rule reaches a v1 session's peer once it connects: kill_media closes it (the
    // session goes on for REST), and the fired rule is in the journal under start's path.
    let env = TestEnv::with_config(fast()).await;
    let token = env.token().await;
    let viewer = RawViewer::start(&env, &token, sdk_1_body()).await;
    viewer.connected().await;
    let id = viewer.session_id.clone();
    let (status, body) = env
        .send(
            "POST",
            "/__understudy/faults",
            &[],
            Some(json!({"on": "room", "kill_media": true, "session_id": id})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    viewer.closed().await;
    assert_eq!(env.status_of(&token, &id).await, "connected");
    let journaled = env
        .server
        .received_requests()
        .into_iter()
        .filter(|r| r.path == "/v1/streaming.start" && r.fault.is_some())
        .count();
    assert_eq!(journaled, 1);
}
