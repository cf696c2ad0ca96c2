//! Real-time latency as an app sees it through the Rust SDK, each figure beside a baseline
//! measured in the same run:
//! - `{http,chat_socket,livekit}_speak_to_start_talking`: `Session::speak_via` on each path
//!   (HTTP `streaming.task`; a pipecat text frame on the chat socket, SDK 2.x's default
//!   `speak()`; a LiveKit data packet, `speak()` on the LiveKit transport) until the SDK's event
//!   stream holds `avatar_start_talking`, stamped on receipt; against `bare_data_channel`, one
//!   message between two plain webrtc-rs peers. The LiveKit path is also set beside
//!   `bare_talk_shaped`, the transport work of a talk alone (one message there, the reply's
//!   thirteen back, peers with the mock's media stack): what it takes beyond that is the mock's
//!   and the SDK's own.
//! - The talk paths again on a mock that sends a talk's reply in one message
//!   (`--talk-reply-text whole`): what the observed word and punctuation chunks cost.
//!
//! The event paths are measured twice: back to back under criterion (every thread awake, as
//! under steady traffic) and then from idle, with a pause before each sample (threads parked,
//! as between the utterances of a conversation); each pass has its own bare-channel baseline.
//! - `understudy bench`'s own measurement of the HTTP path (one session, closed loop), against
//!   the same speaks with the same pacing timed directly through the SDK, in alternating
//!   blocks: what the harness adds.
//! - `create_start_avatar_to_first_decoded_frame`: `create_start_avatar` until STREAM_READY and
//!   the first decoded video frame, with each phase printed; against `create_token_to_new`:
//!   the REST calls alone.
//!
//! Run: `cargo bench -p understudy-benches --bench room_latency`

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;
use streaming_avatar::media::decode::VideoDecoder;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{
    EventStream, Session, SessionOptions, SpeakPath, SpeakRequest, StartTimings, StreamingEvent,
};
use tokio::sync::Mutex;
use tokio::time::Instant;
use understudy_benches::bare_channel::{BareChannel, TALK_REPLY_MESSAGES};
use understudy_benches::hops::HopTrace;
use understudy_benches::{
    IDLE_PAUSE, Samples, bench_bare_channel, new_samples, record, report, report_transport_share,
    sdk_client, settle,
};
use understudy_server::{MockServer, ServerConfig, TalkReplyText};

const WAIT: Duration = Duration::from_secs(10);
/// Samples per path in the from-idle pass (a few when only testing that the bench runs).
fn idle_samples() -> usize {
    if understudy_benches::measuring() {
        1000
    } else {
        5
    }
}

/// One start: `streaming.new` answered, `start`'s steps, STREAM_READY, first decoded frame.
type StartPhases = (Duration, StartTimings, Duration, Duration);

/// The session every path speaks through, and its event stream.
struct Room {
    session: Session,
    events: EventStream,
}

/// The mock as every figure here sees it. Speech is 20 times shorter: `understudy bench`
/// waits for each utterance to end, which no latency here depends on. The limits scale too,
/// so they are set far beyond the run.
fn config() -> ServerConfig {
    let year = Duration::from_secs(365 * 24 * 3600);
    ServerConfig {
        concurrency_limit: 0,
        words_per_minute: 6000.0,
        time_scale: 20.0,
        session_duration_limit: year,
        default_idle_timeout: year,
        ..Default::default()
    }
}

impl Room {
    /// Starts a session on the mock at `base` through the SDK, its chat socket open and its
    /// room joined.
    async fn open(base: &str) -> Room {
        let session = sdk_client(base)
            .await
            .create_start_avatar_with(&NewSessionRequest::default(), SessionOptions::default())
            .await
            .expect("session");
        let events = session.events();
        Room { session, events }
    }

    /// Speaks on `path`, returns the time to `avatar_start_talking` as the SDK received it,
    /// then interrupts and waits for the avatar to stop.
    async fn sample(&mut self, path: SpeakPath) -> Duration {
        let (_, took) = self.speak(path).await;
        self.quiet().await;
        took
    }

    /// Speaks on `path` until the SDK's event stream holds `avatar_start_talking`; returns when
    /// the speak began and how long that took, as the SDK stamped the event.
    async fn speak(&mut self, path: SpeakPath) -> (std::time::Instant, Duration) {
        let request = match path {
            SpeakPath::Http => SpeakRequest::repeat("hello there"),
            _ => SpeakRequest::talk("hello there"),
        };
        self.speak_text(path, &request).await
    }

