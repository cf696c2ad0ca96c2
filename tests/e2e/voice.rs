//! Voice (§7.2, §8.2): audio frames on the chat socket become user turns with `user_start` /
//! `user_stop`, transcripts go out over LiveKit data, the avatar answers; push-to-talk, silence
//! prompts, the admin control, and audio nobody can hear.

use livekit_protocol as lk;
use serde_json::{Value, json};
use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{PcmSource, SessionOptions, StreamingEvent, VoiceChatTransport};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use understudy_e2e::chat_client::{
    audio_frame, audio_frames, close_frame, connect, next_event, round_trip, send_all,
};
use understudy_e2e::livekit_viewer::Viewer;
use understudy_e2e::sdk_events::{next_from_room, next_named};
use understudy_e2e::{TestEnv, assert_error, rest_config};
use understudy_proto::events::DataChannelEvent;
use understudy_server::ServerConfig;

pub(crate) async fn dump(env: &TestEnv, id: &str) -> Value {
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    sessions
        .as_array()
        .and_then(|all| all.iter().find(|s| s["session_id"] == id))
        .cloned()
        .expect("the session is listed")
}

async fn admin(env: &TestEnv, id: &str, action: &str, body: Value) -> (u16, Value) {
    env.send(
        "POST",
        &format!("/__understudy/sessions/{id}/{action}"),
        &[],
        Some(body),
    )
    .await
}

/// A started v2 session whose room the test viewer has joined, for what the SDK would never
/// send (garbage packets, bare signalling requests): `(token, session id, viewer)`.
pub(crate) async fn joined(env: &TestEnv) -> (String, String, Viewer) {
    let token = env.token().await;
    let (_, created) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "quality": "low"}),
        )
        .await;
    let data = &created["data"];
    let id = data["session_id"].as_str().unwrap().to_owned();
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    let viewer = Viewer::join(
        data["url"].as_str().unwrap(),
        data["access_token"].as_str().unwrap(),
    )
    .await;
    (token, id, viewer)
}

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

/// A spoken second as the SDK sends it: silence, 800 ms of speech, then silence past the
/// hangover. 1.7 s in all, within the real-time budget, so nothing is dropped.
fn spoken_turn() -> Vec<Vec<u8>> {
    let mut frames = audio_frames(200, false);
    frames.extend(audio_frames(800, true));
    frames.extend(audio_frames(700, false));
    frames
}

#[tokio::test]
async fn speech_on_the_socket_is_a_turn_the_avatar_answers() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "&push_to_talk=false")).await;
    send_all(&mut socket, spoken_turn()).await;
    assert_eq!(
        next_event(&mut socket).await,
        json!({"event_type": "user_start"})
    );
    assert_eq!(
        next_event(&mut socket).await,
        json!({"event_type": "user_stop"})
    );
    let session = dump(&env, &id).await;
    assert_eq!(session["user_turns"], 1);
    assert_eq!(session["user_speaking"], false);
    assert!(
        session["speaking_task_id"].is_string(),
        "the avatar answers: {session}"
    );
}

#[tokio::test]
async fn silence_and_muted_zeros_are_not_speech() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    send_all(&mut socket, audio_frames(1500, false)).await;
    assert_eq!(round_trip(&mut socket).await, Vec::<Value>::new());
    assert_eq!(dump(&env, &id).await["user_turns"], 0);
}

#[tokio::test]
async fn a_client_that_stops_sending_mid_turn_ends_the_turn() {
    // closeVoiceChat stops the frames without a last silence.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    send_all(&mut socket, audio_frames(500, true)).await;
    assert_eq!(next_event(&mut socket).await["event_type"], "user_start");
    assert_eq!(next_event(&mut socket).await["event_type"], "user_stop");
}

#[tokio::test]
async fn audio_nobody_can_hear_closes_the_socket_with_1007() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    for (rate, channels, why) in [
        (0, 1, "sample_rate 0 Hz"),
        (96_000, 1, "sample_rate 96000 Hz"),
        (16_000, 6, "num_channels 6"),
    ] {
        let mut socket = connect(&env.chat_url(&id, &token, "")).await;
        send_all(&mut socket, [audio_frame(vec![0; 1024], rate, channels)]).await;
        let frame = close_frame(&mut socket).await;
        assert_eq!(frame.code, CloseCode::Invalid, "{why}");
        assert!(frame.reason.contains(why), "{}", frame.reason);
    }
    // The session is unharmed.
    env.assert_alive(&token, &id).await;
}

#[tokio::test]
async fn odd_frames_are_dropped_and_floods_are_held_to_real_time() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    // An odd byte count, a stereo frame with half a sample pair, 44.1 kHz (allowed).
    send_all(
        &mut socket,
        [
            audio_frame(vec![1, 2, 3], 16_000, 1),
            audio_frame(vec![0; 6], 16_000, 2),
            audio_frame(vec![0; 882], 44_100, 1),
        ],
    )
    .await;
    // Twenty seconds of speech sent at once: past the 2 s budget it is dropped, so at most one
    // turn can have started, and it cannot have ended from audio that was never heard.
    send_all(&mut socket, audio_frames(20_000, true)).await;
    let events = round_trip(&mut socket).await;
    assert!(events.len() <= 1, "{events:?}");
    assert_eq!(dump(&env, &id).await["user_turns"], 0);
}

