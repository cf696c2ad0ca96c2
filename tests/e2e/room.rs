//! The LiveKit room (`livekit.md` §2, `heygen-api.md` §6-§7), joined through the Rust SDK: the
//! client gets the avatar and its two tracks, the session connects, tasks are narrated over
//! `_reliable` in order, and stop ends the room with ROOM_DELETED. What the SDK would never send
//! (bad tokens, resumes, garbage) goes over raw sockets.

use livekit_protocol as lk;
use serde_json::json;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{DisconnectReason, SessionOptions, SpeakPath, SpeakRequest, StreamingEvent};
use understudy_e2e::sdk_events::{next_from_room, next_named};
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_proto::events::DataChannelEvent;
use understudy_server::ServerConfig;

fn low() -> NewSessionRequest {
    NewSessionRequest {
        quality: Some(streaming_avatar::proto::rest::session::Quality::Low),
        ..Default::default()
    }
}

/// A started session whose client has not joined yet: `(token, session id, url, access token)`.
async fn started(env: &TestEnv) -> (String, String, String, String) {
    started_coded(env, "VP8").await
}

/// [`started`] with the video in `encoding` (`VP8`, the default, or `H264`).
async fn started_coded(env: &TestEnv, encoding: &str) -> (String, String, String, String) {
    let (token, data) = started_data_coded(env, encoding).await;
    let text = |field: &str| data[field].as_str().unwrap().to_owned();
    (token, text("session_id"), text("url"), text("access_token"))
}

/// A started session whose client has not joined yet: its token and `streaming.new`'s data.
async fn started_data(env: &TestEnv) -> (String, serde_json::Value) {
    started_data_coded(env, "VP8").await
}

async fn started_data_coded(env: &TestEnv, encoding: &str) -> (String, serde_json::Value) {
    let token = env.token().await;
    let (_, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "quality": "low", "video_encoding": encoding}),
        )
        .await;
    let data = body["data"].clone();
    let id = data["session_id"].as_str().unwrap();
    assert_success(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
    );
    (token, data)
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
    let (mut session, mut events, token) = env.sdk_session(low(), SessionOptions::default()).await;
    let join = session.join_info().unwrap().clone();
    assert!(join.subscriber_primary);
    assert!(!join.server_version.is_empty());
    let avatar = &join.others[0];
    assert!(avatar.sid.starts_with("PA_"));
    assert_eq!(avatar.track_sids.len(), 2);
    assert!(avatar.track_sids.iter().all(|t| t.starts_with("TR_")));
    assert_eq!(join.room_name, session.session_id());
    assert_eq!(
        env.status_of(&token, session.session_id()).await,
        "connected"
    );

    // Both tracks carry RTP: whole H264 frames and Opus packets from the shared loops.
    next_named(&mut events, "stream_ready").await;
    let (mut video, mut audio) = (session.video(), session.audio());
    for _ in 0..25 {
        let frame = tokio::time::timeout(understudy_e2e::sdk_events::EVENT_WAIT, video.next())
            .await
            .expect("video flows")
            .expect("video")
            .expect("the test keeps up");
        assert_eq!(
            frame.codec,
            streaming_avatar::media::frames::VideoCodec::H264
        );
        let packet = tokio::time::timeout(understudy_e2e::sdk_events::EVENT_WAIT, audio.next())
            .await
            .expect("audio flows")
            .expect("audio")
            .expect("the test keeps up");
        assert!(!packet.data.is_empty());
    }
    session.stop().await.unwrap();
}

/// Narrates one repeat task and returns its events in order, checking each is the task's.
async fn narrate(config: ServerConfig, text: &str) -> Vec<StreamingEvent> {
    let env = TestEnv::with_config(config).await;
    let (mut session, mut events, _) = env.sdk_session(low(), SessionOptions::default()).await;
    let task = session
        .speak(&SpeakRequest::repeat(text))
        .await
        .unwrap()
        .unwrap();
    let mut narrated = Vec::new();
    loop {
        let event = next_from_room(&mut events).await;
        assert_eq!(event.task_id(), Some(task.task_id.as_str()), "{event:?}");
        let stopped = matches!(event, StreamingEvent::AvatarStopTalking { .. });
        narrated.push(event);
        if stopped {
            break;
        }
    }
    session.stop().await.unwrap();
    narrated
}

