//! The Rust SDK's real-time half against the mock over real sockets: the room joined over
//! webrtc-rs, every event type, decoded media with the avatar's marker, voice over both
//! transports and push-to-talk, how the room ends, and bad servers (`livekit.md` §2,
//! `heygen-api.md` §7-§8).

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use streaming_avatar::media::decode::VideoDecoder;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{
    DisconnectReason, Error, EventStream, PcmSource, RoomOptions, Session, SessionOptions,
    SpeakRequest, StreamingAvatar, StreamingEvent, VoiceChatTransport,
};
use tokio::net::{TcpListener, TcpStream};
use understudy_e2e::TestEnv;
use understudy_server::ServerConfig;

const WAIT: Duration = Duration::from_secs(15);

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

async fn started(env: &TestEnv, options: SessionOptions) -> (Session, EventStream) {
    let avatar = env.sdk().await;
    let session = avatar
        .create_start_avatar_with(&NewSessionRequest::default(), options)
        .await
        .expect("the session starts and joins its room");
    let events = session.events();
    (session, events)
}

async fn next_named(events: &mut EventStream, name: &str) -> StreamingEvent {
    events
        .wait_for(WAIT, |e| e.name() == name)
        .await
        .unwrap_or_else(|e| panic!("no {name}: {e}"))
        .event
}

/// "Hello, how are you today?" (a recording), then silence.
fn spoken_second() -> PcmSource {
    PcmSource::from_wav(understudy_e2e::speech::clip_path("hello")).expect("the fixture reads")
}

#[tokio::test]
async fn a_started_session_is_connected_and_streams_every_avatar_event() {
    let env = TestEnv::with_config(fast()).await;
    let avatar = env.sdk().await;
    let mut session = avatar
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap();
    let mut events = session.events();
    let mut quality = session.events();
    session.start().await.unwrap();
    assert_eq!(
        next_named(&mut events, "stream_ready").await,
        StreamingEvent::StreamReady
    );
    let join = session.join_info().unwrap();
    assert_eq!(join.room_name, session.session_id());
    assert!(!join.others.is_empty(), "the avatar is in the room");
    let timings = session.start_timings();
    assert!(
        timings.started <= timings.room && timings.room <= timings.socket,
        "{timings:?}"
    );

    // REPEAT over HTTP answers its task; the room's events carry the same id.
    let task = session
        .speak(&SpeakRequest::repeat("one two three"))
        .await
        .unwrap()
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let event = events.wait_for(WAIT, |_| true).await.unwrap();
        let done = matches!(&event.event, StreamingEvent::AvatarStopTalking { .. });
        seen.push(event);
        if done {
            break;
        }
    }
    let names: Vec<&str> = seen.iter().map(|e| e.event.name()).collect();
    for name in [
        "avatar_talking_message",
        "avatar_start_talking",
        "avatar_end_message",
        "avatar_stop_talking",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for event in seen.iter().filter(|e| e.event.task_id().is_some()) {
        assert_eq!(event.event.task_id(), Some(task.task_id.as_str()));
    }
    assert!(
        seen.windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at)
    );

    // TALK + ASYNC goes over the chat socket: no answer, the events name the server's task.
    assert!(
        session
            .speak(&SpeakRequest::talk("hello"))
            .await
            .unwrap()
            .is_none()
    );
    let StreamingEvent::AvatarStartTalking { task_id } =
        next_named(&mut events, "avatar_start_talking").await
    else {
        unreachable!()
    };
    assert_ne!(task_id, task.task_id);
    assert_eq!(
        next_named(&mut quality, "connection_quality_changed").await,
        StreamingEvent::ConnectionQualityChanged {
            quality: streaming_avatar::ConnectionQuality::Good
        }
    );
    session.stop().await.unwrap();
}