    /// Sends `request` on `path` until the SDK's event stream holds `avatar_start_talking`.
    async fn speak_text(
        &mut self,
        path: SpeakPath,
        request: &SpeakRequest,
    ) -> (std::time::Instant, Duration) {
        let started = Instant::now();
        self.session.speak_via(path, request).await.expect("speak");
        let event = self
            .events
            .wait_for(WAIT, |e| {
                matches!(e, StreamingEvent::AvatarStartTalking { .. })
            })
            .await
            .expect("avatar_start_talking");
        (started.into_std(), event.at.duration_since(started))
    }

    /// Speaks `text` as a repeat over HTTP as `understudy bench`'s closed loop does: the time
    /// to `avatar_start_talking` as the SDK stamped it, then waits for the avatar to finish
    /// (no interrupt, no pause after).
    async fn speak_to_the_end(&mut self, text: &str) -> Duration {
        let (_, took) = self
            .speak_text(SpeakPath::Http, &SpeakRequest::repeat(text))
            .await;
        self.events
            .wait_for(WAIT, |e| {
                matches!(e, StreamingEvent::AvatarStopTalking { .. })
            })
            .await
            .expect("avatar_stop_talking");
        took
    }

    /// Speaks on `path` and counts the room's messages up to `avatar_start_talking`, that one
    /// included (then quiets the avatar).
    async fn messages_to_start(&mut self, path: SpeakPath) -> usize {
        let request = SpeakRequest::talk("hello there");
        self.session.speak_via(path, &request).await.expect("speak");
        let mut messages = 0;
        self.events
            .wait_for(WAIT, |e| {
                messages += usize::from(matches!(
                    e,
                    StreamingEvent::AvatarTalkingMessage { .. }
                        | StreamingEvent::AvatarStartTalking { .. }
                ));
                matches!(e, StreamingEvent::AvatarStartTalking { .. })
            })
            .await
            .expect("avatar_start_talking");
        self.quiet().await;
        messages
    }

    /// Interrupts and waits for the avatar to stop talking.
    async fn quiet(&mut self) {
        self.session.interrupt().await.expect("interrupt");
        self.events
            .wait_for(WAIT, |e| {
                matches!(e, StreamingEvent::AvatarStopTalking { .. })
            })
            .await
            .expect("avatar_stop_talking");
    }
}

/// Samples per path and mode in the hop-tracing pass.
fn hop_samples() -> usize {
    if understudy_benches::measuring() {
        300
    } else {
        3
    }
}

