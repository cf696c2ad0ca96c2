//! Fuzzed decoders over real sockets: every door a client writes binary to gets generated
//! garbage, well-formed messages with wild fields, and well-formed messages cut short or with a
//! byte flipped; then the door must still work, and what the protocol says must be refused
//! must have been refused the documented way.
//!
//! - the chat socket's pipecat frames (`/v1/ws/streaming.chat`),
//! - the LiveKit signalling socket's `SignalRequest`s (`/rtc`),
//! - the client's LiveKit `DataPacket`s on its publisher `_reliable`.
//!
//! JSON bodies are fuzzed in `properties.rs`; the pure decoders also have unit properties in
//! the server (`voice::frames`, `livekit::packets`). Cases per door: 300 by default, in one
//! connection; `PROPTEST_CASES=100000` is the harder documented run.

use crate::voice::{dump, joined};
use futures_util::SinkExt;
use livekit_protocol as lk;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use prost::Message as _;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use understudy_e2e::TestEnv;
use understudy_e2e::chat_client::{audio_frame, close_frame, connect, round_trip};
use understudy_proto::events::DataChannelEvent;
use understudy_proto::pipecat::{Frame, FrameKind, TextFrame};
use understudy_server::{ServerConfig, VadConfig};

fn cases() -> usize {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// `n` values drawn from `strategy` by a deterministic runner (the same inputs every run).
fn draw<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

/// A message's bytes as sent, cut short at a random point, or with one byte flipped.
fn mangled(bytes: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        bytes,
        any::<prop::sample::Index>(),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(mut bytes, at, x, cut)| {
            let i = at.index(bytes.len() + 1);
            if cut {
                bytes.truncate(i);
            } else if i < bytes.len() {
                bytes[i] ^= x | 1;
            }
            bytes
        })
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..400)
}

fn pipecat_frame() -> impl Strategy<Value = Vec<u8>> {
    let audio = (
        proptest::collection::vec(any::<u8>(), 0..1_100),
        prop_oneof![Just(16_000u32), Just(8_000), Just(48_000), any::<u32>()],
        prop_oneof![Just(1u32), Just(2), Just(0), any::<u32>()],
    )
        .prop_map(|(audio, sample_rate, num_channels)| {
            audio_frame(audio, sample_rate, num_channels)
        });
    let blank_text = "[ \t\n]{0,5}".prop_map(|t| {
        Frame {
            frame: Some(FrameKind::Text(TextFrame {
                text: t,
                ..Default::default()
            })),
        }
        .encode_to_vec()
    });
    prop_oneof![garbage(), audio.clone(), blank_text, mangled(audio)]
}

/// What the server must do with a chat-socket frame, by the rules of §8.2 as documented.
enum Expect {
    /// Close with 1007 and a reason naming the field.
    Close,
    /// Text to answer: left out of the batch, so the batch says nothing.
    Speech,
    /// Drop it or hear it; either way the socket stays open.
    Open,
}

fn expect(bytes: &[u8]) -> Expect {
    match Frame::decode(bytes) {
        Ok(Frame {
            frame: Some(FrameKind::Audio(a)),
        }) if !(8_000..=48_000).contains(&a.sample_rate) || a.num_channels > 2 => Expect::Close,
        Ok(Frame {
            frame: Some(FrameKind::Text(t)),
        }) if !t.text.trim().is_empty() => Expect::Speech,
        _ => Expect::Open,
    }
}

/// A detector that never hears noise as speech, so a batch of garbage queues no speech and a
/// final text frame is the only thing said; connected on `start`, as no viewer joins.
fn deaf() -> ServerConfig {
    ServerConfig {
        vad: VadConfig {
            threshold_dbfs: 0.0,
            ..VadConfig::default()
        },
        connect_on_start: true,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn the_chat_socket_survives_any_frames() {
    let batch = draw(pipecat_frame(), cases());
    let env = TestEnv::with_config(deaf()).await;
    let (token, id) = env.connected_session().await;
    let url = env.chat_url(&id, &token, "");
    let mut socket = connect(&url).await;
    let (mut closed, mut sent) = (0, 0);
    for bytes in batch {
        let verdict = expect(&bytes);
        if matches!(verdict, Expect::Speech) {
            continue;
        }
        socket
            .send(Message::Binary(bytes.clone().into()))
            .await
            .expect("socket open");
        sent += 1;
        if matches!(verdict, Expect::Close) {
            let frame = close_frame(&mut socket).await;
            assert_eq!(u16::from(frame.code), 1007, "{bytes:?}");
            assert!(
                frame.reason.contains("sample_rate") || frame.reason.contains("num_channels"),
                "{}",
                frame.reason
            );
            closed += 1;
            socket = connect(&url).await;
        }
    }
    // Every frame before the pong was handled, and none of them spoke.
    round_trip(&mut socket).await;
    let session = dump(&env, &id).await;
    assert!(session["speaking_task_id"].is_null(), "{session}");
    assert!(
        sent > 0 && closed > 0,
        "the batch had both kinds: {sent} sent, {closed} closed"
    );

    socket
        .send(Message::Binary(
            Frame::text("still there?").encode_to_vec().into(),
        ))
        .await
        .expect("socket open");
    round_trip(&mut socket).await;
    let session = dump(&env, &id).await;
    assert!(session["speaking_task_id"].is_string(), "{session}");
    env.assert_alive(&token, &id).await;
}

fn signal_request() -> impl Strategy<Value = Vec<u8>> {
    use lk::signal_request::Message as Req;
    let text = || ".{0,300}";
    let structured = prop_oneof![
        (text(), any::<u32>()).prop_map(|(sdp, id)| Req::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp,
            id,
            ..Default::default()
        })),
        text().prop_map(|sdp| Req::Answer(lk::SessionDescription {
            r#type: "answer".into(),
            sdp,
            ..Default::default()
        })),
        (text(), any::<i32>()).prop_map(|(candidate_init, target)| Req::Trickle(
            lk::TrickleRequest {
                candidate_init,
                target,
                ..Default::default()
            }
        )),
        (text(), text(), any::<i32>(), any::<bool>(), any::<u32>()).prop_map(
            |(cid, name, kind, muted, width)| Req::AddTrack(lk::AddTrackRequest {
                cid,
                name,
                r#type: kind,
                muted,
                width,
                ..Default::default()
            })
        ),
        (text(), any::<bool>())
            .prop_map(|(sid, muted)| Req::Mute(lk::MuteTrackRequest { sid, muted })),
        any::<i64>().prop_map(Req::Ping),
        (text(), any::<bool>()).prop_map(|(sid, subscribe)| Req::Subscription(
            lk::UpdateSubscription {
                track_sids: vec![sid],
                subscribe,
                ..Default::default()
            }
        )),
        any::<bool>().prop_map(
            |all| Req::SubscriptionPermission(lk::SubscriptionPermission {
                all_participants: all,
                ..Default::default()
            })
        ),
        Just(Req::SyncState(lk::SyncState::default())),
    ]
    .prop_map(|message| {
        lk::SignalRequest {
            message: Some(message),
        }
        .encode_to_vec()
    });
    prop_oneof![garbage(), structured.clone(), mangled(structured)]
}

