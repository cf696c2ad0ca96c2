//! Fault rules (`/__understudy/faults`, `MockServer::fault`): each action observed by a real
//! client (the Rust SDK, or a raw socket where the SDK hides the detail), rules that fire once,
//! after N, or by a seeded probability, and each fired fault in the journal.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use streaming_avatar::proto::faults::{Expiry, Fault, Impair, Quality};
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{
    ConnectionQuality, DisconnectReason, Error, SessionOptions, SpeakRequest, StreamingEvent,
};
use understudy_e2e::TestEnv;
use understudy_e2e::chat_client::{close_frame, connect, next_event, round_trip};
use understudy_server::ServerConfig;

const WAIT: Duration = Duration::from_secs(15);

async fn add(env: &TestEnv, rule: Value) -> (u16, Value) {
    env.send("POST", "/__understudy/faults", &[], Some(rule))
        .await
}

async fn rules(env: &TestEnv) -> Value {
    env.send("GET", "/__understudy/faults", &[], None).await.1
}

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn a_500_on_speak_fires_once_and_is_journaled() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let (status, added) = add(
        &env,
        json!({"on": "/v1/streaming.task", "respond": {"status": 500, "code": 10000, "message": "boom"}, "times": 1}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let id = added["id"].as_u64().unwrap();

    let failed = session
        .speak(&SpeakRequest::repeat("hello"))
        .await
        .unwrap_err();
    let Error::Api(failure) = failed else {
        panic!("expected HeyGen's error, got {failed:?}")
    };
    assert_eq!(
        (failure.status, failure.code, failure.message.as_deref()),
        (500, Some(10000), Some("boom"))
    );
    assert!(failure.body.contains("boom"));
    // Only once.
    session.speak(&SpeakRequest::repeat("hello")).await.unwrap();
    let listed = rules(&env).await;
    assert_eq!(
        (listed[0]["matched"].as_u64(), listed[0]["fired"].as_u64()),
        (Some(2), Some(1))
    );

    let journal = env.server.received_requests();
    let tasks: Vec<_> = journal
        .iter()
        .filter(|r| r.path == "/v1/streaming.task")
        .collect();
    assert_eq!(tasks.len(), 2);
    let fault = tasks[0]
        .fault
        .as_ref()
        .expect("the fired fault is beside its request");
    assert_eq!((fault.id, fault.action.as_str()), (id, "respond 500 10000"));
    assert_eq!(tasks[0].status, 500);
    assert!(tasks[1].fault.is_none());
}

#[tokio::test]
async fn delays_dropped_connections_and_malformed_bodies() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, token) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    // The catalogue fills in what `respond` leaves out; `after` skips the first match.
    env.server
        .fault(
            Fault::on("/v1/streaming.keep_alive")
                .delay(Duration::from_millis(400))
                .times(1),
        )
        .await
        .unwrap();
    let started = Instant::now();
    session.keep_alive().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));

    env.server
        .fault(
            Fault::on("/v1/streaming.interrupt")
                .drop_connection()
                .times(1),
        )
        .await
        .unwrap();
    let dropped = session.interrupt().await.unwrap_err();
    assert!(
        matches!(dropped, Error::Transport { .. }),
        "no answer at all: {dropped:?}"
    );
    session.interrupt().await.unwrap();

    env.server
        .fault(Fault::on("/v1/streaming.start_listening").malformed_body())
        .await
        .unwrap();
    let malformed = session.start_listening().await.unwrap_err();
    assert!(matches!(malformed, Error::Decode { .. }), "{malformed:?}");

    let (status, body) = add(
        &env,
        json!({"on": "/v1/streaming.stop_listening", "respond": {"code": 10007}, "after": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    session.stop_listening().await.unwrap();
    let limited = session
        .stop_listening()
        .await
        .unwrap_err()
        .api()
        .cloned()
        .unwrap();
    assert_eq!((limited.status, limited.code), (429, Some(10007)));
    assert_eq!(limited.message.as_deref(), Some("Concurrent limit reached"));
    drop(token);
}

#[tokio::test]
async fn a_seeded_probability_fires_on_the_same_calls_every_run() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let env = TestEnv::start().await;
        env.server
            .fault(
                Fault::on("/v1/streaming.list")
                    .respond(503)
                    .probability(0.5, 42),
            )
            .await
            .unwrap();
        let token = env.token().await;
        let mut fired = Vec::new();
        for _ in 0..20 {
            fired.push(env.get("/v1/streaming.list", &token).await.0 == 503);
        }
        runs.push(fired);
    }
    assert_eq!(runs[0], runs[1]);
    let count = runs[0].iter().filter(|f| **f).count();
    assert!((3..18).contains(&count), "{count} of 20");
}