#[tokio::test]
async fn push_to_talk_ignores_the_microphone() {
    // §8.3: with push_to_talk=true turns follow the button (LiveKit data), not the detector.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "&push_to_talk=true")).await;
    send_all(&mut socket, spoken_turn()).await;
    assert_eq!(round_trip(&mut socket).await, Vec::<Value>::new());
    let session = dump(&env, &id).await;
    assert_eq!(
        (
            session["push_to_talk"].clone(),
            session["user_turns"].clone()
        ),
        (json!(true), json!(0))
    );
}

#[tokio::test]
async fn silence_prompts_count_down_then_stop() {
    // §7.2 user_silence; the schedule is [INF] and configured short here.
    let env = TestEnv::with_config(ServerConfig {
        silence_prompt_after: Duration::from_millis(300),
        silence_prompts: 2,
        words_per_minute: 600.0,
        ..rest_config()
    })
    .await;
    let (token, id) = env.connected_session().await;
    let url = env
        .chat_url(&id, &token, "")
        .replace("silence_response=false", "silence_response=true");
    let mut socket = connect(&url).await;
    assert_eq!(
        next_event(&mut socket).await,
        json!({"event_type": "user_silence", "silence_times": 1, "count_down": 1})
    );
    assert_eq!(
        next_event(&mut socket).await,
        json!({"event_type": "user_silence", "silence_times": 2, "count_down": 0})
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        round_trip(&mut socket).await,
        Vec::<Value>::new(),
        "no third prompt"
    );
    // Speaking starts the count again.
    send_all(&mut socket, spoken_turn()).await;
    assert_eq!(next_event(&mut socket).await["event_type"], "user_start");
    assert_eq!(next_event(&mut socket).await["event_type"], "user_stop");
    assert_eq!(
        next_event(&mut socket).await,
        json!({"event_type": "user_silence", "silence_times": 1, "count_down": 1})
    );
}

#[tokio::test]
async fn without_silence_response_there_are_no_prompts() {
    let env = TestEnv::with_config(ServerConfig {
        silence_prompt_after: Duration::from_millis(100),
        ..rest_config()
    })
    .await;
    let (token, id) = env.connected_session().await;
    let mut socket = connect(&env.chat_url(&id, &token, "")).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(round_trip(&mut socket).await, Vec::<Value>::new());
}