fn latency(c: &mut Criterion) {
    let hop_trace = HopTrace::install();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(MockServer::builder().config(config()).start())
        .expect("mock");
    let base = server.uri();
    // One session, as the bare baseline has one pair of peers: the chat socket is open and the
    // room joined, so every path is there (a LiveKit data packet needs no LiveKit transport
    // when the path is forced). More sessions streaming at once slow every hop; that is the
    // scale bench's subject, not this one's.
    let room = Arc::new(Mutex::new(runtime.block_on(Room::open(&base))));
    let paths = [
        ("livekit_data_speak_to_start_talking", SpeakPath::LiveKit),
        ("speak_to_start_talking", SpeakPath::Http),
        ("chat_socket_speak_to_start_talking", SpeakPath::ChatSocket),
    ]
    .map(|(name, path)| (name, path, Arc::new(new_samples())));
    let bare = Arc::new(Mutex::new(runtime.block_on(BareChannel::connect())));
    let talk_shaped = Arc::new(Mutex::new(runtime.block_on(BareChannel::talk_shaped())));
    // Each path once before anything is recorded: the first LiveKit speak negotiates the
    // client's publisher peer (hundreds of milliseconds, once a session), which is set-up, not
    // the path's latency.
    runtime.block_on(async {
        let mut room = room.lock().await;
        for (_, path, _) in &paths {
            room.sample(*path).await;
        }
        // The transport baseline answers as a LiveKit talk does.
        assert_eq!(
            room.messages_to_start(SpeakPath::LiveKit).await,
            TALK_REPLY_MESSAGES,
            "bare_talk_shaped answers with as many messages as the mock answers a talk"
        );
    });

    // Back to back: every thread is awake, as under steady traffic.
    let bare_hist = Arc::new(new_samples());
    let mut group = c.benchmark_group("event_latency");
    bench_bare_channel(&mut group, &runtime, "bare_data_channel", &bare, &bare_hist);
    let talk_shaped_hist = Arc::new(new_samples());
    bench_bare_channel(
        &mut group,
        &runtime,
        "bare_talk_shaped",
        &talk_shaped,
        &talk_shaped_hist,
    );
    bench_paths(&mut group, &runtime, &room, &paths);
    group.finish();
    println!("back to back (every sample criterion took, warm-up included):");
    report(
        &bare_hist,
        &paths.each_ref().map(|(name, _, hist)| (*name, &**hist)),
    );
    report_transport_share(
        &bare_hist,
        (paths[0].0, &paths[0].2),
        ("bare_talk_shaped", &talk_shaped_hist),
    );

    // From idle: a pause before each sample lets the runtime's threads park, as between the
    // utterances of a real conversation; waking them is part of what a client waits for.
    let (idle_bare, idle_talk_shaped, idle_paths) = runtime.block_on(async {
        let idle_bare = new_samples();
        let mut bare = bare.lock().await;
        for _ in 0..idle_samples() {
            settle().await;
            record(&idle_bare, bare.sample().await);
        }
        let idle_talk_shaped = new_samples();
        let mut talk_shaped = talk_shaped.lock().await;
        for _ in 0..idle_samples() {
            settle().await;
            record(&idle_talk_shaped, talk_shaped.sample().await);
        }
        let mut idle_paths = Vec::new();
        let mut room = room.lock().await;
        for (name, path, _) in &paths {
            let samples = new_samples();
            for _ in 0..idle_samples() {
                settle().await;
                record(&samples, room.sample(*path).await);
            }
            idle_paths.push((*name, samples));
        }
        (idle_bare, idle_talk_shaped, idle_paths)
    });
    println!(
        "from idle ({} samples each, {IDLE_PAUSE:?} pause before each):",
        idle_samples()
    );
    let idle_paths: Vec<_> = idle_paths.iter().map(|(name, h)| (*name, h)).collect();
    report(&idle_bare, &idle_paths);
    report_transport_share(
        &idle_bare,
        idle_paths[0],
        ("bare_talk_shaped", &idle_talk_shaped),
    );

    // Where the time goes: each path again, with the hop events recorded (a pass of its own,
    // so the figures above were taken with recording off).
    runtime.block_on(async {
        let mut room = room.lock().await;
        for (name, path, _) in &paths {
            for idle in [false, true] {
                for _ in 0..hop_samples() {
                    if idle {
                        settle().await;
                    }
                    hop_trace.sample(room.speak(*path)).await;
                    room.quiet().await;
                }
                let mode = if idle { "from idle" } else { "back to back" };
                hop_trace.report(&format!("hops of {name}, {mode}"));
            }
        }
    });
    runtime.block_on(async {
        let _ = room.lock().await.session.stop().await;
    });
    whole_reply_talk(c, &runtime, &bare);

    harness_overhead(&runtime, &base);

    let mut group = c.benchmark_group("session_start");
    group.sample_size(10);
    group.bench_function("create_token_to_new", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let base = base.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let began = Instant::now();
                    let mut session = sdk_client(&base)
                        .await
                        .new_session(&NewSessionRequest::default())
                        .await
                        .expect("new");
                    total += began.elapsed();
                    session.stop().await.expect("stop");
                }
                total
            }
        })
    });
    let phases: Arc<std::sync::Mutex<Vec<StartPhases>>> = Arc::default();
    group.bench_function("create_start_avatar_to_first_decoded_frame", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (base, phases) = (base.clone(), Arc::clone(&phases));
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let began = Instant::now();
                    let avatar = sdk_client(&base).await;
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
    report_phases(&phases.lock().expect("phases"));
    drop(runtime);
}

/// A speak path, and every sample it took.
type PathSamples = (&'static str, SpeakPath, Arc<Samples>);

/// Adds each of `paths` to `group`: speaks on it through `room` back to back, every sample
/// also recorded in its histogram.
fn bench_paths(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    room: &Arc<Mutex<Room>>,
    paths: &[PathSamples],
) {
    for (name, path, hist) in paths {
        group.bench_function(*name, |b| {
            b.to_async(runtime).iter_custom(|iters| {
                let (room, hist, path) = (Arc::clone(room), Arc::clone(hist), *path);
                async move {
                    let mut room = room.lock().await;
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let took = room.sample(path).await;
                        record(&hist, took);
                        total += took;
                    }
                    total
                }
            })
        });
    }
}

/// The talk paths again, on a mock that sends a talk's reply in one message
/// (`--talk-reply-text whole`) instead of its word and punctuation chunks: the same mock and
/// SDK with two messages on the wire instead of thirteen, beside the bare message measured
/// again in the same pass. The difference from the headline figures is what the chunks cost.
fn whole_reply_talk(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    bare: &Arc<Mutex<BareChannel>>,
) {
    let config = ServerConfig {
        talk_reply_text: TalkReplyText::Whole,
        ..config()
    };
    let server = runtime
        .block_on(MockServer::builder().config(config).start())
        .expect("mock");
    let room = Arc::new(Mutex::new(runtime.block_on(Room::open(&server.uri()))));
    let paths = [
        ("livekit_data_whole_reply", SpeakPath::LiveKit),
        ("chat_socket_whole_reply", SpeakPath::ChatSocket),
    ]
    .map(|(name, path)| (name, path, Arc::new(new_samples())));
    runtime.block_on(async {
        let mut room = room.lock().await;
        for (_, path, _) in &paths {
            room.sample(*path).await;
        }
        assert_eq!(
            room.messages_to_start(SpeakPath::LiveKit).await,
            2,
            "a whole reply is one message, then avatar_start_talking"
        );
    });
    let bare_hist = Arc::new(new_samples());
    let mut group = c.benchmark_group("event_latency_whole_reply");
    bench_bare_channel(&mut group, runtime, "bare_data_channel", bare, &bare_hist);
    bench_paths(&mut group, runtime, &room, &paths);
    group.finish();
    println!("a talk's reply in one message, back to back:");
    report(
        &bare_hist,
        &paths.each_ref().map(|(name, _, hist)| (*name, &**hist)),
    );
    runtime.block_on(async {
        let _ = room.lock().await.session.stop().await;
    });
}