#[tokio::test]
async fn the_chat_socket_closes_drops_and_loses_events_on_demand() {
    let env = TestEnv::with_config(fast()).await;
    let (token, session_id) = env.connected_session().await;
    let url = env.chat_url(&session_id, &token, "");

    let mut socket = connect(&url).await;
    add(&env, json!({"on": "chat_socket", "session_id": session_id, "close": {"code": 4001, "reason": "fault"}, "times": 1})).await;
    let frame = close_frame(&mut socket).await;
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4001, "fault")
    );

    // A later rule meets sockets opened after it, once each: this one is dropped, no frame.
    add(&env, json!({"on": "chat_socket", "drop": true, "times": 1})).await;
    let mut dropped = connect(&url).await;
    let end = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut dropped))
        .await
        .unwrap();
    assert!(
        !matches!(
            end,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(_))))
        ),
        "no close frame: {end:?}"
    );
    let journal = env.server.received_requests();
    let socket_faults: Vec<_> = journal.iter().filter(|r| r.method == "WS").collect();
    assert_eq!(socket_faults.len(), 2, "{socket_faults:?}");
    assert_eq!(socket_faults[0].path, "/v1/ws/streaming.chat");
}

#[tokio::test]
async fn the_room_leaves_drops_and_loses_media_on_demand() {
    for (rule, expected) in [
        (
            json!({"on": "room", "leave": 4}),
            DisconnectReason::ParticipantRemoved,
        ),
        (
            json!({"on": "room", "drop": true}),
            DisconnectReason::SignalLost,
        ),
        (
            json!({"on": "room", "kill_media": true}),
            DisconnectReason::MediaLost,
        ),
    ] {
        let env = TestEnv::with_config(fast()).await;
        let (session, mut events, _) = env
            .sdk_session(NewSessionRequest::default(), SessionOptions::default())
            .await;
        let mut rule = rule;
        rule["session_id"] = json!(session.session_id());
        let (status, body) = add(&env, rule.clone()).await;
        assert_eq!(status, 200, "{body}");
        // kill_media ends the room when the client's ICE consent checks run out (about 30 s
        // for webrtc-rs), as a real ICE failure would.
        let ended = events
            .wait_for(Duration::from_secs(60), |e| {
                e.name() == "stream_disconnected"
            })
            .await
            .unwrap_or_else(|e| panic!("{rule}: no disconnect: {e}"));
        assert_eq!(
            ended.event,
            StreamingEvent::StreamDisconnected { reason: expected },
            "{rule}"
        );
    }
}

#[tokio::test]
async fn a_frozen_avatar_stops_sending_video_and_a_muted_one_audio() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let deadline = Instant::now() + WAIT;
    while session.packets_received().0 == 0 || session.packets_received().1 == 0 {
        assert!(Instant::now() < deadline, "media arrives");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.server
        .fault(Fault::on("room").freeze_video())
        .await
        .unwrap();
    env.server
        .fault(Fault::on("room").mute_audio())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = session.packets_received();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after = session.packets_received();
    assert_eq!(after, before, "no video or audio packet after the faults");
    assert!(before.0 > 0 && before.1 > 0);
}

/// Video and audio packets received over `window`.
async fn packets_over(session: &streaming_avatar::Session, window: Duration) -> (u64, u64) {
    let before = session.packets_received();
    tokio::time::sleep(window).await;
    let after = session.packets_received();
    (after.0 - before.0, after.1 - before.1)
}