#[tokio::test]
async fn the_signalling_socket_survives_any_requests() {
    // Drawn before joining: drawing blocks this (single-threaded) runtime, and a peer that
    // cannot answer ICE checks for seconds is rightly dropped by the server.
    let batch = draw(signal_request(), cases());
    let env = TestEnv::start().await;
    let (token, id, mut viewer) = joined(&env).await;
    for bytes in batch {
        // `leave` ends the connection by design; everything else must leave it working.
        if matches!(
            lk::SignalRequest::decode(&bytes[..]),
            Ok(lk::SignalRequest {
                message: Some(lk::signal_request::Message::Leave(_))
            })
        ) {
            continue;
        }
        viewer.signal_raw(bytes).await;
    }
    // The socket still answers, in order, after all of it.
    viewer
        .signal(lk::signal_request::Message::PingReq(lk::Ping {
            timestamp: 4242,
            rtt: 0,
        }))
        .await;
    let pong = loop {
        if let lk::signal_response::Message::PongResp(pong) = viewer.next_response().await {
            break pong;
        }
    };
    assert_eq!(pong.last_ping_timestamp, 4242);
    assert!(viewer.is_connected(), "the avatar's peer is still up");
    env.assert_alive(&token, &id).await;
}

fn data_packet() -> impl Strategy<Value = Vec<u8>> {
    use lk::data_packet::Value as V;
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        Just(br#""push_to_talk:start""#.to_vec()),
        Just(br#""push_to_talk:stop""#.to_vec()),
        Just(b"\"   \"".to_vec()),
        ".{0,40}".prop_map(|t| json!({ "text": t }).to_string().into_bytes()),
    ];
    let structured = prop_oneof![
        (payload, ".{0,20}").prop_map(|(payload, topic)| lk::DataPacket {
            value: Some(V::User(lk::UserPacket {
                payload,
                topic: Some(topic),
                ..Default::default()
            })),
            ..Default::default()
        }),
        ".{0,50}".prop_map(|message| lk::DataPacket {
            value: Some(V::ChatMessage(lk::ChatMessage {
                message,
                ..Default::default()
            })),
            ..Default::default()
        }),
        Just(lk::DataPacket::default()),
    ]
    .prop_map(|packet| packet.encode_to_vec());
    prop_oneof![garbage(), structured.clone(), mangled(structured)]
}

/// Whether the server would hear `bytes` as text to say (a user packet whose payload is a
/// non-blank JSON string other than a push-to-talk command): left out of the batch.
fn speaks(bytes: &[u8]) -> bool {
    let Ok(lk::DataPacket {
        value: Some(lk::data_packet::Value::User(user)),
        ..
    }) = lk::DataPacket::decode(bytes)
    else {
        return false;
    };
    serde_json::from_slice::<String>(&user.payload).is_ok_and(|t| {
        !t.trim().is_empty() && t != "push_to_talk:start" && t != "push_to_talk:stop"
    })
}

#[tokio::test]
async fn the_publisher_channel_survives_any_packets() {
    let batch = draw(data_packet(), cases());
    let env = TestEnv::start().await;
    let (token, id, mut viewer) = joined(&env).await;
    let channel = viewer.open_publisher(1).await;
    for bytes in batch {
        if !speaks(&bytes) {
            channel.send_raw(&bytes).await;
        }
    }
    // The channel is ordered: once this is answered, the batch has been read, silently.
    channel.publish(br#""hello after the noise""#).await;
    let started = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let DataChannelEvent::AvatarStartTalking { task_id } = viewer.next_event().await {
                return task_id;
            }
        }
    })
    .await
    .expect("the last packet is answered");
    let session = dump(&env, &id).await;
    assert_eq!(session["speaking_task_id"], started.as_str(), "{session}");
    assert!(
        session["queued_task_ids"]
            .as_array()
            .is_some_and(|q| q.is_empty()),
        "{session}"
    );
    env.assert_alive(&token, &id).await;
}
