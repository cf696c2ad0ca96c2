//! LiveAvatar (`liveavatar.md`): the REST API's envelopes, credentials and errors; FULL mode's
//! room (the avatar and the agent, commands on `agent-control`, events on `agent-response`,
//! push-to-talk, `session.stopped`); LITE's WebSocket; the account's list and transcript.

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use understudy_e2e::TestEnv;
use understudy_e2e::livekit_viewer::{PublisherChannel, Viewer};
use understudy_server::ServerConfig;

const KEY: &str = "liveavatar-key";

fn config() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        concurrency_limit: 0,
        ..ServerConfig::default()
    }
}

async fn mint(env: &TestEnv, body: Value) -> (String, String) {
    let answer = env
        .send(
            "POST",
            "/v1/sessions/token",
            &[("x-api-key", KEY)],
            Some(body),
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["code"], 1000);
    let data = &answer.1["data"];
    (
        data["session_id"].as_str().unwrap().to_owned(),
        data["session_token"].as_str().unwrap().to_owned(),
    )
}

async fn bearer(
    env: &TestEnv,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    env.send(
        method,
        path,
        &[("authorization", &format!("Bearer {token}"))],
        body,
    )
    .await
}

async fn start(env: &TestEnv, token: &str) -> Value {
    let answer = bearer(env, "POST", "/v1/sessions/start", token, None).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert_eq!(answer.1["code"], 1000);
    answer.1["data"].clone()
}

