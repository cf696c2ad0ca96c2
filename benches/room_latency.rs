//! Real-time latency, each figure beside a baseline measured in the same run:
//! - `speak_to_start_talking`: POST `streaming.task` over loopback HTTP until the viewer holds
//!   `avatar_start_talking` from `_reliable` (no modelled latency), against
//!   `bare_data_channel`: one message between two plain webrtc-rs peers.
//! - `chat_socket_speak_to_start_talking`: the same over the chat WebSocket, the path SDK
//!   2.0.13+ takes for its default `speak()` (talk, async): no HTTP request per utterance.
//! - `livekit_data_speak_to_start_talking`: the same as a LiveKit data packet on the client's
//!   publisher `_reliable`, the path `speak()` takes on the SDK's LiveKit transport: data
//!   channel in, data channel out.
//!
//! The event paths are measured twice: back to back under criterion (every thread awake, as
//! under steady traffic) and then from idle, with a pause before each sample (threads parked,
//! as between the utterances of a conversation); each pass has its own bare-channel baseline.
//! - `create_token_to_first_frame`: create_token, new, start, join, until the first video RTP
//!   packet arrives, against `create_token_to_new`: just the REST calls.
//!
//! Run: `cargo bench -p understudy-benches --bench room_latency`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use understudy_benches::bare_channel::BareChannel;
use understudy_benches::{
    ChatSocket, IDLE_PAUSE, bench_bare_channel, chat_socket, http_client, new_samples, post_json,
    record, report, settle, start_session,
};
use understudy_e2e::livekit_viewer::{PublisherChannel, Viewer};
use understudy_proto::events::DataChannelEvent;
use understudy_server::{MockServer, ServerConfig};

/// How a bench client asks the avatar to speak.
enum Speaker {
    /// POST `streaming.task` (repeat, async).
    Http,
    /// A pipecat `TextFrame` on the chat WebSocket.
    ChatSocket(Box<ChatSocket>),
    /// A LiveKit user packet on the client's publisher `_reliable`.
    LiveKitData(PublisherChannel),
}

/// One connected session with a viewer, and what each sample needs to speak and interrupt.
struct Room {
    client: reqwest::Client,
    base: String,
    bearer: String,
    id: String,
    viewer: Viewer,
}

impl Room {
    /// Speaks, waits for `avatar_start_talking` at the viewer, then interrupts and waits for
    /// `avatar_stop_talking`; returns the time from speak to start talking.
    async fn sample(&mut self, speaker: &mut Speaker) -> Duration {
        use futures_util::SinkExt;
        use prost::Message as _;
        let text_frame = understudy_proto::pipecat::Frame::text("hello there").encode_to_vec();
        let started = Instant::now();
        match speaker {
            Speaker::Http => {
                post_json(
                    &self.client,
                    format!("{}/v1/streaming.task", self.base),
                    ("authorization", &self.bearer),
                    json!({"session_id": self.id, "text": "hello there", "task_mode": "async", "task_type": "repeat"}),
                )
                .await;
            }
            Speaker::ChatSocket(chat) => {
                chat.send(Message::Binary(text_frame.into()))
                    .await
                    .expect("send");
            }
            Speaker::LiveKitData(publisher) => publisher.publish(br#""hello there""#).await,
        }
        while !matches!(
            self.viewer.next_event().await,
            DataChannelEvent::AvatarStartTalking { .. }
        ) {}
        let took = started.elapsed();
        post_json(
            &self.client,
            format!("{}/v1/streaming.interrupt", self.base),
            ("authorization", &self.bearer),
            json!({"session_id": self.id}),
        )
        .await;
        while !matches!(
            self.viewer.next_event().await,
            DataChannelEvent::AvatarStopTalking { .. }
        ) {}
        took
    }
}

/// Samples per path in the from-idle pass.
const IDLE_SAMPLES: usize = 1000;

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
    let mut viewer = runtime.block_on(Viewer::join(&url, &access));
    let publisher = runtime.block_on(viewer.open_publisher(1));
    let chat = runtime.block_on(chat_socket(&base, &id, &token));
    let room = Arc::new(Mutex::new(Room {
        client: client.clone(),
        base: base.clone(),
        bearer: format!("Bearer {token}"),
        id,
        viewer,
    }));
    let bare = Arc::new(Mutex::new(runtime.block_on(BareChannel::connect())));
    let paths = [
        (
            "livekit_data_speak_to_start_talking",
            Speaker::LiveKitData(publisher),
        ),
        ("speak_to_start_talking", Speaker::Http),
        (
            "chat_socket_speak_to_start_talking",
            Speaker::ChatSocket(Box::new(chat)),
        ),
    ]
    .map(|(name, speaker)| (name, Arc::new(Mutex::new(speaker)), Arc::new(new_samples())));

    // Back to back: every thread is awake, as under steady traffic.
    let bare_hist = Arc::new(new_samples());
    let mut group = c.benchmark_group("event_latency");
    bench_bare_channel(&mut group, &runtime, &bare, &bare_hist);
    for (name, speaker, hist) in &paths {
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (room, speaker, hist) =
                    (Arc::clone(&room), Arc::clone(speaker), Arc::clone(hist));
                async move {
                    let (mut room, mut speaker) = (room.lock().await, speaker.lock().await);
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let took = room.sample(&mut speaker).await;
                        record(&hist, took);
                        total += took;
                    }
                    total
                }
            })
        });
    }
    group.finish();
    println!("back to back (every sample criterion took, warm-up included):");
    report(
        &bare_hist,
        &paths.each_ref().map(|(name, _, hist)| (*name, &**hist)),
    );

    // From idle: a pause before each sample lets the runtime's threads park, as between the
    // utterances of a real conversation; waking them is part of what a client waits for.
    let (idle_bare, idle_paths) = runtime.block_on(async {
        let idle_bare = new_samples();
        let mut bare = bare.lock().await;
        for _ in 0..IDLE_SAMPLES {
            settle().await;
            record(&idle_bare, bare.sample().await);
        }
        let mut room = room.lock().await;
        let mut idle_paths = Vec::new();
        for (name, speaker, _) in &paths {
            let samples = new_samples();
            let mut speaker = speaker.lock().await;
            for _ in 0..IDLE_SAMPLES {
                settle().await;
                record(&samples, room.sample(&mut speaker).await);
            }
            idle_paths.push((*name, samples));
        }
        (idle_bare, idle_paths)
    });
    println!("from idle ({IDLE_SAMPLES} samples each, {IDLE_PAUSE:?} pause before each):");
    let idle_paths: Vec<_> = idle_paths.iter().map(|(name, h)| (*name, h)).collect();
    report(&idle_bare, &idle_paths);

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