/// What `understudy bench`'s harness adds to what it times (a session of its own, its event
/// matching, its histograms), on the HTTP path: its speak -> `avatar_start_talking` against the
/// same speaks timed directly through the SDK, with the harness's text and pacing (closed
/// loop, each speak after the last one's natural end). The two alternate in blocks, each on a
/// fresh session, so that the machine's drift during the pass falls on both alike.
fn harness_overhead(runtime: &tokio::runtime::Runtime, base: &str) {
    let blocks = if understudy_benches::measuring() {
        10
    } else {
        1
    };
    let per_block = idle_samples() / blocks;
    let plan = understudy_bench::Plan {
        target: base.to_owned(),
        api_key: "bench".into(),
        sessions: 1,
        speaks: per_block,
        warmup: 2,
        path: understudy_bench::SpeakPathChoice::Http,
        audio_threshold_dbfs: None,
        ..understudy_bench::Plan::default()
    };
    let direct = new_samples();
    let mut through_harness = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    runtime.block_on(async {
        for _ in 0..blocks {
            let mut room = Room::open(base).await;
            for i in 0..plan.warmup + per_block {
                let took = room.speak_to_the_end(&plan.text).await;
                if i >= plan.warmup {
                    record(&direct, took);
                }
            }
            let _ = room.session.stop().await;
            let run = understudy_bench::run(&plan, |_| ()).await;
            through_harness
                .add(&run.histograms[&understudy_bench::Phase::StartTalking])
                .expect("same precision");
        }
    });
    let direct = direct.lock().expect("histogram");
    let p50 = |h: &hdrhistogram::Histogram<u64>| h.value_at_quantile(0.5);
    println!(
        "understudy bench, http start_talking: n={} p50={}us mean={:.0}us; timed directly with its pacing: n={} p50={}us mean={:.0}us; ratio (medians): {:.2}; (means): {:.2}",
        through_harness.len(),
        p50(&through_harness),
        through_harness.mean(),
        direct.len(),
        p50(&direct),
        direct.mean(),
        p50(&through_harness) as f64 / p50(&direct) as f64,
        through_harness.mean() / direct.mean()
    );
}

/// Where create_start_avatar -> first decoded frame goes, as the mean of every sample.
fn report_phases(phases: &[StartPhases]) {
    if phases.is_empty() {
        return;
    }
    let n = phases.len() as u32;
    let mean = |f: &dyn Fn(&StartPhases) -> Duration| phases.iter().map(f).sum::<Duration>() / n;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("create_start_avatar phases, mean of {n} runs, from create_token (ms):");
    println!(
        "  create_token + streaming.new answered: {:.2}",
        ms(mean(&|p| p.0))
    );
    println!(
        "  streaming.start answered:              {:.2}",
        ms(mean(&|p| p.0 + p.1.started))
    );
    let join = |f: &dyn Fn(&StartPhases) -> Duration| ms(mean(&|p| p.0 + p.1.started + f(p)));
    println!(
        "  signalling socket open:                {:.2}",
        join(&|p| p.1.join.socket_open)
    );
    println!(
        "  JoinResponse:                          {:.2}",
        join(&|p| p.1.join.joined)
    );
    println!(
        "  subscriber offer:                      {:.2}",
        join(&|p| p.1.join.offer)
    );
    println!(
        "  answer sent (candidates inline):       {:.2}",
        join(&|p| p.1.join.answered)
    );
    println!(
        "  peer connected (ICE + DTLS):           {:.2}",
        join(&|p| p.1.join.connected)
    );
    println!(
        "  chat socket open:                      {:.2}",
        ms(mean(&|p| p.0 + p.1.socket))
    );
    println!(
        "  STREAM_READY:                          {:.2}",
        ms(mean(&|p| p.2))
    );
    println!(
        "  first decoded frame:                   {:.2}",
        ms(mean(&|p| p.3))
    );
}

criterion_group!(benches, latency);
criterion_main!(benches);