fn said(events: &[StreamingEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::AvatarTalkingMessage { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

fn names(events: &[StreamingEvent]) -> Vec<&str> {
    events.iter().map(StreamingEvent::name).collect()
}

#[tokio::test]
async fn a_task_is_narrated_over_reliable_on_the_observed_timeline() {
    // §7.2 as observed: the text first (a repeat task's in one message), then start, end, stop.
    let events = narrate(fast(), "one two three four five").await;
    assert_eq!(
        names(&events),
        [
            "avatar_talking_message",
            "avatar_start_talking",
            "avatar_end_message",
            "avatar_stop_talking"
        ]
    );
    assert_eq!(said(&events), "one two three four five");
    match events.last() {
        Some(StreamingEvent::AvatarStopTalking { duration_ms, .. }) => assert!(
            duration_ms.unwrap() >= 400.0,
            "5 words at 600 wpm last 500 ms: {duration_ms:?}"
        ),
        other => panic!("expected avatar_stop_talking, got {other:?}"),
    }
}

#[tokio::test]
async fn the_progressive_timeline_sends_the_text_as_it_is_said() {
    // `--event-timeline progressive`: start, the words in chunks, end, stop.
    let config = ServerConfig {
        event_timeline: understudy_server::EventTimeline::Progressive,
        ..fast()
    };
    let events = narrate(config, "one two three four five").await;
    let order = names(&events);
    assert_eq!(order.first(), Some(&"avatar_start_talking"));
    assert_eq!(
        &order[order.len() - 2..],
        ["avatar_end_message", "avatar_stop_talking"]
    );
    assert!(
        order[1..order.len() - 2]
            .iter()
            .all(|n| *n == "avatar_talking_message")
    );
    assert!(order.len() > 4, "more than one chunk: {order:?}");
    assert_eq!(said(&events), "one two three four five");
}

#[tokio::test]
async fn serve_can_send_a_talk_reply_whole() {
    // `--talk-reply-text whole` (heygen-api.md §7.2, May 2025): the reply in one message.
    let config = ServerConfig {
        talk_reply_text: understudy_server::TalkReplyText::Whole,
        ..fast()
    };
    let env = TestEnv::with_config(config).await;
    let (mut session, mut events, _) = env.sdk_session(low(), SessionOptions::default()).await;
    session
        .speak_via(SpeakPath::LiveKit, &SpeakRequest::talk("hello there"))
        .await
        .unwrap();
    let mut narrated = Vec::new();
    while !matches!(
        narrated.last(),
        Some(StreamingEvent::AvatarStopTalking { .. })
    ) {
        narrated.push(next_from_room(&mut events).await);
    }
    session.stop().await.unwrap();
    assert_eq!(
        names(&narrated),
        [
            "avatar_talking_message",
            "avatar_start_talking",
            "avatar_end_message",
            "avatar_stop_talking"
        ]
    );
    let reply = said(&narrated);
    assert!(reply.ends_with("hello there."), "{reply}");
}

#[tokio::test]
async fn interrupt_stops_the_narration_at_once() {
    let env = TestEnv::with_config(ServerConfig {
        words_per_minute: 60.0,
        ..ServerConfig::default()
    })
    .await;
    let (mut session, mut events, _) = env.sdk_session(low(), SessionOptions::default()).await;
    session
        .speak(&SpeakRequest::repeat(
            "a long sentence of many words that takes a while",
        ))
        .await
        .unwrap();
    next_named(&mut events, "avatar_start_talking").await;
    session.interrupt().await.unwrap();
    match next_named(&mut events, "avatar_stop_talking").await {
        StreamingEvent::AvatarStopTalking { duration_ms, .. } => {
            assert!(
                duration_ms.unwrap() < 5_000.0,
                "cut well before the 10 s the text takes"
            );
        }
        other => panic!("expected avatar_stop_talking, got {other:?}"),
    }
    session.stop().await.unwrap();
}

#[tokio::test]
async fn stop_deletes_the_room() {
    // livekit.md §2.7: stop sends leave{ROOM_DELETED}; heygen-api.md §6.
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (mut session, mut events, _) = env.sdk_session(low(), SessionOptions::default()).await;
    session.stop().await.unwrap();
    assert_eq!(
        next_named(&mut events, "stream_disconnected").await,
        StreamingEvent::StreamDisconnected {
            reason: DisconnectReason::RoomDeleted
        }
    );
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
    let request = NewSessionRequest {
        knowledge_base_id: Some(kb_id),
        ..Default::default()
    };
    let (mut session, mut events, _) = env.sdk_session(request, SessionOptions::default()).await;
    session
        .speak_via(SpeakPath::Http, &SpeakRequest::talk("what do you sell"))
        .await
        .unwrap();
    let mut said = String::new();
    loop {
        match next_from_room(&mut events).await {
            StreamingEvent::AvatarTalkingMessage { message, .. } => said.push_str(&message),
            StreamingEvent::AvatarStopTalking { .. } => break,
            _ => {}
        }
    }
    assert!(said.contains("what do you sell"), "{said}");
    assert!(said.ends_with("We sell green tea."), "{said}");
    session.stop().await.unwrap();
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
    // Structured shutdown: clients get leave{SERVER_SHUTDOWN}, and every task the server ran
    // for them (signalling, peers and their channel readers, stages, publishers and their
    // microphone readers, chat sockets, listeners, watchdogs) is on its tracker and ends.
    let server = understudy_server::MockServer::builder()
        .config(ServerConfig::default())
        .start()
        .await
        .unwrap();
    let env = TestEnv {
        http: understudy_e2e::http_client(None),
        server,
    };
    let (session, mut events, _) = env.sdk_session(low(), SessionOptions::default()).await;
    session
        .speak(&SpeakRequest::repeat("talking while the server stops"))
        .await
        .unwrap();
    let (mut by_socket, _, _) = env.sdk_session(low(), SessionOptions::default()).await;
    by_socket
        .start_voice_chat(streaming_avatar::PcmSource::silence(), false)
        .await
        .unwrap();
    let livekit = SessionOptions::default()
        .voice_chat_transport(streaming_avatar::VoiceChatTransport::LiveKit);
    let (mut by_livekit, _, _) = env.sdk_session(low(), livekit).await;
    by_livekit
        .start_voice_chat(streaming_avatar::PcmSource::silence(), false)
        .await
        .unwrap();
    let TestEnv { server, .. } = env;
    let state = server.state().clone();
    assert!(state.running_tasks() > 0);
    tokio::time::timeout(std::time::Duration::from_secs(15), server.shutdown())
        .await
        .expect("shutdown completes");
    assert_eq!(state.running_tasks(), 0, "no task outlives the server");
    assert_eq!(
        next_named(&mut events, "stream_disconnected").await,
        StreamingEvent::StreamDisconnected {
            reason: DisconnectReason::ServerShutdown
        }
    );
}

#[tokio::test]
async fn the_avatar_joins_as_heygen() {
    // Pipecat's HeyGen transport takes every participant but `heygen` as the user (fidelity.md).
    let env = TestEnv::with_config(ServerConfig::default()).await;
    let (mut session, _, _) = env.sdk_session(low(), SessionOptions::default()).await;
    assert_eq!(session.join_info().unwrap().others[0].identity, "heygen");
    session.stop().await.unwrap();
}

#[tokio::test]
async fn every_connection_gets_a_participant_sid_of_its_own() {
    // A LiveKit server gives each connection its own sid, `PA_` and 12 characters.
    let env = TestEnv::start().await;
    let (_, _, url, access) = started(&env).await;
    let first = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let second = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let sid = |v: &understudy_e2e::livekit_viewer::Viewer| {
        v.join
            .participant
            .as_ref()
            .expect("participant")
            .sid
            .clone()
    };
    assert_ne!(sid(&first), sid(&second));
    for s in [sid(&first), sid(&second)] {
        assert!(s.starts_with("PA_") && s.len() == 15, "{s}");
    }
}

#[tokio::test]
async fn a_second_join_with_the_same_identity_replaces_the_first() {
    // A LiveKit server lets one connection per identity into a room: the newcomer joins, the
    // earlier one is told leave{DUPLICATE_IDENTITY} and is not shown to the newcomer. Another
    // identity (the agent token's) joins beside them.
    let env = TestEnv::start().await;
    let (_, id, url, access) = started(&env).await;
    let mut first = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let second = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    assert_eq!(
        first.left().await,
        lk::DisconnectReason::DuplicateIdentity as i32
    );
    assert_eq!(
        others_at_join(&second),
        ["heygen"],
        "the replaced connection is not shown"
    );
    let mut members = Vec::new();
    for _ in 0..100 {
        let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
        members = sessions[0]["room_members"].as_array().unwrap().clone();
        if members.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        members,
        [json!("client")],
        "{id}: one client left in the room"
    );
    assert!(second.is_connected());
}

#[tokio::test]
async fn duplicate_identities_are_let_in_when_configured() {
    let env = TestEnv::with_config(ServerConfig {
        allow_duplicate_identity: true,
        ..ServerConfig::default()
    })
    .await;
    let (_, _, url, access) = started(&env).await;
    let _first = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let second = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    assert_eq!(others_at_join(&second), ["heygen", "client"]);
}

/// The identities a viewer's JoinResponse listed besides its own.
fn others_at_join(viewer: &understudy_e2e::livekit_viewer::Viewer) -> Vec<&str> {
    viewer
        .join
        .other_participants
        .iter()
        .map(|p| p.identity.as_str())
        .collect()
}

#[tokio::test]
async fn the_avatar_is_reported_as_the_active_speaker_while_it_talks() {
    // A LiveKit server tells clients who is speaking (`SpeakersChanged`, livekit-client's
    // ActiveSpeakersChanged): the avatar, active while it talks.
    let env = TestEnv::with_config(fast()).await;
    let (token, id, url, access) = started(&env).await;
    let mut viewer = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let avatar_sid = viewer.join.other_participants[0].sid.clone();
    assert_success(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "one two three", "task_mode": "async"}),
        )
        .await,
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let lk::signal_response::Message::SpeakersChanged(update) = viewer.next_response().await
        {
            let speaker = &update.speakers[0];
            assert_eq!(speaker.sid, avatar_sid);
            assert_eq!(speaker.active, speaker.level > 0.0);
            seen.push(speaker.active);
        }
    }
    assert_eq!(seen, [true, false]);
}

