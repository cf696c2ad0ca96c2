//! The Rust SDK's view of the mock's latency, each figure beside a baseline from the same run:
//! - `sdk_{http,chat_socket,livekit}_speak_to_start_talking`: `Session::speak_via` on each
//!   path until the SDK's event stream holds `avatar_start_talking` (stamped on receipt),
//!   against `bare_data_channel`: one message between two plain webrtc-rs peers.
//! - `sdk_start`: `create_start_avatar` until `StreamReady` and the first decoded frame, with
//!   each phase printed (REST, signalling, offer/answer, ICE+DTLS, tracks, first frame).
//!
//! Run: `cargo bench -p understudy-benches --bench sdk_latency`

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;
use streaming_avatar::media::decode::VideoDecoder;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{
    EventStream, Session, SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar, StreamingEvent,
    VoiceChatTransport,
};
use tokio::sync::Mutex;
use tokio::time::Instant;
use understudy_benches::bare_channel::BareChannel;
use understudy_benches::{bench_bare_channel, new_samples, record, report};
use understudy_server::{MockServer, ServerConfig};

const WAIT: Duration = Duration::from_secs(10);

/// One start: `streaming.new` answered, `start`'s steps, STREAM_READY, first decoded frame.
type StartPhases = (Duration, streaming_avatar::StartTimings, Duration, Duration);

async fn client(base: &str) -> StreamingAvatar {
    let backend = StreamingAvatar::builder()
        .base_path(base)
        .api_key("bench")
        .build()
        .expect("client");
    let token = backend.create_token().await.expect("token");
    StreamingAvatar::builder()
        .base_path(base)
        .token(token)
        .build()
        .expect("client")
}