#[tokio::test]
async fn listeners_and_streams_both_see_events_and_off_stops_a_listener() {
    let env = TestEnv::with_config(fast()).await;
    let (mut session, mut events) = started(&env, SessionOptions::default()).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let id = session.on("avatar_start_talking", move |event| {
        let _ = tx.send(event.event.task_id().map(str::to_owned));
    });
    let task = session
        .speak(&SpeakRequest::repeat("hi"))
        .await
        .unwrap()
        .unwrap();
    let heard = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard.as_deref(), Some(task.task_id.as_str()));
    next_named(&mut events, "avatar_stop_talking").await;
    assert!(session.off(id));
    session.speak(&SpeakRequest::repeat("again")).await.unwrap();
    next_named(&mut events, "avatar_stop_talking").await;
    assert!(rx.recv().await.is_none(), "the listener is gone");
    session.stop().await.unwrap();
}

#[tokio::test]
async fn decoded_frames_show_the_avatar_idle_then_talking() {
    let env = TestEnv::with_config(fast()).await;
    let (mut session, mut events) = started(&env, SessionOptions::default()).await;
    let mut video = session.video();
    let mut decoder = VideoDecoder::new().unwrap();
    let mut next_marker = async || loop {
        let next = tokio::time::timeout(WAIT, video.next())
            .await
            .unwrap()
            .unwrap();
        let Ok(frame) = next else {
            decoder.gap(); // this test fell behind the stream: resume at a key frame
            continue;
        };
        if let Some(picture) = decoder.decode(&frame).unwrap() {
            return picture
                .marker()
                .expect("the synthetic avatar draws its marker");
        }
    };
    let idle = next_marker().await;
    assert!(!idle.talking);
    session
        .speak(&SpeakRequest::repeat(
            "a long sentence that keeps the avatar talking for a while",
        ))
        .await
        .unwrap();
    next_named(&mut events, "avatar_start_talking").await;
    let mut talking = None;
    for _ in 0..50 {
        let marker = next_marker().await;
        if marker.talking {
            talking = Some(marker);
            break;
        }
    }
    assert!(
        talking.is_some(),
        "a talking frame follows avatar_start_talking"
    );
    let (video_packets, audio_packets) = session.packets_received();
    assert!(video_packets > 0 && audio_packets > 0);
    session.stop().await.unwrap();
}

#[tokio::test]
async fn voice_over_the_chat_socket_makes_a_turn_the_avatar_answers() {
    let env = TestEnv::with_config(fast()).await;
    let (mut session, mut events) = started(&env, SessionOptions::default()).await;
    assert!(session.is_input_audio_muted(), "no voice chat yet");
    session
        .start_voice_chat(spoken_second(), false)
        .await
        .unwrap();
    assert!(!session.is_input_audio_muted());
    assert_eq!(
        next_named(&mut events, "user_start").await,
        StreamingEvent::UserStart
    );
    assert_eq!(
        next_named(&mut events, "user_stop").await,
        StreamingEvent::UserStop
    );
    next_named(&mut events, "user_end_message").await;
    next_named(&mut events, "avatar_start_talking").await;
    session.mute_input_audio();
    assert!(session.is_input_audio_muted());
    session.close_voice_chat().await;
    session.stop().await.unwrap();
}

#[tokio::test]
async fn voice_over_livekit_publishes_a_microphone_the_server_hears() {
    let env = TestEnv::with_config(fast()).await;
    let options = SessionOptions::default().voice_chat_transport(VoiceChatTransport::LiveKit);
    let (mut session, mut events) = started(&env, options).await;
    session
        .start_voice_chat(spoken_second(), false)
        .await
        .unwrap();
    assert_eq!(
        next_named(&mut events, "user_start").await,
        StreamingEvent::UserStart
    );
    assert_eq!(
        next_named(&mut events, "user_stop").await,
        StreamingEvent::UserStop
    );
    next_named(&mut events, "avatar_start_talking").await;
    // TALK text goes as LiveKit data on this transport.
    assert!(
        session
            .speak(&SpeakRequest::talk("and now?"))
            .await
            .unwrap()
            .is_none()
    );
    next_named(&mut events, "avatar_start_talking").await;
    session.stop().await.unwrap();
}