#[tokio::test]
async fn clients_are_told_when_another_joins_and_leaves() {
    // A LiveKit server lists who is already there in the JoinResponse and tells everyone of
    // later joins and leaves with ParticipantUpdate (livekit-client's ParticipantConnected and
    // ParticipantDisconnected).
    let env = TestEnv::start().await;
    let (_, data) = started_data(&env).await;
    let url = data["url"].as_str().unwrap();
    let mut client =
        understudy_e2e::livekit_viewer::Viewer::join(url, data["access_token"].as_str().unwrap())
            .await;
    let agent = understudy_e2e::livekit_viewer::Viewer::join(
        url,
        data["livekit_agent_token"].as_str().unwrap(),
    )
    .await;
    let client_sid = client.join.participant.as_ref().unwrap().sid.clone();
    let agent_info = agent.join.participant.clone().unwrap();
    // The agent sees the avatar first, then the client already there.
    let seen: Vec<(&str, &str)> = agent
        .join
        .other_participants
        .iter()
        .map(|p| (p.identity.as_str(), p.sid.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("heygen", seen[0].1), ("client", client_sid.as_str())]
    );

    let update = |message| match message {
        lk::signal_response::Message::Update(update) => Some(update.participants),
        _ => None,
    };
    let joined = loop {
        if let Some(participants) = update(client.next_response().await) {
            break participants;
        }
    };
    assert_eq!(joined.len(), 1);
    assert_eq!(
        (joined[0].sid.as_str(), joined[0].identity.as_str()),
        (agent_info.sid.as_str(), agent_info.identity.as_str())
    );
    assert_eq!(joined[0].state, lk::participant_info::State::Active as i32);

    agent
        .signal(lk::signal_request::Message::Leave(lk::LeaveRequest {
            reason: lk::DisconnectReason::ClientInitiated as i32,
            ..Default::default()
        }))
        .await;
    let left = loop {
        if let Some(participants) = update(client.next_response().await) {
            break participants;
        }
    };
    assert_eq!(left[0].sid, agent_info.sid);
    assert_eq!(
        left[0].state,
        lk::participant_info::State::Disconnected as i32
    );
}

