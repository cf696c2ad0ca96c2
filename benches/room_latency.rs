//! Real-time latency, each figure beside a baseline measured in the same run:
//! - `speak_to_start_talking`: POST `streaming.task` over loopback HTTP until the viewer holds
//!   `avatar_start_talking` from `_reliable` (no modelled latency), against
//!   `bare_data_channel`: one message between two plain webrtc-rs peers.
//! - `chat_socket_speak_to_start_talking`: the same over the chat WebSocket, the path SDK
//!   2.0.13+ takes for its default `speak()` (talk, async): no HTTP request per utterance.
//! - `livekit_data_speak_to_start_talking`: the same as a LiveKit data packet on the client's
//!   publisher `_reliable`, the path `speak()` takes on the SDK's LiveKit transport: data
//!   channel in, data channel out.
//! - `create_token_to_first_frame`: create_token, new, start, join, until the first video RTP
//!   packet arrives, against `create_token_to_new`: just the REST calls.
//!
//! Run: `cargo bench -p understudy-benches --bench room_latency`

use criterion::{Criterion, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use understudy_benches::bare_channel::BareChannel;
use understudy_benches::{http_client, post_json, record, report, start_session};
use understudy_e2e::livekit_viewer::Viewer;
use understudy_proto::events::DataChannelEvent;
use understudy_server::{MockServer, ServerConfig};

fn latency(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = ServerConfig {
        concurrency_limit: 0,
        words_per_minute: 6000.0,
        ..Default::default()
    };
    let server = runtime
        .block_on(MockServer::builder().config(config).start())
        .expect("mock");
    let base = server.uri();
    let client = http_client();
    let (token, id, url, access) = runtime.block_on(start_session(&client, &base));
    let viewer = Arc::new(Mutex::new(runtime.block_on(Viewer::join(&url, &access))));
    let bare = Arc::new(Mutex::new(runtime.block_on(BareChannel::connect())));
    let bare_hist = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new(3).expect("histogram"),
    ));
    let speak_hist = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new(3).expect("histogram"),
    ));
    let data_hist = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new(3).expect("histogram"),
    ));
    let publisher =
        Arc::new(runtime.block_on(async { viewer.lock().await.open_publisher(1).await }));
    let socket_hist = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new(3).expect("histogram"),
    ));
    let chat_url = format!(
        "{}/v1/ws/streaming.chat?session_id={id}&session_token={token}",
        base.replace("http://", "ws://")
    );
    let chat = Arc::new(Mutex::new(
        runtime
            .block_on(tokio_tungstenite::connect_async_with_config(
                chat_url, None, true,
            ))
            .expect("chat socket")
            .0,
    ));

    let mut group = c.benchmark_group("event_latency");
    group.bench_function("bare_data_channel", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (bare, hist) = (Arc::clone(&bare), Arc::clone(&bare_hist));
            async move {
                let mut bare = bare.lock().await;
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    bare.sender
                        .send(bytes::BytesMut::from(
                            &b"{\"type\":\"avatar_start_talking\"}"[..],
                        ))
                        .await
                        .expect("send");
                    bare.received.recv().await.expect("message");
                    let took = started.elapsed();
                    record(&hist, took);
                    total += took;
                }
                total
            }
        })
    });
    group.bench_function("speak_to_start_talking", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (viewer, client, base, token, id) = (Arc::clone(&viewer), client.clone(), base.clone(), token.clone(), id.clone());
            let hist = Arc::clone(&speak_hist);
            async move {
                let mut viewer = viewer.lock().await;
                let bearer = format!("Bearer {token}");
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let task = post_json(&client, format!("{base}/v1/streaming.task"), ("authorization", &bearer), json!({"session_id": id, "text": "hello there", "task_mode": "async", "task_type": "repeat"})).await;
                    let task_id = task["data"]["task_id"].as_str().expect("task id").to_owned();
                    loop {
                        if let DataChannelEvent::AvatarStartTalking { task_id: t } = viewer.next_event().await {
                            if t == task_id {
                                break;
                            }
                        }
                    }
                    let took = started.elapsed();
                    record(&hist, took);
                    total += took;
                    post_json(&client, format!("{base}/v1/streaming.interrupt"), ("authorization", &bearer), json!({"session_id": id})).await;
                    while !matches!(viewer.next_event().await, DataChannelEvent::AvatarStopTalking { .. }) {}
                }
                total
            }
        })
    });
    group.bench_function("chat_socket_speak_to_start_talking", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (viewer, chat, client, base, token, id) = (
                Arc::clone(&viewer),
                Arc::clone(&chat),
                client.clone(),
                base.clone(),
                token.clone(),
                id.clone(),
            );
            let hist = Arc::clone(&socket_hist);
            async move {
                use futures_util::SinkExt;
                use prost::Message as _;
                let (mut viewer, mut chat) = (viewer.lock().await, chat.lock().await);
                let frame = understudy_proto::pipecat::Frame::text("hello there").encode_to_vec();
                let bearer = format!("Bearer {token}");
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    chat.send(tokio_tungstenite::tungstenite::Message::Binary(
                        frame.clone().into(),
                    ))
                    .await
                    .expect("send");
                    while !matches!(
                        viewer.next_event().await,
                        DataChannelEvent::AvatarStartTalking { .. }
                    ) {}
                    let took = started.elapsed();
                    record(&hist, took);
                    total += took;
                    post_json(
                        &client,
                        format!("{base}/v1/streaming.interrupt"),
                        ("authorization", &bearer),
                        json!({"session_id": id}),
                    )
                    .await;
                    while !matches!(
                        viewer.next_event().await,
                        DataChannelEvent::AvatarStopTalking { .. }
                    ) {}
                }
                total
            }
        })
    });
    group.bench_function("livekit_data_speak_to_start_talking", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (viewer, publisher, client, base, token, id) = (
                Arc::clone(&viewer),
                Arc::clone(&publisher),
                client.clone(),
                base.clone(),
                token.clone(),
                id.clone(),
            );
            let hist = Arc::clone(&data_hist);
            async move {
                let mut viewer = viewer.lock().await;
                let bearer = format!("Bearer {token}");
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    publisher.publish(br#""hello there""#).await;
                    while !matches!(
                        viewer.next_event().await,
                        DataChannelEvent::AvatarStartTalking { .. }
                    ) {}
                    let took = started.elapsed();
                    record(&hist, took);
                    total += took;
                    post_json(
                        &client,
                        format!("{base}/v1/streaming.interrupt"),
                        ("authorization", &bearer),
                        json!({"session_id": id}),
                    )
                    .await;
                    while !matches!(
                        viewer.next_event().await,
                        DataChannelEvent::AvatarStopTalking { .. }
                    ) {}
                }
                total
            }
        })
    });
    group.finish();
    report(
        &bare_hist,
        &[
            ("livekit_data_speak_to_start_talking", &data_hist),
            ("speak_to_start_talking", &speak_hist),
            ("chat_socket_speak_to_start_talking", &socket_hist),
        ],
    );

    let mut group = c.benchmark_group("session_start");
    group.sample_size(10);
    group.bench_function("create_token_to_new", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let started = Instant::now();
                for _ in 0..iters {
                    let (token, id, _, _) = start_session(&client, &base).await;
                    post_json(
                        &client,
                        format!("{base}/v1/streaming.stop"),
                        ("authorization", &format!("Bearer {token}")),
                        json!({"session_id": id}),
                    )
                    .await;
                }
                started.elapsed()
            }
        })
    });
    let phases = Arc::new(std::sync::Mutex::new(Vec::<[Duration; 7]>::new()));
    group.bench_function("create_token_to_first_frame", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (client, base, phases) = (client.clone(), base.clone(), Arc::clone(&phases));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let (token, id, url, access) = start_session(&client, &base).await;
                    let rest = started.elapsed();
                    let viewer = Viewer::join(&url, &access).await;
                    let joined = started.elapsed();
                    while viewer.media.video_packets.load(Ordering::Relaxed) == 0 {
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    let took = started.elapsed();
                    total += took;
                    let t = viewer.timings;
                    phases.lock().expect("phases").push([
                        rest,
                        joined - t.connected,
                        t.join,
                        t.offer - t.join,
                        t.answered - t.offer,
                        t.connected - t.answered,
                        took - joined,
                    ]);
                    post_json(
                        &client,
                        format!("{base}/v1/streaming.stop"),
                        ("authorization", &format!("Bearer {token}")),
                        json!({"session_id": id}),
                    )
                    .await;
                }
                total
            }
        })
    });
    group.finish();
    report_phases(&phases.lock().expect("phases"));
}

/// Where create_token -> first frame goes, as the mean of every sample.
fn report_phases(samples: &[[Duration; 7]]) {
    const NAMES: [&str; 7] = [
        "REST: create_token, new, start",
        "signalling socket connect",
        "JoinResponse",
        "subscriber offer (server peer built, candidates gathered)",
        "viewer answer (its peer built, candidates gathered)",
        "ICE + DTLS to connected",
        "connected to first video packet",
    ];
    if samples.is_empty() {
        return;
    }
    println!(
        "create_token_to_first_frame breakdown (mean of {} samples):",
        samples.len()
    );
    for (i, name) in NAMES.iter().enumerate() {
        let sum: Duration = samples.iter().map(|s| s[i]).sum();
        println!(
            "  {name}: {:.2} ms",
            sum.as_secs_f64() * 1000.0 / samples.len() as f64
        );
    }
}

criterion_group!(benches, latency);
criterion_main!(benches);