#[tokio::test]
async fn an_injected_turn_reaches_the_room_and_the_socket_in_order() {
    // Admin control: a scripted transcript, then a turn without a microphone; the SDK sees the
    // socket's and the room's events on one stream.
    let env = TestEnv::with_config(fast()).await;
    let (mut session, mut events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let id = session.session_id().to_owned();

    let scripted = admin(
        &env,
        &id,
        "utterances",
        json!({"utterances": ["Where is the station?"]}),
    )
    .await;
    assert_eq!(scripted, (200, json!({"scripted": 1})));
    let started = admin(&env, &id, "user_turn", json!({"duration_ms": 200})).await;
    assert_eq!(started.0, 200, "{}", started.1);

    assert_eq!(
        next_named(&mut events, "user_start").await,
        StreamingEvent::UserStart
    );
    assert_eq!(
        next_named(&mut events, "user_stop").await,
        StreamingEvent::UserStop
    );
    let StreamingEvent::UserTalkingMessage { task_id, message } = next_from_room(&mut events).await
    else {
        panic!("expected the user's transcript first");
    };
    assert_eq!(message, "Where is the station?");
    assert_eq!(
        next_from_room(&mut events).await,
        StreamingEvent::UserEndMessage { task_id }
    );
    // The answer: its text first (observed timeline), then it starts talking.
    assert!(matches!(
        next_from_room(&mut events).await,
        StreamingEvent::AvatarTalkingMessage { .. }
    ));
    loop {
        match next_from_room(&mut events).await {
            StreamingEvent::AvatarTalkingMessage { .. } => {}
            StreamingEvent::AvatarStartTalking { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(dump(&env, &id).await["scripted_utterances"], 0);

    // An injected turn with its own text, cutting the answer (barge-in).
    admin(
        &env,
        &id,
        "user_turn",
        json!({"text": "Stop, thanks", "duration_ms": 50}),
    )
    .await;
    loop {
        match next_from_room(&mut events).await {
            StreamingEvent::UserTalkingMessage { message, .. } => {
                break assert_eq!(message, "Stop, thanks");
            }
            StreamingEvent::AvatarTalkingMessage { .. }
            | StreamingEvent::AvatarEndMessage { .. }
            | StreamingEvent::AvatarStopTalking { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    session.stop().await.unwrap();
}

#[tokio::test]
async fn admin_voice_control_refuses_bad_requests_with_heygen_errors() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    assert_error(
        &admin(&env, "nope", "user_turn", json!({})).await,
        404,
        10006,
    );
    assert_error(
        &admin(&env, &id, "utterances", json!({"utterances": "one"})).await,
        400,
        400006,
    );
    assert_error(
        &admin(&env, &id, "user_turn", json!({"duration_ms": 3_600_000})).await,
        400,
        400006,
    );
    assert_error(
        &admin(&env, &id, "user_turn", json!({"duration_ms": -1})).await,
        400,
        400006,
    );
    let too_many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    assert_error(
        &admin(&env, &id, "utterances", json!({"utterances": too_many})).await,
        400,
        400006,
    );
    let opened = admin(&env, &id, "user_turn", json!({"duration_ms": 5000})).await;
    assert_eq!(opened, (200, json!({"started": true, "ends_in_ms": 5000})));
    assert_error(&admin(&env, &id, "user_turn", json!({})).await, 400, 400006);
    let (new_token, new_id) = env.new_session().await;
    assert_error(
        &admin(&env, &new_id, "user_turn", json!({})).await,
        400,
        10001,
    );
    env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    assert_error(
        &admin(&env, &id, "utterances", json!({"utterances": []})).await,
        400,
        10005,
    );
    let _ = new_token;
}

#[tokio::test]
async fn livekit_text_becomes_a_talk_task_and_bad_packets_are_dropped() {
    // heygen-api.md §8.3, livekit.md §2.9: speak() on the LiveKit transport publishes
    // JSON.stringify(text) on the client's publisher `_reliable`.
    let env = TestEnv::with_config(fast()).await;
    let (token, id, mut viewer) = joined(&env).await;
    let channel = viewer.open_publisher(7).await;
    for junk in [&b"\xff\x00garbage"[..], b""] {
        channel.send_raw(junk).await;
    }
    for payload in [
        &b"not json"[..],
        b"{\"text\":1}",
        b"\"   \"",
        br#""push_to_talk:start""#,
    ] {
        channel.publish(payload).await;
    }
    channel.publish(br#""hello avatar""#).await;
    // The reply's text, then its speech (observed timeline).
    assert!(matches!(
        viewer.next_event().await,
        DataChannelEvent::AvatarTalkingMessage { .. }
    ));
    loop {
        match viewer.next_event().await {
            DataChannelEvent::AvatarTalkingMessage { .. } => {}
            DataChannelEvent::AvatarStartTalking { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let session = dump(&env, &id).await;
    assert_eq!(session["user_turns"], 0, "push-to-talk is off: {session}");
    env.assert_alive(&token, &id).await;
}

#[tokio::test]
async fn push_to_talk_over_livekit_opens_and_closes_a_turn() {
    let env = TestEnv::with_config(fast()).await;
    let options = SessionOptions::default()
        .voice_chat_transport(VoiceChatTransport::LiveKit)
        .enable_push_to_talk(true);
    let (mut session, mut events, _) = env.sdk_session(NewSessionRequest::default(), options).await;
    admin(
        &env,
        session.session_id(),
        "utterances",
        json!({"utterances": ["Held to talk"]}),
    )
    .await;
    session
        .start_voice_chat(PcmSource::silence(), false)
        .await
        .unwrap();
    session.push_to_talk_start().await.unwrap();
    assert_eq!(
        next_named(&mut events, "user_start").await,
        StreamingEvent::UserStart
    );
    session.push_to_talk_stop().await.unwrap();
    // Under arch_version=v2 (the LiveKit transport) user_start and user_stop come over the room
    // with the transcript, in the turn's order (§7.2).
    let StreamingEvent::UserTalkingMessage { message, .. } =
        next_named(&mut events, "user_talking_message").await
    else {
        unreachable!()
    };
    assert_eq!(message, "Held to talk");
    assert_eq!(
        next_named(&mut events, "user_stop").await,
        StreamingEvent::UserStop
    );
    session.stop().await.unwrap();
}

#[tokio::test]
async fn add_track_is_published_with_a_track_sid() {
    // livekit.md §2.9: the microphone publish waits for trackPublished with the request's cid.
    let env = TestEnv::with_config(fast()).await;
    let (_, _, mut viewer) = joined(&env).await;
    viewer
        .signal(lk::signal_request::Message::AddTrack(lk::AddTrackRequest {
            cid: "mic-cid".into(),
            name: "microphone".into(),
            r#type: lk::TrackType::Audio as i32,
            source: lk::TrackSource::Microphone as i32,
            ..Default::default()
        }))
        .await;
    let published = loop {
        if let lk::signal_response::Message::TrackPublished(p) = viewer.next_response().await {
            break p;
        }
    };
    assert_eq!(published.cid, "mic-cid");
    let track = published.track.expect("track info");
    assert!(track.sid.starts_with("TR_"), "{}", track.sid);
    assert_eq!(track.r#type, lk::TrackType::Audio as i32);
    assert_eq!(track.source, lk::TrackSource::Microphone as i32);
    // A publisher offer that is not SDP is refused without ending the room.
    viewer
        .signal(lk::signal_request::Message::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp: "not sdp".into(),
            id: 3,
            ..Default::default()
        }))
        .await;
    viewer.open_publisher(4).await;
    assert!(viewer.is_connected());
}