#[tokio::test]
async fn push_to_talk_needs_livekit_and_opens_and_closes_a_turn() {
    let env = TestEnv::with_config(fast()).await;
    let (mut plain, _) = started(&env, SessionOptions::default()).await;
    let refused = plain.push_to_talk_start().await.unwrap_err();
    assert!(refused.to_string().contains("LiveKit"), "{refused}");
    plain.stop().await.unwrap();

    let options = SessionOptions::default()
        .voice_chat_transport(VoiceChatTransport::LiveKit)
        .enable_push_to_talk(true);
    let (mut session, mut events) = started(&env, options).await;
    let refused = session.push_to_talk_start().await.unwrap_err();
    assert!(
        matches!(refused, Error::NotReady(_)),
        "voice chat is not active: {refused}"
    );
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
    assert_eq!(
        next_named(&mut events, "user_stop").await,
        StreamingEvent::UserStop
    );
    session.stop().await.unwrap();
}

#[tokio::test]
async fn stop_ends_the_room_with_the_servers_reason_and_every_task() {
    let env = TestEnv::with_config(fast()).await;
    let (mut session, mut events) = started(&env, SessionOptions::default()).await;
    session.stop().await.unwrap();
    assert_eq!(
        next_named(&mut events, "stream_disconnected").await,
        StreamingEvent::StreamDisconnected {
            reason: DisconnectReason::RoomDeleted
        }
    );
    assert_eq!(session.disconnected(), Some(DisconnectReason::RoomDeleted));
    assert_eq!(session.running_tasks(), 0);
    let err = session.keep_alive().await.unwrap_err();
    assert!(err.is_session_closed(), "{err}");
}

#[tokio::test]
async fn a_dropped_session_is_stopped_on_the_server() {
    let env = TestEnv::with_config(fast()).await;
    let avatar = env.sdk().await;
    let (session, _) = started(&env, SessionOptions::default()).await;
    drop(session);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !avatar.list_sessions().await.unwrap().sessions.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped session was never stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TCP relay that can freeze: it keeps both connections open and forwards nothing, as a
/// server that hangs (or a network that black-holes) looks to a client.
async fn freezable_relay(
    target: std::net::SocketAddr,
) -> (String, tokio::sync::watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (frozen, watch) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let outbound = TcpStream::connect(target).await.unwrap();
            let watch = watch.clone();
            tokio::spawn(async move {
                let (mut ri, mut wi) = inbound.into_split();
                let (mut ro, mut wo) = outbound.into_split();
                let pump =
                    async |from: &mut tokio::net::tcp::OwnedReadHalf,
                           to: &mut tokio::net::tcp::OwnedWriteHalf,
                           mut watch: tokio::sync::watch::Receiver<bool>| {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buffer = vec![0; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if *watch.borrow() {
                                let _ = watch.wait_for(|f| !*f).await;
                                return;
                            }
                            if to.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                tokio::join!(
                    pump(&mut ri, &mut wo, watch.clone()),
                    pump(&mut ro, &mut wi, watch)
                );
            });
        }
    });
    (format!("http://{address}"), frozen)
}

