//! The realtime endpoint (`heygen-api.md` §3.14): a backend's audio said by the avatar in the
//! room, with its events on the socket and on LiveKit data; interrupt, keep-alive, the
//! session's states, and bad input answered with `error` messages.

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use streaming_avatar::media::decode::AudioDecoder;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{SessionOptions, StreamingEvent};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use understudy_e2e::TestEnv;
use understudy_e2e::sdk_events::next_from_room;
use understudy_server::ServerConfig;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
const WAIT: Duration = Duration::from_secs(10);
/// A tone no part of the synthetic voice has (its harmonics stop at 1.12 kHz).
const TONE_HZ: f64 = 1500.0;

async fn open(endpoint: &str) -> Socket {
    tokio_tungstenite::connect_async(endpoint)
        .await
        .expect("the realtime endpoint opens")
        .0
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next message of type `kind`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == kind {
                        return value;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended waiting for {kind}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind}"))
}

/// The avatar's next state, from the next `agent.state_updated`.
async fn next_state(socket: &mut Socket) -> String {
    next_of(socket, "agent.state_updated").await["new_state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `ms` of a tone at 24 kHz, as the base64 PCM16 the endpoint takes.
fn tone(ms: usize, hz: f64, amplitude: f64) -> String {
    let pcm: Vec<u8> = (0..24 * ms)
        .flat_map(|i| {
            let t = i as f64 / 24_000.0;
            (((t * hz * std::f64::consts::TAU).sin() * amplitude * 32767.0) as i16).to_le_bytes()
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(pcm)
}

/// Power of frequency `hz` in 48 kHz mono samples (Goertzel).
fn power_at(samples: &[f64], hz: f64) -> f64 {
    let k = (std::f64::consts::TAU * hz / 48_000.0).cos() * 2.0;
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

/// Whether a decoded 48 kHz stereo packet is a tone at `hz` (its power well above the
/// synthetic voice's fundamental's).
pub(crate) fn is_tone(stereo: &[i16], hz: f64) -> bool {
    let left: Vec<f64> = stereo
        .iter()
        .step_by(2)
        .map(|&s| f64::from(s) / 32768.0)
        .collect();
    let tone = power_at(&left, hz);
    tone > 1.0 && tone > 20.0 * power_at(&left, 140.0)
}

fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 600.0,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn a_backends_audio_is_what_the_room_hears_while_the_avatar_talks() {
    let env = TestEnv::with_config(fast()).await;
    let (session, mut events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let mut audio = session.audio();
    let endpoint = session.info().realtime_endpoint.clone().unwrap();
    assert!(endpoint.starts_with("ws://127.0.0.1:"), "{endpoint}");
    let mut socket = open(&endpoint).await;
    assert_eq!(
        next_of(&mut socket, "session.state_updated").await["state"],
        "connected"
    );

    // One utterance in two chunks, as pipecat sends them, then its end.
    for _ in 0..2 {
        send(
            &mut socket,
            json!({"type": "agent.speak", "event_id": "u1", "audio": tone(500, TONE_HZ, 0.5)}),
        )
        .await;
    }
    send(
        &mut socket,
        json!({"type": "agent.speak_end", "event_id": "u1"}),
    )
    .await;
    let ack = next_of(&mut socket, "agent.audio_buffer_appended").await;
    assert_eq!(ack["source_event_id"], "u1");
    let task_id = ack["task"]["id"].as_str().unwrap().to_owned();
    let started = next_of(&mut socket, "agent.speak_started").await;
    assert_eq!(
        started,
        json!({"type": "agent.speak_started", "event_id": "u1", "task": {"id": task_id}})
    );
    let talking = next_of(&mut socket, "agent.state_updated").await;
    assert_eq!(
        (
            talking["previous_state"].as_str(),
            talking["new_state"].as_str()
        ),
        (Some("idle"), Some("talking"))
    );
    let ended = next_of(&mut socket, "agent.speak_ended").await;
    assert_eq!(ended["task"]["id"], task_id.as_str());
    assert_eq!(next_state(&mut socket).await, "idle");

    // The room saw the same task start and stop, a second long, with no text of its own.
    assert_eq!(
        next_from_room(&mut events).await,
        StreamingEvent::AvatarStartTalking {
            task_id: task_id.clone()
        }
    );
    let mut between = Vec::new();
    let stop = events
        .wait_for(WAIT, |e| {
            between.push(e.name().to_owned());
            e.name() == "avatar_stop_talking"
        })
        .await
        .unwrap();
    assert!(
        !between.iter().any(|n| n.contains("message")),
        "{between:?}"
    );
    let StreamingEvent::AvatarStopTalking {
        task_id: stopped,
        duration_ms,
    } = stop.event
    else {
        unreachable!()
    };
    assert_eq!(stopped, task_id);
    let spoken = duration_ms.unwrap();
    assert!((900.0..1200.0).contains(&spoken), "{spoken} ms");

    // And heard it: the tone, not the synthetic voice, in most of the talking packets.
    let mut decoder = AudioDecoder::new().unwrap();
    let mut toned = 0;
    while let Ok(Some(Ok(packet))) = tokio::time::timeout(WAIT, audio.next()).await {
        if packet.received_at > stop.at + Duration::from_millis(100) {
            break;
        }
        if is_tone(&decoder.decode(&packet).unwrap(), TONE_HZ) {
            toned += 1;
        }
    }
    assert!(toned >= 40, "{toned} packets of the tone (a second is 50)");
}

#[tokio::test]
async fn interrupt_cuts_the_backends_speech_and_a_rest_task_still_sets_the_state() {
    let env = TestEnv::with_config(fast()).await;
    let (session, mut events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let mut socket = open(session.info().realtime_endpoint.as_deref().unwrap()).await;
    send(
        &mut socket,
        json!({"type": "agent.speak", "event_id": "long", "audio": tone(3000, 300.0, 0.3)}),
    )
    .await;
    let started = next_of(&mut socket, "agent.speak_started").await;
    send(
        &mut socket,
        json!({"type": "agent.interrupt", "event_id": null}),
    )
    .await;
    next_of(&mut socket, "agent.audio_buffer_cleared").await;
    let ended = next_of(&mut socket, "agent.speak_ended").await;
    assert_eq!(ended["task"], started["task"]);
    let StreamingEvent::AvatarStopTalking { duration_ms, .. } = events
        .wait_for(WAIT, |e| e.name() == "avatar_stop_talking")
        .await
        .unwrap()
        .event
    else {
        unreachable!()
    };
    assert!(
        duration_ms.unwrap() < 1500.0,
        "cut short, not the whole 3 s"
    );
    assert_eq!(next_state(&mut socket).await, "idle");

    // The avatar's state follows every task, not only the socket's.
    session
        .speak(&streaming_avatar::SpeakRequest::repeat("hello there"))
        .await
        .unwrap();
    assert_eq!(next_state(&mut socket).await, "talking");
    assert_eq!(next_state(&mut socket).await, "idle");
    send(
        &mut socket,
        json!({"type": "agent.start_listening", "event_id": "l"}),
    )
    .await;
    assert_eq!(next_state(&mut socket).await, "listening");
    send(
        &mut socket,
        json!({"type": "agent.stop_listening", "event_id": "l2"}),
    )
    .await;
    assert_eq!(next_state(&mut socket).await, "idle");

    // The realtime alpha's flow: buffer, then commit as one utterance.
    send(
        &mut socket,
        json!({"type": "agent.audio_buffer_append", "audio": tone(200, 300.0, 0.3)}),
    )
    .await;
    send(&mut socket, json!({"type": "agent.audio_buffer_commit", "event_id": "c", "audio": tone(200, 300.0, 0.3)})).await;
    let committed = next_of(&mut socket, "agent.audio_buffer_committed").await;
    assert_eq!(committed["source_event_id"], "c");
    let started = next_of(&mut socket, "agent.speak_started").await;
    assert_eq!(started["task"], committed["task"]);
    let ours = started["task"]["id"].as_str().unwrap();
    let StreamingEvent::AvatarStopTalking { duration_ms, .. } = events
        .wait_for(
            WAIT,
            |e| matches!(e, StreamingEvent::AvatarStopTalking { task_id, .. } if task_id == ours),
        )
        .await
        .unwrap()
        .event
    else {
        unreachable!()
    };
    assert!(
        (350.0..600.0).contains(&duration_ms.unwrap()),
        "{duration_ms:?}"
    );
}

#[tokio::test]
async fn the_socket_reports_the_session_and_keep_alive_holds_off_the_idle_timeout() {
    let env = TestEnv::with_config(ServerConfig {
        default_idle_timeout: Duration::from_millis(1500),
        ..fast()
    })
    .await;
    let avatar = env.sdk().await;
    let mut session = avatar
        .new_session_with(&NewSessionRequest::default(), SessionOptions::default())
        .await
        .unwrap();
    session.start_session().await.unwrap();
    let mut socket = open(session.info().realtime_endpoint.as_deref().unwrap()).await;
    assert_eq!(
        next_of(&mut socket, "session.state_updated").await["state"],
        "connecting"
    );
    // Before the room is joined the avatar cannot speak: an error, and the socket stays.
    send(
        &mut socket,
        json!({"type": "agent.speak", "event_id": "early", "audio": tone(100, 300.0, 0.3)}),
    )
    .await;
    let early = next_of(&mut socket, "error").await;
    assert_eq!(early["source_event_id"], "early");
    assert_eq!(early["error"]["code"], 400006, "{early}");
    session.connect().await.unwrap();
    assert_eq!(
        next_of(&mut socket, "session.state_updated").await["state"],
        "connected"
    );

    // Keep-alives every half second hold the session past its 1.5 s idle timeout.
    for _ in 0..6 {
        send(
            &mut socket,
            json!({"type": "session.keep_alive", "event_id": "k"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let live = crate::voice::dump(&env, session.session_id()).await;
    assert_eq!(live["state"], "connected", "still live after 3 s: {live}");

    // Without them it ends, and the socket says so and closes.
    assert_eq!(
        next_of(&mut socket, "session.state_updated").await["state"],
        "closing"
    );
    assert_eq!(
        next_of(&mut socket, "session.state_updated").await["state"],
        "closed"
    );
    let close = tokio::time::timeout(WAIT, socket.next()).await.unwrap();
    assert!(
        matches!(&close, Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == 1000),
        "{close:?}"
    );
}

#[tokio::test]
async fn bad_messages_get_errors_and_the_session_goes_on() {
    let env = TestEnv::with_config(fast()).await;
    let (session, _events, _) = env
        .sdk_session(NewSessionRequest::default(), SessionOptions::default())
        .await;
    let endpoint = session.info().realtime_endpoint.clone().unwrap();
    let mut socket = open(&endpoint).await;
    next_of(&mut socket, "session.state_updated").await;
    let huge = base64::engine::general_purpose::STANDARD.encode(vec![0u8; (1 << 20) + 2]);
    let cases = [
        (Message::Text("not json".into()), "not a JSON message"),
        (
            Message::Text(json!({"event_id": "x"}).to_string().into()),
            "\"type\"",
        ),
        (
            Message::Text(json!({"type": "agent.dance"}).to_string().into()),
            "unknown message type",
        ),
        (
            Message::Text(json!({"type": "agent.speak"}).to_string().into()),
            "bad agent.speak",
        ),
        (
            Message::Text(
                json!({"type": "agent.speak", "audio": 7})
                    .to_string()
                    .into(),
            ),
            "bad agent.speak",
        ),
        (
            Message::Text(
                json!({"type": "agent.speak", "audio": "@@@"})
                    .to_string()
                    .into(),
            ),
            "invalid base64",
        ),
        (
            Message::Text(
                json!({"type": "agent.speak", "audio": "AAEC"})
                    .to_string()
                    .into(),
            ),
            "even number",
        ),
        (
            Message::Text(
                json!({"type": "agent.speak", "audio": huge})
                    .to_string()
                    .into(),
            ),
            "chunks",
        ),
        (
            Message::Text(
                json!({"type": "agent.audio_buffer_commit"})
                    .to_string()
                    .into(),
            ),
            "empty",
        ),
        (Message::Binary(vec![1, 2, 3].into()), "binary frames"),
    ];
    for (message, expected) in cases {
        eprintln!("sending what should get {expected:?}");
        socket.send(message).await.unwrap();
        let error = next_of(&mut socket, "error").await;
        let said = error["error"]["message"].as_str().unwrap();
        assert!(said.contains(expected), "{said:?} should say {expected:?}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    // Still usable.
    send(
        &mut socket,
        json!({"type": "agent.speak", "audio": tone(100, 300.0, 0.3)}),
    )
    .await;
    send(&mut socket, json!({"type": "agent.speak_end"})).await;
    next_of(&mut socket, "agent.speak_started").await;

    // Unknown and ended sessions are refused before the upgrade, HeyGen-style.
    let unknown = endpoint.replace(session.session_id(), "no-such-session");
    let refused = tokio_tungstenite::connect_async(&unknown)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("404") || refused.to_string().contains("400"),
        "{refused}"
    );
}