/// Speaks on `path`, returns the time to `avatar_start_talking` as the SDK received it, then
/// interrupts and waits for the avatar to stop.
async fn sample(session: &Session, events: &mut EventStream, path: SpeakPath) -> Duration {
    let request = match path {
        SpeakPath::Http => SpeakRequest::repeat("hello there"),
        _ => SpeakRequest::talk("hello there"),
    };
    let started = Instant::now();
    session.speak_via(path, &request).await.expect("speak");
    let event = events
        .wait_for(WAIT, |e| {
            matches!(e, StreamingEvent::AvatarStartTalking { .. })
        })
        .await
        .expect("avatar_start_talking");
    let took = event.at.duration_since(started);
    session.interrupt().await.expect("interrupt");
    events
        .wait_for(WAIT, |e| {
            matches!(e, StreamingEvent::AvatarStopTalking { .. })
        })
        .await
        .expect("avatar_stop_talking");
    took
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
    // The LiveKit transport sends TALK text as LiveKit data; the socket path needs the other.
    let sessions = [
        (
            "sdk_http_speak_to_start_talking",
            SpeakPath::Http,
            VoiceChatTransport::WebSocket,
        ),
        (
            "sdk_chat_socket_speak_to_start_talking",
            SpeakPath::ChatSocket,
            VoiceChatTransport::WebSocket,
        ),
        (
            "sdk_livekit_speak_to_start_talking",
            SpeakPath::LiveKit,
            VoiceChatTransport::LiveKit,
        ),
    ]
    .map(|(name, path, transport)| {
        let (session, events) = runtime.block_on(async {
            let options = SessionOptions::default().voice_chat_transport(transport);
            let session = client(&base)
                .await
                .create_start_avatar_with(&NewSessionRequest::default(), options)
                .await
                .expect("session");
            let events = session.events();
            (session, events)
        });
        (
            name,
            path,
            Arc::new(Mutex::new((session, events))),
            Arc::new(new_samples()),
        )
    });
    let bare = Arc::new(Mutex::new(runtime.block_on(BareChannel::connect())));
    let bare_hist = Arc::new(new_samples());
    let mut group = c.benchmark_group("sdk_event_latency");
    bench_bare_channel(&mut group, &runtime, &bare, &bare_hist);
    for (name, path, session, hist) in &sessions {
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (session, hist, path) = (Arc::clone(session), Arc::clone(hist), *path);
                async move {
                    let mut guard = session.lock().await;
                    let (session, events) = &mut *guard;
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let took = sample(session, events, path).await;
                        record(&hist, took);
                        total += took;
                    }
                    total
                }
            })
        });
    }
    group.finish();
    println!("speak -> avatar_start_talking as the SDK's event stream sees it:");
    report(
        &bare_hist,
        &sessions
            .each_ref()
            .map(|(name, _, _, hist)| (*name, &**hist)),
    );
    runtime.block_on(async {
        for (_, _, session, _) in sessions {
            let _ = session.lock().await.0.stop().await;
        }
    });

    let mut group = c.benchmark_group("sdk_start");
    group.sample_size(10);
    let phases: Arc<std::sync::Mutex<Vec<StartPhases>>> =
        Arc::new(std::sync::Mutex::new(Vec::new()));
    group.bench_function("create_start_avatar_to_first_decoded_frame", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (base, phases) = (base.clone(), Arc::clone(&phases));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let avatar = client(&base).await;
                    let began = Instant::now();
                    let mut session = avatar
                        .new_session(&NewSessionRequest::default())
                        .await
                        .expect("new");
                    let created = began.elapsed();
                    let mut events = session.events();
                    let mut video = session.video();
                    session.start().await.expect("start");
                    let ready = events
                        .wait_for(WAIT, |e| matches!(e, StreamingEvent::StreamReady))
                        .await
                        .expect("stream ready")
                        .at
                        .duration_since(began);
                    let mut decoder = VideoDecoder::new().expect("decoder");
                    let first_frame = loop {
                        let frame = tokio::time::timeout(WAIT, video.next())
                            .await
                            .expect("a frame in time")
                            .expect("video")
                            .expect("the bench keeps up");
                        if decoder.decode(&frame).expect("decode").is_some() {
                            break frame.received_at.duration_since(began);
                        }
                    };
                    total += first_frame;
                    phases.lock().expect("phases").push((
                        created,
                        session.start_timings(),
                        ready,
                        first_frame,
                    ));
                    session.stop().await.expect("stop");
                }
                total
            }
        })
    });
    group.finish();
    let phases = phases.lock().expect("phases");
    let n = phases.len().max(1) as u32;
    let mean = |f: &dyn Fn(&StartPhases) -> Duration| phases.iter().map(f).sum::<Duration>() / n;
    println!(
        "create_start_avatar phases, mean of {} runs (from new_session):",
        phases.len()
    );
    println!("  streaming.new answered        {:?}", mean(&|p| p.0));
    println!(
        "  streaming.start answered      {:?}",
        mean(&|p| p.0 + p.1.started)
    );
    println!(
        "  signalling socket open        +{:?}",
        mean(&|p| p.1.join.socket_open)
    );
    println!(
        "  JoinResponse                  +{:?}",
        mean(&|p| p.1.join.joined)
    );
    println!(
        "  subscriber offer              +{:?}",
        mean(&|p| p.1.join.offer)
    );
    println!(
        "  answer sent                   +{:?}",
        mean(&|p| p.1.join.answered)
    );
    println!(
        "  peer connected (ICE + DTLS)   +{:?}",
        mean(&|p| p.1.join.connected)
    );
    println!(
        "  room joined                   {:?}",
        mean(&|p| p.0 + p.1.room)
    );
    println!(
        "  chat socket open              {:?}",
        mean(&|p| p.0 + p.1.socket)
    );
    println!("  STREAM_READY                  {:?}", mean(&|p| p.2));
    println!("  first decoded frame           {:?}", mean(&|p| p.3));
    drop(runtime);
}

criterion_group!(benches, latency);
criterion_main!(benches);