#[tokio::test]
async fn impaired_media_loses_packets_under_a_cap_and_arrives_unevenly() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let window = Duration::from_secs(2);
    let healthy = packets_over(&session, window).await;
    assert!(healthy.0 > 0 && healthy.1 > 0, "{healthy:?}");

    // Half the frames and packets lost: about half the audio arrives (video frames are
    // several packets, so its count falls by about half too).
    env.server
        .fault(
            Fault::on("room")
                .impair(Impair {
                    packet_loss: Some(0.5),
                    ..Impair::default()
                })
                .probability(1.0, 3),
        )
        .await
        .unwrap();
    let lossy = packets_over(&session, window).await;
    let audio_share = lossy.1 as f64 / healthy.1 as f64;
    assert!(
        (0.3..0.7).contains(&audio_share),
        "audio {lossy:?} of {healthy:?}"
    );

    // Then a 20 kbit/s cap while the avatar talks: its video (hundreds of kbit/s while the
    // mouth moves) mostly does not pass.
    let words = vec!["word"; 200].join(" ");
    session.speak(&SpeakRequest::repeat(&words)).await.unwrap();
    env.server
        .fault(Fault::on("room").impair(Impair {
            packet_loss: Some(0.0),
            ..Impair::default()
        }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let talking = packets_over(&session, window).await;
    env.server
        .fault(Fault::on("room").impair(Impair {
            bandwidth_kbps: Some(20),
            ..Impair::default()
        }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let capped = packets_over(&session, window).await;
    assert!(
        (capped.0 as f64) < 0.5 * talking.0 as f64,
        "video {capped:?} under the cap, {talking:?} without"
    );
    let journal = env.server.received_requests();
    assert_eq!(
        journal
            .iter()
            .filter(|r| r
                .fault
                .as_ref()
                .is_some_and(|f| f.action.starts_with("impair")))
            .count(),
        3
    );
}

/// Milliseconds between the next 100 audio packets' arrivals.
async fn audio_gaps(session: &streaming_avatar::Session) -> Vec<f64> {
    let mut audio = session.audio();
    let mut last = None;
    let mut gaps = Vec::new();
    while gaps.len() < 100 {
        let packet = tokio::time::timeout(WAIT, audio.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(last) = last {
            gaps.push(packet.received_at.duration_since(last).as_secs_f64() * 1000.0);
        }
        last = Some(packet.received_at);
    }
    gaps
}

#[tokio::test]
async fn jitter_spreads_the_audio_packets_arrival() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let spread = |gaps: &[f64]| {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt()
    };
    let steady = spread(&audio_gaps(&session).await);
    env.server
        .fault(Fault::on("room").impair(Impair {
            jitter_ms: Some(60),
            ..Impair::default()
        }))
        .await
        .unwrap();
    let jittery = spread(&audio_gaps(&session).await);
    assert!(
        jittery > steady + 5.0,
        "spread {jittery:.1} ms with jitter, {steady:.1} ms without"
    );
}

#[tokio::test]
async fn the_server_can_say_the_connection_is_poor() {
    let env = TestEnv::with_config(fast()).await;
    let (session, mut events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    events
        .wait_for(WAIT, |e| matches!(e, StreamingEvent::ConnectionQualityChanged { quality } if *quality == ConnectionQuality::Good))
        .await
        .unwrap();
    env.server
        .fault(Fault::on("room").connection_quality(Quality::Poor))
        .await
        .unwrap();
    events
        .wait_for(WAIT, |e| matches!(e, StreamingEvent::ConnectionQualityChanged { quality } if *quality == ConnectionQuality::Bad))
        .await
        .unwrap();
    env.server
        .fault(Fault::on("room").connection_quality(Quality::Excellent))
        .await
        .unwrap();
    events
        .wait_for(WAIT, |e| matches!(e, StreamingEvent::ConnectionQualityChanged { quality } if *quality == ConnectionQuality::Good))
        .await
        .unwrap();
    assert_eq!(session.connection_quality(), ConnectionQuality::Good);
}

#[tokio::test]
async fn the_realtime_socket_closes_and_loses_messages_on_demand() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let endpoint = session.info().realtime_endpoint.clone().unwrap();
    env.server
        .fault(Fault::on("realtime").drop_events().times(1))
        .await
        .unwrap();
    let (mut quiet, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    let first = tokio::time::timeout(
        Duration::from_millis(800),
        futures_util::StreamExt::next(&mut quiet),
    )
    .await;
    assert!(
        first.is_err(),
        "nothing, not even the state, reaches it: {first:?}"
    );
    // The next socket hears the state; then a close rule ends it with its frame.
    let (mut told, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    let hello = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut told))
        .await
        .unwrap();
    assert!(
        format!("{hello:?}").contains("session.state_updated"),
        "{hello:?}"
    );
    env.server
        .fault(Fault::on("realtime").close(4002, "fault"))
        .await
        .unwrap();
    let closed = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut told))
            .await
            .unwrap()
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame: {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| u16::from(f.code)), Some(4002));
}

#[tokio::test]
async fn chat_socket_events_come_late_or_not_at_all_on_demand() {
    // Connected at start: no room needed to inject a user's turn.
    let env = TestEnv::with_config(ServerConfig {
        connect_on_start: true,
        ..fast()
    })
    .await;
    let (token, session_id) = env.connected_session().await;
    let url = env.chat_url(&session_id, &token, "");
    let turn_path = format!("/__understudy/sessions/{session_id}/user_turn");
    let turn = || {
        env.send(
            "POST",
            &turn_path,
            &[],
            Some(json!({"text": "hi", "duration_ms": 50})),
        )
    };
    env.server
        .fault(
            Fault::on("chat_socket")
                .delay(Duration::from_millis(600))
                .times(1),
        )
        .await
        .unwrap();
    let mut late = connect(&url).await;
    round_trip(&mut late).await;
    let asked = Instant::now();
    assert_eq!(turn().await.0, 200);
    let event = next_event(&mut late).await;
    assert_eq!(event["event_type"], "user_start");
    assert!(
        asked.elapsed() >= Duration::from_millis(600),
        "{:?}",
        asked.elapsed()
    );
    drop(late);

    env.server
        .fault(Fault::on("chat_socket").drop_events())
        .await
        .unwrap();
    let mut deaf = connect(&url).await;
    round_trip(&mut deaf).await;
    assert_eq!(turn().await.0, 200);
    let nothing = tokio::time::timeout(
        Duration::from_millis(800),
        futures_util::StreamExt::next(&mut deaf),
    )
    .await;
    assert!(nothing.is_err(), "no event reaches it: {nothing:?}");
}

