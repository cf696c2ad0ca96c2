//! Real-time latency, each figure beside a baseline measured in the same run:
//! - `speak_to_start_talking`: POST `streaming.task` over loopback HTTP until the viewer holds
//!   `avatar_start_talking` from `_reliable` (no modelled latency), against
//!   `bare_data_channel`: one message between two plain webrtc-rs peers.
//! - `chat_socket_speak_to_start_talking`: the same over the chat WebSocket, the path SDK
//!   2.0.13+ takes for its default `speak()` (talk, async): no HTTP request per utterance.
//! - `create_token_to_first_frame`: create_token, new, start, join, until the first video RTP
//!   packet arrives, against `create_token_to_new`: just the REST calls.
//!
//! Run: `cargo bench -p understudy-benches --bench room_latency`

use criterion::{Criterion, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use understudy_benches::bare_channel::BareChannel;
use understudy_benches::http_client;
use understudy_e2e::livekit_viewer::Viewer;
use understudy_proto::events::DataChannelEvent;
use understudy_server::{MockServer, ServerConfig};

async fn post(client: &reqwest::Client, url: String, auth: (&str, &str), body: Value) -> Value {
    client
        .post(url)
        .header(auth.0, auth.1)
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Mints a token, creates and starts a session; returns `(token, session id, url, access token)`.
async fn start_session(client: &reqwest::Client, base: &str) -> (String, String, String, String) {
    let token = post(
        client,
        format!("{base}/v1/streaming.create_token"),
        ("x-api-key", "bench"),
        json!({}),
    )
    .await;
    let token = token["data"]["token"].as_str().expect("token").to_owned();
    let bearer = format!("Bearer {token}");
    let new = post(
        client,
        format!("{base}/v1/streaming.new"),
        ("authorization", &bearer),
        json!({"version": "v2", "quality": "low", "disable_idle_timeout": true}),
    )
    .await;
    let data = &new["data"];
    let id = data["session_id"].as_str().expect("id").to_owned();
    post(
        client,
        format!("{base}/v1/streaming.start"),
        ("authorization", &bearer),
        json!({"session_id": id}),
    )
    .await;
    (
        token,
        id,
        data["url"].as_str().expect("url").to_owned(),
        data["access_token"].as_str().expect("jwt").to_owned(),
    )
}

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
    let socket_hist = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new(3).expect("histogram"),
    ));
    let chat_url = format!(
        "{}/v1/ws/streaming.chat?session_id={id}&session_token={token}",
        base.replace("http://", "ws://")
    );
    let chat = Arc::new(Mutex::new(
        runtime
            .block_on(tokio_tungstenite::connect_async(chat_url))
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
                    let task = post(&client, format!("{base}/v1/streaming.task"), ("authorization", &bearer), json!({"session_id": id, "text": "hello there", "task_mode": "async", "task_type": "repeat"})).await;
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
                    post(&client, format!("{base}/v1/streaming.interrupt"), ("authorization", &bearer), json!({"session_id": id})).await;
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
                    post(
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
                    post(
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
    group.bench_function("create_token_to_first_frame", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let (token, id, url, access) = start_session(&client, &base).await;
                    let viewer = Viewer::join(&url, &access).await;
                    while viewer.media.video_packets.load(Ordering::Relaxed) == 0 {
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    total += started.elapsed();
                    post(
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
}

fn record(hist: &std::sync::Mutex<Histogram<u64>>, took: Duration) {
    let _ = hist
        .lock()
        .expect("histogram")
        .record(took.as_micros() as u64);
}

type Samples = std::sync::Mutex<Histogram<u64>>;

/// Percentiles of every sample criterion took (warm-up included), and each path's ratio of
/// means to the bare channel.
fn report(bare: &Samples, paths: &[(&str, &Samples)]) {
    let bare = bare.lock().expect("histogram");
    let line = |name: &str, h: &Histogram<u64>| {
        println!(
            "{name}: n={} p50={}us p90={}us p99={}us max={}us",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.max()
        );
    };
    line("bare_data_channel", &bare);
    for (name, samples) in paths {
        let h = samples.lock().expect("histogram");
        line(name, &h);
        println!(
            "{name} / bare_data_channel (means): {:.2}",
            h.mean() / bare.mean()
        );
    }
}

criterion_group!(benches, latency);
criterion_main!(benches);