#[tokio::test]
async fn the_server_trickles_its_candidates_as_a_livekit_server_does() {
    // A LiveKit server sends its offer at once and its candidates after it, as `trickle`
    // for the subscriber connection (`livekit.md` §2.2); the client's join connects on them.
    let env = TestEnv::start().await;
    let (_, _, url, access) = started(&env).await;
    let mut viewer = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    assert!(
        !viewer.offer.sdp.contains("a=candidate"),
        "no candidate inline: {}",
        viewer.offer.sdp
    );
    let trickle = loop {
        if let lk::signal_response::Message::Trickle(trickle) = viewer.next_response().await {
            break trickle;
        }
    };
    assert_eq!(trickle.target, 1, "for the subscriber connection");
    let init: serde_json::Value = serde_json::from_str(&trickle.candidate_init).unwrap();
    let candidate = init["candidate"].as_str().unwrap();
    assert!(
        candidate.starts_with("candidate:") && candidate.contains("127.0.0.1"),
        "{init}"
    );
    assert_eq!(
        init["sdpMid"], "0",
        "named by the first m-line's mid, as pion does"
    );
    assert_eq!(init["sdpMLineIndex"], 0);
}

#[tokio::test]
async fn the_server_trickles_its_publisher_candidates_too() {
    // The answer to a client's publisher offer goes out at once, and the server's candidates
    // for that connection follow as `trickle` with target PUBLISHER; the client's data
    // channel opens on them, and what it sends arrives.
    let env = TestEnv::start().await;
    let (_, session_id, url, access) = started(&env).await;
    let mut viewer = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let publisher = viewer.open_publisher(3).await;
    assert!(
        !publisher.answer_sdp.contains("a=candidate"),
        "no candidate inline: {}",
        publisher.answer_sdp
    );
    let init: serde_json::Value = serde_json::from_str(&publisher.server_candidate).unwrap();
    let candidate = init["candidate"].as_str().unwrap();
    assert!(
        candidate.starts_with("candidate:") && candidate.contains("127.0.0.1"),
        "{init}"
    );
    assert_eq!(init["sdpMid"], "0");
    publisher.publish(br#""hello over the publisher""#).await;
    loop {
        match viewer.next_event().await {
            DataChannelEvent::AvatarStartTalking { .. } => break,
            DataChannelEvent::AvatarTalkingMessage { .. } => {}
            other => panic!("{session_id}: {other:?} before the talk started"),
        }
    }
}

/// Waits until more than `seen` key frames have arrived; the timestamp of the newest.
async fn key_frame_after(viewer: &understudy_e2e::livekit_viewer::Viewer, seen: usize) -> u32 {
    tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let (count, Some(last)) = viewer.media.key_frames()
                && count > seen
            {
                return last;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a key frame in time")
}

#[tokio::test]
async fn a_key_frame_request_is_answered_with_a_key_frame() {
    // Unasked, a key frame starts each one-second loop: every 90,000 ticks of the 90 kHz clock
    // while the avatar idles. A receiver that lost its reference asks with PLI (Chromium) or
    // FIR, and the next frame is a key frame, long before the loop's own. Each request is made
    // just after a loop's key frame, so the next loop's is a second away. Both codecs.
    let env = TestEnv::start().await;
    for encoding in ["VP8", "H264"] {
        key_frames_answered(&env, encoding).await;
    }
}

/// One session in `encoding`: the loops' own key frames, then a PLI and a FIR each answered.
async fn key_frames_answered(env: &TestEnv, encoding: &str) {
    use understudy_e2e::livekit_viewer::KeyFrameRequest;
    const LOOP_TICKS: u32 = 90_000;
    let (_, _, url, access) = started_coded(env, encoding).await;
    let viewer = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let first = key_frame_after(&viewer, 0).await;
    let (seen, _) = viewer.media.key_frames();
    let second = key_frame_after(&viewer, seen).await;
    assert_eq!(
        second.wrapping_sub(first),
        LOOP_TICKS,
        "{encoding} unasked: one a loop"
    );
    for how in [KeyFrameRequest::Pli, KeyFrameRequest::Fir] {
        let (seen, Some(before)) = viewer.media.key_frames() else {
            unreachable!("key frames arrived")
        };
        viewer.request_key_frame(how).await;
        let answered = key_frame_after(&viewer, seen).await;
        let gap = answered.wrapping_sub(before);
        assert!(
            gap < LOOP_TICKS / 2,
            "{encoding} {how:?}: the key frame came {gap} ticks after the previous one"
        );
    }
}

/// The `a=setup` line of the subscriber offer a client joining as `sdk` gets.
async fn offered_setup(env: &TestEnv, sdk: &str) -> String {
    use futures_util::StreamExt;
    use prost::Message as _;
    let (_, _, url, access) = started(env).await;
    let ws = url.replace("http", "ws");
    let (mut socket, _) = tokio_tungstenite::connect_async(format!(
        "{ws}/rtc?access_token={access}&auto_subscribe=1&sdk={sdk}&protocol=15"
    ))
    .await
    .unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(15), socket.next())
            .await
            .expect("signalling in time")
            .expect("signalling open")
            .unwrap();
        let tokio_tungstenite::tungstenite::Message::Binary(bytes) = frame else {
            continue;
        };
        if let Some(lk::signal_response::Message::Offer(offer)) =
            lk::SignalResponse::decode(&bytes[..]).unwrap().message
        {
            let setup = offer.sdp.lines().find(|l| l.starts_with("a=setup:"));
            return setup.expect("a setup line").to_owned();
        }
    }
}