#[tokio::test]
async fn sessions_and_tokens_expire_on_demand() {
    let env = TestEnv::with_config(fast()).await;
    let (session, mut events, token) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let id = session.session_id().to_owned();
    env.server
        .fault(
            Fault::on("session")
                .for_session(&id)
                .expire(Expiry::IdleTimeout),
        )
        .await
        .unwrap();
    let ended = events
        .wait_for(WAIT, |e| e.name() == "stream_disconnected")
        .await
        .unwrap();
    assert_eq!(
        ended.event,
        StreamingEvent::StreamDisconnected {
            reason: DisconnectReason::RoomDeleted
        }
    );
    let dumped = crate::voice::dump(&env, &id).await;
    assert_eq!(
        (dumped["state"].as_str(), dumped["close_reason"].as_str()),
        (Some("closed"), Some("idle_timeout"))
    );

    assert_eq!(
        env.get("/v1/streaming.list", &token).await.0,
        200,
        "the token works before it expires"
    );
    env.server
        .fault(Fault::on("token").token(&token))
        .await
        .unwrap();
    let (status, body) = env.get("/v1/streaming.list", &token).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (401, Some(400112)),
        "{body}"
    );

    // Unknown targets are refused and not kept.
    let unknown = env
        .server
        .fault(
            Fault::on("session")
                .for_session("nope")
                .expire(Expiry::DurationLimit),
        )
        .await;
    assert!(unknown.is_err());
    assert_eq!(rules(&env).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_rules_are_refused_and_rules_can_be_removed() {
    let env = TestEnv::start().await;
    for (rule, says) in [
        (json!({"on": "/v1/streaming.task"}), "no action"),
        (
            json!({"on": "room", "respond": {"status": 500}}),
            "does not apply",
        ),
        (json!({"on": "/v1/streaming.task", "respnd": {}}), "respnd"),
        (
            json!({"on": "/v1/streaming.task", "respond": {"status": 500}, "probability": 3}),
            "probability",
        ),
        (json!({"on": 7}), "on"),
    ] {
        let (status, body) = add(&env, rule.clone()).await;
        assert_eq!(
            (status, body["code"].as_i64()),
            (400, Some(400006)),
            "{rule}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{rule}: {body}"
        );
    }
    let (status, body) = env
        .send_raw("POST", "/__understudy/faults", &[], b"{not json".to_vec())
        .await;
    assert_eq!(status, 400, "{body}");

    let a = add(
        &env,
        json!({"on": "/v1/streaming.list", "respond": {"status": 500}}),
    )
    .await
    .1["id"]
        .as_u64()
        .unwrap();
    add(
        &env,
        json!({"on": "/v1/streaming.list", "respond": {"status": 502}}),
    )
    .await;
    let (status, _) = env
        .send("DELETE", &format!("/__understudy/faults/{a}"), &[], None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        env.send("DELETE", &format!("/__understudy/faults/{a}"), &[], None)
            .await
            .0,
        404
    );
    assert_eq!(rules(&env).await.as_array().unwrap().len(), 1);
    assert_eq!(
        env.send("DELETE", "/__understudy/faults", &[], None)
            .await
            .0,
        200
    );
    assert_eq!(rules(&env).await, json!([]));
    add(
        &env,
        json!({"on": "/v1/streaming.list", "respond": {"status": 500}}),
    )
    .await;
    env.send("POST", "/__understudy/reset", &[], None).await;
    assert_eq!(rules(&env).await, json!([]), "reset clears rules");
}

#[tokio::test]
async fn with_an_admin_token_the_admin_api_asks_for_it() {
    let env = TestEnv::with_config(ServerConfig {
        admin_token: Some("s3cret".into()),
        ..ServerConfig::default()
    })
    .await;
    let (status, body) = env.send("GET", "/__understudy/faults", &[], None).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (401, Some(400112)),
        "{body}"
    );
    let (status, _) = env
        .send(
            "GET",
            "/__understudy/faults",
            &[("authorization", "Bearer wrong")],
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = env
        .send(
            "GET",
            "/__understudy/faults",
            &[("authorization", "Bearer s3cret")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = env
        .send(
            "GET",
            "/__understudy/requests",
            &[("x-understudy-admin-token", "s3cret")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    // HeyGen's own routes do not change.
    let token = env.token().await;
    assert_eq!(env.get("/v1/streaming.list", &token).await.0, 200);
}