#[tokio::test]
async fn a_server_that_goes_silent_is_noticed_within_the_ping_timeout() {
    let env = TestEnv::with_config(fast()).await;
    let avatar = env.sdk().await;
    let mut session = avatar
        .new_session(&NewSessionRequest::default())
        .await
        .unwrap();
    let mut info = session.info().clone();
    let (relay, frozen) = freezable_relay(env.server.http_addr().unwrap()).await;
    info.url = Some(relay);
    let options = SessionOptions::default().room(RoomOptions {
        max_ping_timeout: Some(Duration::from_secs(2)),
        ..RoomOptions::default()
    });
    let mut attached = avatar.attach_session(info, options);
    let mut events = attached.events();
    attached.start().await.unwrap();
    next_named(&mut events, "stream_ready").await;
    frozen.send_replace(true);
    let started = tokio::time::Instant::now();
    assert_eq!(
        next_named(&mut events, "stream_disconnected").await,
        StreamingEvent::StreamDisconnected {
            reason: DisconnectReason::PingTimeout
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let err = attached.push_to_talk_stop().await.unwrap_err();
    assert!(matches!(err, Error::NotReady(_)), "{err}");
    frozen.send_replace(false);
    attached.stop().await.unwrap();
    let _ = session.stop().await; // already stopped through `attached`
}

/// A signalling server that sends `frames` after the upgrade, then holds the socket.
async fn bad_signalling_server(frames: Vec<tokio_tungstenite::tungstenite::Message>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let frames = frames.clone();
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                for frame in frames {
                    let _ = socket.send(frame).await;
                }
                while socket.next().await.is_some() {}
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn garbage_from_a_signalling_server_is_an_error_never_a_panic() {
    use prost::Message as _;
    use tokio_tungstenite::tungstenite::Message;
    let env = TestEnv::with_config(fast()).await;
    let not_join = livekit_protocol::SignalResponse {
        message: Some(livekit_protocol::signal_response::Message::Pong(1)),
    }
    .encode_to_vec();
    let no_version = livekit_protocol::SignalResponse {
        message: Some(livekit_protocol::signal_response::Message::Join(
            livekit_protocol::JoinResponse {
                participant: Some(livekit_protocol::ParticipantInfo::default()),
                ..Default::default()
            },
        )),
    }
    .encode_to_vec();
    let cases = [
        vec![Message::Binary(vec![0xff, 0x00, 0x13, 0x37].into())],
        vec![Message::Binary(not_join.into())],
        vec![Message::Binary(no_version.into())],
        vec![Message::Text("{\"join\":{}}".into()), Message::Close(None)],
    ];
    for frames in cases {
        let avatar = env.sdk().await; // one token per session
        let mut session = avatar
            .new_session(&NewSessionRequest::default())
            .await
            .unwrap();
        let mut info = session.info().clone();
        info.url = Some(bad_signalling_server(frames.clone()).await);
        let mut attached = avatar.attach_session(info, SessionOptions::default());
        let err = attached.start().await.unwrap_err();
        assert!(matches!(err, Error::Room(_)), "{frames:?} gave {err}");
        let _ = attached.stop().await;
        let _ = session.stop().await;
    }
}

#[tokio::test]
async fn the_readme_quick_start_runs_against_mock_server_start() {
    let server = understudy_server::MockServer::start().await;
    let backend = StreamingAvatar::builder()
        .base_path(server.uri())
        .api_key("demo")
        .build()
        .unwrap();
    let token = backend.create_token().await.unwrap();
    let avatar = StreamingAvatar::builder()
        .base_path(server.uri())
        .token(token)
        .build()
        .unwrap();
    let mut session = avatar
        .create_start_avatar(&NewSessionRequest {
            avatar_name: Some("default".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut events = session.events();
    session
        .speak(&SpeakRequest::repeat("Hello from Rust"))
        .await
        .unwrap();
    let start = events
        .wait_for(WAIT, |e| {
            matches!(e, StreamingEvent::AvatarStartTalking { .. })
        })
        .await
        .unwrap();
    assert!(start.seq > 0);
    session.stop().await.unwrap();
    assert!(
        server
            .received_requests()
            .iter()
            .any(|r| r.path == "/v1/streaming.stop")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_user_is_prompted_when_the_session_asks_for_it() {
    // §7.2 user_silence, through `use_silence_prompt` (the SDK's `useSilencePrompt`).
    let env = TestEnv::with_config(ServerConfig {
        silence_prompt_after: Duration::from_millis(300),
        silence_prompts: 1,
        ..fast()
    })
    .await;
    let (mut session, mut events) =
        started(&env, SessionOptions::default().use_silence_prompt(true)).await;
    assert_eq!(
        next_named(&mut events, "user_silence").await,
        StreamingEvent::UserSilence {
            silence_times: 1,
            count_down: 0
        }
    );
    session.stop().await.unwrap();
}