#[tokio::test]
async fn browsers_are_offered_to_be_dialled_and_other_clients_choose() {
    // A browser answering `actpass` dials DTLS at once, and webrtc-rs drops a ClientHello that
    // beats its own ICE pair, so the handshake waited for Chromium's retransmission: browsers
    // (`sdk=js`) are asked to be dialled. Other clients choose, as on a LiveKit server (a
    // webrtc-rs answerer would answer `active` whatever the offer said); `actpass` for all on
    // demand.
    let env = TestEnv::start().await;
    assert_eq!(offered_setup(&env, "js").await, "a=setup:active");
    assert_eq!(offered_setup(&env, "rust").await, "a=setup:actpass");
    assert_eq!(offered_setup(&env, "python").await, "a=setup:actpass");
    let as_livekit = TestEnv::with_config(ServerConfig {
        offer_dtls_role: understudy_server::OfferDtlsRole::Actpass,
        ..ServerConfig::default()
    })
    .await;
    assert_eq!(offered_setup(&as_livekit, "js").await, "a=setup:actpass");
}

#[tokio::test]
async fn connection_quality_is_reported_for_the_client_and_the_avatar() {
    // A LiveKit server scores connection quality every 5 s and tells each client of the
    // participants it has not reported yet (livekit-client starts them at UNKNOWN): on loopback
    // both the client and the avatar are excellent.
    let env = TestEnv::start().await;
    let (_, _, url, access) = started(&env).await;
    let mut viewer = understudy_e2e::livekit_viewer::Viewer::join(&url, &access).await;
    let update = loop {
        if let lk::signal_response::Message::ConnectionQuality(update) =
            viewer.next_response().await
        {
            break update;
        }
    };
    let me = viewer.join.participant.as_ref().unwrap().sid.clone();
    let avatar = viewer
        .join
        .other_participants
        .iter()
        .find(|p| p.identity == "heygen")
        .unwrap()
        .sid
        .clone();
    let reported: Vec<(String, i32)> = update
        .updates
        .iter()
        .map(|u| (u.participant_sid.clone(), u.quality))
        .collect();
    let excellent = lk::ConnectionQuality::Excellent as i32;
    assert_eq!(reported, vec![(me, excellent), (avatar, excellent)]);
    assert!(update.updates.iter().all(|u| u.score == 5.0));
}