/// A FULL session started and joined, with the client's publisher channel open.
async fn full_session(env: &TestEnv, extra: Value) -> (String, String, Viewer, PublisherChannel) {
    let mut body = json!({"mode": "FULL", "avatar_id": "dd73ea75-1218-4ef3-92ce-606d5f7fbc0a"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (id, token) = mint(env, body).await;
    let data = start(env, &token).await;
    let mut viewer = Viewer::join(
        data["livekit_url"].as_str().unwrap(),
        data["livekit_client_token"].as_str().unwrap(),
    )
    .await;
    let publisher = viewer.open_publisher(1).await;
    (id, token, viewer, publisher)
}

/// The next `agent-response` event, skipping nothing: every packet of a FULL room is one.
async fn next_event(viewer: &mut Viewer) -> Value {
    let packet = viewer.next_packet().await;
    assert_eq!(packet.topic.as_deref(), Some("agent-response"));
    serde_json::from_slice(&packet.payload).expect("JSON")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text message on a LITE socket.
async fn next_text(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

async fn command(publisher: &PublisherChannel, body: Value) {
    publisher
        .publish_on(Some("agent-control"), body.to_string().as_bytes())
        .await;
}

#[tokio::test]
async fn token_start_stop_answer_in_liveavatar_envelopes_and_shapes() {
    let env = TestEnv::with_config(config()).await;
    let (id, token) = mint(
        &env,
        json!({"mode": "FULL", "avatar_id": "a", "max_session_duration": 120}),
    )
    .await;
    // The web SDK reads the mode from the token's payload.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["start_session_data"]["mode"], "FULL");
    assert_eq!(token.split('.').count(), 3);

    // Only the session token starts a session; only an API key mints.
    let with_key = env
        .send("POST", "/v1/sessions/start", &[("x-api-key", KEY)], None)
        .await;
    assert_eq!(with_key.0, 401, "{}", with_key.1);
    assert!(with_key.1["message"].is_string() && with_key.1["code"] != 1000);
    let with_bearer = bearer(
        &env,
        "POST",
        "/v1/sessions/token",
        &token,
        Some(json!({"avatar_id": "a"})),
    )
    .await;
    assert_eq!(with_bearer.0, 401);

    let data = start(&env, &token).await;
    assert_eq!(data["session_id"], id);
    assert!(data["livekit_url"].as_str().unwrap().starts_with("ws://"));
    assert_eq!(
        data["livekit_client_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert_eq!(data["max_session_duration"], 120);
    // FULL has no ws_url: the web SDK would send its commands there.
    assert!(data.get("ws_url").is_none());
    let again = bearer(&env, "POST", "/v1/sessions/start", &token, None).await;
    assert_eq!(again.0, 400);
    assert_eq!(again.1["data"], Value::Null);

    let read = env
        .send(
            "GET",
            &format!("/v1/sessions/{id}"),
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(read.1["data"]["mode"], "FULL");
    assert!(read.1["data"]["end_at"].is_null());

    // The SDK's stop: Bearer, no body. A second stop (the SDK stops on every teardown) is fine.
    for _ in 0..2 {
        let stop = bearer(&env, "POST", "/v1/sessions/stop", &token, None).await;
        assert_eq!(
            stop,
            (
                200,
                json!({"code": 1000, "data": null, "message": "success"})
            )
        );
    }
    let keep = bearer(&env, "POST", "/v1/sessions/keep-alive", &token, None).await;
    assert_eq!(keep.0, 400);
    let historic = env
        .send(
            "GET",
            "/v1/sessions?type=historic",
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(historic.1["data"]["count"], 1);
    assert_eq!(historic.1["data"]["results"][0]["id"], id);
    assert_eq!(
        historic.1["data"]["results"][0]["end_reason"],
        "USER_CLOSED"
    );
    let active = env
        .send(
            "GET",
            "/v1/sessions?type=active",
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(active.1["data"]["count"], 0);
}

#[tokio::test]
async fn bad_input_gets_fastapi_422_and_unknown_sessions_404() {
    let env = TestEnv::with_config(config()).await;
    let missing = env
        .send(
            "POST",
            "/v1/sessions/token",
            &[("x-api-key", KEY)],
            Some(json!({"mode": "FULL"})),
        )
        .await;
    assert_eq!(missing.0, 422);
    assert_eq!(missing.1["detail"][0]["loc"], json!(["body", "avatar_id"]));
    assert_eq!(missing.1["detail"][0]["type"], "missing");
    let wrong_type = env
        .send(
            "POST",
            "/v1/sessions/token",
            &[("x-api-key", KEY)],
            Some(json!({"avatar_id": 7})),
        )
        .await;
    assert_eq!(wrong_type.0, 422);
    assert_eq!(wrong_type.1["detail"][0]["loc"][1], "avatar_id");
    let garbage = env
        .send_raw(
            "POST",
            "/v1/sessions/token",
            &[("x-api-key", KEY)],
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(garbage.0, 422);
    let too_long = env
        .send(
            "POST",
            "/v1/sessions/token",
            &[("x-api-key", KEY)],
            Some(json!({"avatar_id": "a", "max_session_duration": 100000})),
        )
        .await;
    assert_eq!(too_long.0, 422);
    let no_type = env
        .send("GET", "/v1/sessions", &[("x-api-key", KEY)], None)
        .await;
    assert_eq!(no_type.0, 422);
    assert_eq!(no_type.1["detail"][0]["loc"], json!(["query", "type"]));
    let unknown = env
        .send(
            "GET",
            "/v1/sessions/00000000-0000-4000-8000-000000000000",
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(unknown.0, 404);
    assert_eq!(unknown.1["data"], Value::Null);
    let stop_without_id = env
        .send("POST", "/v1/sessions/stop", &[("x-api-key", KEY)], None)
        .await;
    assert_eq!(stop_without_id.0, 422);
    let unknown_token = bearer(&env, "POST", "/v1/sessions/start", "a.b.c", None).await;
    assert_eq!(unknown_token.0, 401);
}

#[tokio::test]
async fn full_mode_has_the_avatar_and_the_agent_and_narrates_speak_text() {
    let env = TestEnv::with_config(config()).await;
    let (id, token, mut viewer, publisher) = full_session(&env, json!({})).await;
    let identities: Vec<_> = viewer
        .join
        .other_participants
        .iter()
        .map(|p| p.identity.clone())
        .collect();
    assert_eq!(
        identities,
        vec!["heygen".to_owned(), format!("liveavatar-agent-{id}")]
    );
    assert_eq!(viewer.join.other_participants[0].tracks.len(), 2);

    command(&publisher, json!({"event_id": "cmd-1", "event_type": "avatar.speak_text", "text": "Hello from the mock."})).await;
    let mut names = Vec::new();
    let mut chunks = String::new();
    loop {
        let event = next_event(&mut viewer).await;
        assert_eq!(event["session_id"], id.as_str());
        assert_eq!(event["source_event_id"], "cmd-1", "{event}");
        let name = event["event_type"].as_str().unwrap().to_owned();
        match name.as_str() {
            "avatar.transcription.chunk" => chunks.push_str(event["text"].as_str().unwrap()),
            "avatar.transcription" => assert_eq!(event["text"], "Hello from the mock."),
            _ => {}
        }
        names.push(name);
        if names.last().unwrap() == "avatar.speak_ended" {
            break;
        }
    }
    assert_eq!(chunks, "Hello from the mock.");
    let first_start = names
        .iter()
        .position(|n| n == "avatar.speak_started")
        .unwrap();
    assert_eq!(
        &names[first_start..].last().unwrap()[..],
        "avatar.speak_ended"
    );
    assert!(
        names.contains(&"avatar.transcription".to_owned()),
        "{names:?}"
    );

    // speak_response: the user's text and the avatar's answer land in the transcript.
    command(&publisher, json!({"event_id": "cmd-2", "event_type": "avatar.speak_response", "text": "What do you sell?"})).await;
    loop {
        let event = next_event(&mut viewer).await;
        if event["event_type"] == "avatar.speak_ended" {
            assert_eq!(event["source_event_id"], "cmd-2");
            break;
        }
    }
    let transcript = env
        .send(
            "GET",
            &format!("/v1/sessions/{id}/transcript"),
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    let lines = transcript.1["data"]["transcript_data"]
        .as_array()
        .unwrap()
        .clone();
    let roles: Vec<_> = lines.iter().map(|l| l["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["avatar", "user", "avatar"], "{lines:?}");
    assert_eq!(lines[1]["transcript"], "What do you sell?");
    assert_eq!(transcript.1["data"]["session_active"], true);

    // A server-side end is said on the channel before the room goes.
    let stop = env
        .send(
            "POST",
            "/v1/sessions/stop",
            &[("x-api-key", KEY)],
            Some(json!({"session_id": id, "reason": "USER_DISCONNECTED"})),
        )
        .await;
    assert_eq!(stop.0, 200);
    let stopped = next_event(&mut viewer).await;
    assert_eq!(stopped["event_type"], "session.stopped");
    assert_eq!(stopped["stop_reason"], "USER_DISCONNECTED");
    assert_eq!(
        viewer.left().await,
        livekit_protocol::DisconnectReason::RoomDeleted as i32
    );
    drop(token);
}

#[tokio::test]
async fn interrupt_ends_the_speech_and_push_to_talk_is_acknowledged() {
    let env = TestEnv::with_config(config()).await;
    let (_, _, mut viewer, publisher) =
        full_session(&env, json!({"interactivity_type": "PUSH_TO_TALK"})).await;
    let long = "word ".repeat(200);
    command(
        &publisher,
        json!({"event_id": "long", "event_type": "avatar.speak_text", "text": long}),
    )
    .await;
    while next_event(&mut viewer).await["event_type"] != "avatar.speak_started" {}
    command(&publisher, json!({"event_type": "avatar.interrupt"})).await;
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let event = next_event(&mut viewer).await;
            if event["event_type"] == "avatar.speak_ended" {
                return event;
            }
        }
    })
    .await
    .expect("the speech ends within two seconds of the interrupt");
    assert_eq!(ended["source_event_id"], "long");

    command(&publisher, json!({"event_type": "user.start_push_to_talk"})).await;
    let mut seen = Vec::new();
    while !seen.contains(&"user.push_to_talk_started".to_owned()) {
        seen.push(
            next_event(&mut viewer).await["event_type"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    command(&publisher, json!({"event_type": "user.stop_push_to_talk"})).await;
    let mut turn = Vec::new();
    loop {
        let event = next_event(&mut viewer).await;
        let name = event["event_type"].as_str().unwrap().to_owned();
        if name == "user.transcription.chunk" || name == "user.transcription" {
            assert!(!event["text"].as_str().unwrap().is_empty());
        }
        turn.push(name);
        if turn.last().unwrap() == "avatar.speak_started" {
            break;
        }
    }
    let at = |n: &str| turn.iter().position(|t| t == n).unwrap_or(usize::MAX);
    assert!(at("user.push_to_talk_stopped") < turn.len(), "{turn:?}");
    assert!(
        at("user.transcription.chunk") < at("user.speak_ended"),
        "{turn:?}"
    );
    assert!(
        at("user.speak_ended") < at("user.transcription"),
        "{turn:?}"
    );
    assert!(
        at("user.transcription") < at("avatar.speak_started"),
        "{turn:?}"
    );
}

#[tokio::test]
async fn push_to_talk_fails_in_a_conversational_session() {
    let env = TestEnv::with_config(config()).await;
    let (_, _, mut viewer, publisher) = full_session(&env, json!({})).await;
    command(&publisher, json!({"event_type": "user.start_push_to_talk"})).await;
    assert_eq!(
        next_event(&mut viewer).await["event_type"],
        "user.push_to_talk_start_failed"
    );
    // Packets off the command topic, and garbage on it, change nothing.
    publisher.publish(br#""hello""#).await;
    publisher
        .publish_on(Some("agent-control"), b"\xff not json")
        .await;
    command(&publisher, json!({"event_type": "user.stop_push_to_talk"})).await;
    assert_eq!(
        next_event(&mut viewer).await["event_type"],
        "user.push_to_talk_stop_failed"
    );
}

#[tokio::test]
async fn a_sandbox_session_ends_after_its_minute_with_max_duration_reached() {
    let env = TestEnv::with_config(ServerConfig {
        time_scale: 30.0,
        ..config()
    })
    .await;
    let (id, _, mut viewer, _publisher) = full_session(&env, json!({"is_sandbox": true})).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = next_event(&mut viewer).await;
            if event["event_type"] == "session.stopped" {
                return event;
            }
        }
    })
    .await
    .expect("the sandbox session ends after its (scaled) minute");
    assert_eq!(stopped["stop_reason"], "MAX_DURATION_REACHED");
    let read = env
        .send(
            "GET",
            &format!("/v1/sessions/{id}"),
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(read.1["data"]["is_sandbox"], true);
    assert_eq!(read.1["data"]["end_reason"], "MAX_DURATION_REACHED");
    assert_eq!(read.1["data"]["credits_consumed"], 0.0);
}

#[tokio::test]
async fn lite_mode_takes_audio_on_its_websocket_and_survives_bad_messages() {
    let env = TestEnv::with_config(config()).await;
    let (id, token) = mint(
        &env,
        json!({"mode": "LITE", "avatar_id": "a", "video_settings": {"encoding": "VP8"}}),
    )
    .await;
    let data = start(&env, &token).await;
    assert!(data["livekit_agent_token"].is_string());
    let ws_url = data["ws_url"].as_str().unwrap();
    assert!(ws_url.ends_with(&format!("/v1/sessions/{id}/ws")));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let first = next_text(&mut socket).await;
    assert_eq!(
        first,
        json!({"type": "session.state_updated", "event_id": first["event_id"], "state": "connected"})
    );

    // The web SDK's repeatAudio sends raw PCM, not base64: an error, and the session goes on.
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(
            json!({"type": "agent.speak", "event_id": "bad", "audio": "\u{1}\u{2}not base64"}),
        ))
        .await
        .unwrap();
    let pcm = vec![0u8; 24_000 * 2 / 5];
    let audio = base64::engine::general_purpose::STANDARD.encode(&pcm);
    socket
        .send(send(
            json!({"type": "agent.speak", "event_id": "u1", "audio": audio}),
        ))
        .await
        .unwrap();
    socket
        .send(send(json!({"type": "agent.speak_end", "event_id": "u1"})))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while !kinds.contains(&"agent.speak_ended".to_owned()) {
        let message = next_text(&mut socket).await;
        if message["type"] == "error" {
            assert_eq!(message["error"]["type"], "invalid_request_error");
        }
        if message["type"] == "agent.speak_started" {
            assert_eq!(message["event_id"], "u1");
        }
        kinds.push(message["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds[0], "error", "{kinds:?}");
    assert!(
        kinds.contains(&"agent.audio_buffer_appended".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"agent.speak_started".to_owned()),
        "{kinds:?}"
    );

    // A FULL session has no WebSocket.
    let (full, full_token) = mint(&env, json!({"avatar_id": "a"})).await;
    start(&env, &full_token).await;
    let base = ws_url.split("/v1/").next().unwrap();
    assert!(
        tokio_tungstenite::connect_async(format!("{base}/v1/sessions/{full}/ws"))
            .await
            .is_err()
    );

    // The DELETE the demo backend uses ends the session, and the socket says so.
    let delete = bearer(&env, "DELETE", "/v1/sessions", &token, None).await;
    assert_eq!(delete.0, 200);
    let mut states = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
    {
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == "session.state_updated" {
                states.push(value["state"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(states, ["closing", "closed"]);
}

/// A session of `mode` started through the Rust SDK's LiveAvatar client, with the client and
/// its token.
async fn sdk_session(
    env: &TestEnv,
    mode: understudy_proto::liveavatar::SessionMode,
) -> (
    streaming_avatar::liveavatar::LiveAvatar,
    understudy_proto::liveavatar::rest::SessionTokenData,
    streaming_avatar::liveavatar::LiveAvatarSession,
) {
    let account = streaming_avatar::liveavatar::LiveAvatar::builder()
        .base_path(env.url(""))
        .api_key(KEY)
        .build()
        .unwrap();
    let request = understudy_proto::liveavatar::rest::SessionTokenRequest {
        mode,
        avatar_id: "a".into(),
        ..Default::default()
    };
    let token = account.create_session_token(&request).await.unwrap();
    let session = account.start(&token.session_token).await.unwrap();
    (account, token, session)
}

/// The Rust SDK's LiveAvatar client against the mock: the account's calls, a FULL session's
/// commands and their events, push-to-talk refused, media, keep-alive and stop.
#[tokio::test]
async fn the_rust_sdk_runs_a_full_session() {
    use streaming_avatar::StreamingEvent;
    use understudy_proto::liveavatar::{AgentEventKind, SessionMode};

    let env = TestEnv::with_config(config()).await;
    let (account, token, session) = sdk_session(&env, SessionMode::Full).await;
    assert_eq!(session.session_id(), token.session_id);
    assert_eq!(session.max_session_duration(), 600);
    assert!(session.start_data().ws_url.is_none());
    let mut events = session.events();
    let mut video = session.video();

    let said = session.repeat("Hello from the Rust SDK.").await.unwrap();
    let wait = Duration::from_secs(10);
    let started = events
        .wait_for(wait, |e| matches!(e, StreamingEvent::LiveAvatar(a) if a.kind == AgentEventKind::AvatarSpeakStarted))
        .await
        .unwrap();
    let StreamingEvent::LiveAvatar(started) = started.event else {
        unreachable!()
    };
    assert_eq!(started.source_event_id.as_deref(), Some(said.as_str()));
    assert_eq!(started.kind.name(), "avatar.speak_started");
    events
        .wait_for(wait, |e| e.name() == "avatar.speak_ended")
        .await
        .unwrap();
    let frame = tokio::time::timeout(wait, video.next())
        .await
        .expect("video flows")
        .expect("video");
    assert!(frame.is_ok());

    // A conversational session refuses push-to-talk, and says so.
    assert!(matches!(
        session.push_to_talk_start().await,
        Err(streaming_avatar::Error::NotReady(_))
    ));
    session.keep_alive().await.unwrap();
    let transcript = account.transcript(&token.session_id).await.unwrap();
    assert_eq!(
        transcript.transcript_data[0].transcript,
        "Hello from the Rust SDK."
    );
    assert_eq!(account.list_sessions(true).await.unwrap().count, 1);

    session.stop().await.unwrap();
    let ended = account.session(&token.session_id).await.unwrap();
    assert!(ended.end_at.is_some());
    // The token's session has ended: starting it again is an error with LiveAvatar's body.
    let again = account.start(&token.session_token).await.unwrap_err();
    assert_eq!(again.status(), Some(400));
    assert_eq!(again.code(), Some(4000));
}

/// The Rust SDK in LITE: the `ws_url` socket opened on connect, a backend's PCM said in the
/// room (a 1500 Hz tone heard in the avatar's audio), its speech reported as events.
#[tokio::test]
async fn the_rust_sdk_speaks_pcm_in_a_lite_session() {
    use streaming_avatar::StreamingEvent;
    use streaming_avatar::media::decode::AudioDecoder;
    use understudy_proto::liveavatar::{AgentEventKind, SessionMode};

    let env = TestEnv::with_config(config()).await;
    let (account, token, session) = sdk_session(&env, SessionMode::Lite).await;
    assert_eq!(session.mode(), SessionMode::Lite);
    assert!(matches!(
        session.repeat("text is FULL's").await,
        Err(streaming_avatar::Error::NotReady(_))
    ));
    let mut events = session.events();
    let mut audio = session.audio();
    let pcm: Vec<u8> = (0..24_000)
        .flat_map(|i| {
            let t = f64::from(i) / 24_000.0;
            (((t * 1500.0 * std::f64::consts::TAU).sin() * 0.5 * 32767.0) as i16).to_le_bytes()
        })
        .collect();
    let said = session.repeat_audio(&pcm).await.unwrap();
    let wait = Duration::from_secs(10);
    events
        .wait_for(wait, |e| {
            matches!(e, StreamingEvent::LiveAvatar(a)
                if a.kind == AgentEventKind::AvatarSpeakStarted && a.source_event_id.as_deref() == Some(said.as_str()))
        })
        .await
        .unwrap();
    // What the room plays while it talks is the tone.
    let mut decoder = AudioDecoder::new().unwrap();
    let mut heard = 0;
    for _ in 0..40 {
        let packet = tokio::time::timeout(wait, audio.next())
            .await
            .expect("audio flows")
            .expect("audio")
            .expect("the test keeps up");
        if crate::realtime_endpoint::is_tone(&decoder.decode(&packet).unwrap(), 1500.0) {
            heard += 1;
        }
    }
    assert!(heard >= 10, "the tone in {heard} of 40 packets");
    events
        .wait_for(wait, |e| {
            matches!(e, StreamingEvent::LiveAvatar(a) if a.kind == AgentEventKind::AvatarSpeakEnded)
        })
        .await
        .unwrap();
    session.interrupt().await.unwrap();
    session.stop().await.unwrap();
    assert!(
        account
            .session(&token.session_id)
            .await
            .unwrap()
            .end_at
            .is_some()
    );
}
