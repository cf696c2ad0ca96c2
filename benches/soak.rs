//! The soak: many sessions for a long time, each speaking every 2 s through the Rust SDK (over
//! HTTP and the chat socket in turn), some also holding a voice conversation. It checks what a
//! mock run for hours must not do:
//! - lose, duplicate or misorder an event: every session's stream has no gap in its sequence
//!   numbers, every task spoken gets exactly one `avatar_start_talking` and one
//!   `avatar_stop_talking`, in that order, with its talking messages between them;
//! - leak: the process's RSS after warm-up grows by at most 5% by the end (15% for the short
//!   run of the test command);
//! - leave tasks behind: once every session has stopped, the server runs as many tasks as before.
//!
//! `cargo bench -p understudy-benches --bench soak` runs 100 sessions for 10 minutes
//! (`SOAK_SESSIONS`, `SOAK_SECONDS` override); the test command's `cargo test --benches` runs 20
//! sessions for 30 s. Bounded either way: it stops by itself and fails loudly.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
use streaming_avatar::voice::PcmChunk;
use streaming_avatar::{
    Event, PcmSource, Session, SessionOptions, SpeakPath, SpeakRequest, StreamingEvent,
};
use tokio::time::Instant;
use understudy_benches::{rss_mib, sdk_client};
use understudy_server::{MockServer, ServerConfig};

/// Between one session's utterances.
const SPEAK_EVERY: Duration = Duration::from_secs(2);
/// Every this many sessions, one also talks by voice.
const VOICE_EVERY: usize = 5;
/// The allowed RSS growth after warm-up: 5% for the measured soak; the test command's 30 s run
/// allows 15%, since a short run's allocator noise is a larger share of it.
fn max_rss_drift() -> f64 {
    if understudy_benches::measuring() {
        0.05
    } else {
        0.15
    }
}

fn plan() -> (usize, Duration) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let (sessions, seconds) = if understudy_benches::measuring() {
        (100, 600)
    } else {
        (20, 30)
    };
    (
        env("SOAK_SESSIONS").map_or(sessions, |n| n as usize),
        Duration::from_secs(env("SOAK_SECONDS").unwrap_or(seconds)),
    )
}

/// A task's text went out (or nothing yet).
const TEXT_SENT: u8 = 0;
/// It started talking.
const TALKING: u8 = 1;
/// It stopped talking.
const STOPPED: u8 = 2;

/// What one session saw, checked as it arrives.
#[derive(Debug, Default)]
struct Ledger {
    /// The last sequence number seen (the stream starts wherever the session's count was).
    last_seq: Option<u64>,
    /// Per task: `TEXT_SENT`, `TALKING` or `STOPPED`.
    tasks: HashMap<String, u8>,
    /// Task ids HTTP answered with, which must all be narrated.
    spoken_over_http: Vec<String>,
    events: u64,
    speaks: u64,
    problems: Vec<String>,
}

impl Ledger {
    fn see(&mut self, event: &Event) {
        self.events += 1;
        if let Some(last) = self.last_seq {
            if event.seq != last + 1 {
                self.problems
                    .push(format!("sequence jumped from {last} to {}", event.seq));
            }
        }
        self.last_seq = Some(event.seq);
        match &event.event {
            StreamingEvent::AvatarStartTalking { task_id } => {
                let phase = self.tasks.entry(task_id.clone()).or_insert(TEXT_SENT);
                if *phase != TEXT_SENT {
                    self.problems.push(format!("{task_id} started twice"));
                }
                *phase = TALKING;
            }
            // The text goes before the speech (the observed timeline) or during it
            // (progressive), never after it.
            StreamingEvent::AvatarTalkingMessage { task_id, .. }
                if *self.tasks.entry(task_id.clone()).or_insert(TEXT_SENT) == STOPPED =>
            {
                self.problems
                    .push(format!("{task_id}: a message after its talking"));
            }
            StreamingEvent::AvatarEndMessage { task_id }
                if self.tasks.get(task_id) != Some(&TALKING) =>
            {
                self.problems
                    .push(format!("{task_id}: an end message outside its talking"));
            }
            StreamingEvent::AvatarStopTalking { task_id, .. } => {
                match self.tasks.get_mut(task_id) {
                    Some(phase) if *phase == TALKING => *phase = STOPPED,
                    _ => self
                        .problems
                        .push(format!("{task_id} stopped without starting, or twice")),
                }
            }
            StreamingEvent::StreamDisconnected { reason } => {
                self.problems
                    .push(format!("the room ended early: {reason}"));
            }
            _ => {}
        }
    }

    /// At the end: every task that started also stopped, every HTTP task was narrated.
    fn finish(&mut self) {
        for (task, phase) in &self.tasks {
            if *phase == TALKING {
                self.problems.push(format!("{task} never stopped"));
            }
        }
        for task in &self.spoken_over_http {
            if self.tasks.get(task) != Some(&STOPPED) {
                self.problems
                    .push(format!("{task} was answered but never narrated"));
            }
        }
    }
}

async fn start_session(base: &str, index: usize) -> Session {
    let avatar = sdk_client(base).await;
    let request = NewSessionRequest {
        quality: Some(Quality::Low),
        disable_idle_timeout: Some(true),
        ..Default::default()
    };
    let mut session = avatar
        .create_start_avatar_with(&request, SessionOptions::default())
        .await
        .unwrap_or_else(|e| panic!("session {index} starts: {e}"));
    if index.is_multiple_of(VOICE_EVERY) {
        let (sender, source) = PcmSource::channel();
        session
            .start_voice_chat(source, false)
            .await
            .expect("voice chat");
        // A spoken sentence every 6 s: a user turn the avatar answers.
        tokio::spawn(async move {
            let sentence = understudy_benches::speech(1_400, 16_000);
            loop {
                tokio::time::sleep(Duration::from_secs(6)).await;
                let chunk = PcmChunk {
                    samples: sentence.clone(),
                    sample_rate: 16_000,
                    channels: 1,
                };
                if sender.send(chunk).await.is_err() {
                    return;
                }
            }
        });
    }
    session
}

/// Speaks every [`SPEAK_EVERY`] until `until`, alternating HTTP and the chat socket, while
/// checking the events; then stops the session and returns what it saw.
async fn run_session(session: Session, until: Instant, phase: Duration) -> Ledger {
    let mut session = session;
    let mut events = session.events();
    let mut ledger = Ledger::default();
    let mut tick = tokio::time::interval_at(Instant::now() + phase, SPEAK_EVERY);
    let mut turn = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if Instant::now() >= until {
                    break;
                }
                turn += 1;
                ledger.speaks += 1;
                let path = if turn.is_multiple_of(2) { SpeakPath::ChatSocket } else { SpeakPath::Http };
                let request = match path {
                    SpeakPath::Http => SpeakRequest::repeat("soak test, turn after turn"),
                    _ => SpeakRequest::talk("how is it going"),
                };
                match session.speak_via(path, &request).await {
                    Ok(Some(task)) => ledger.spoken_over_http.push(task.task_id),
                    Ok(None) => {}
                    Err(e) => ledger.problems.push(format!("speak failed: {e}")),
                }
            }
            next = events.next() => match next {
                Some(Ok(event)) => ledger.see(&event),
                Some(Err(lagged)) => ledger.problems.push(format!("lost events: {lagged}")),
                None => break,
            },
        }
    }
    // Let the last utterance finish, then account for everything that arrived.
    let drain_until = Instant::now() + Duration::from_secs(5);
    while ledger.tasks.values().any(|p| *p != 2)
        || ledger
            .spoken_over_http
            .iter()
            .any(|t| ledger.tasks.get(t) != Some(&2))
    {
        match tokio::time::timeout_at(drain_until, events.next()).await {
            Ok(Some(Ok(event))) => ledger.see(&event),
            Ok(Some(Err(lagged))) => ledger.problems.push(format!("lost events: {lagged}")),
            _ => break,
        }
    }
    session.close_voice_chat().await;
    if let Err(e) = session.stop().await {
        ledger.problems.push(format!("stop failed: {e}"));
    }
    ledger.finish();
    ledger
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (sessions, duration) = plan();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let config = ServerConfig {
            concurrency_limit: 0,
            session_duration_limit: duration + Duration::from_secs(120),
            words_per_minute: 600.0,
            // A user's turn would cut the avatar and drop its queue, which is speech, not
            // event delivery; the soak checks delivery.
            barge_in: false,
            // The journal is bounded (10,000 entries by default, a few KiB each); a small one is
            // full before the warm-up ends, so the drift measures leaks, not a log filling up.
            journal_capacity: 1_000,
            ..Default::default()
        };
        let server = MockServer::builder().config(config).start().await.expect("mock");
        let base = server.uri();
        // The encoded media is shared by every server in the process; let it finish first.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let baseline_tasks = server.state().running_tasks();

        let started = Instant::now();
        let mut all = Vec::new();
        for chunk in (0..sessions).collect::<Vec<_>>().chunks(10) {
            let joins = chunk.iter().map(|&i| start_session(&base, i));
            all.extend(futures_util::future::join_all(joins).await);
        }
        let until = Instant::now() + duration;
        let warm_rss = Arc::new(AtomicU64::new(0));
        let sampler = {
            let warm_rss = Arc::clone(&warm_rss);
            tokio::spawn(async move {
                // Warm-up: a fifth of the run, at least 10 s.
                tokio::time::sleep((duration / 5).max(Duration::from_secs(10)).min(duration)).await;
                warm_rss.store(rss_mib().to_bits(), Ordering::Relaxed);
            })
        };
        let count = all.len() as u32;
        let runs = all.into_iter().enumerate().map(|(i, session)| {
            let phase = SPEAK_EVERY * i as u32 / count.max(1);
            tokio::spawn(run_session(session, until, phase))
        });
        let ledgers: Vec<Ledger> = futures_util::future::join_all(runs)
            .await
            .into_iter()
            .map(|r| r.expect("a session task"))
            .collect();
        let end_rss = rss_mib();
        let _ = sampler.await;
        let warm = f64::from_bits(warm_rss.load(Ordering::Relaxed));

        // Every session stopped: the server's tasks go back to what they were.
        let settle_until = Instant::now() + Duration::from_secs(10);
        while server.state().running_tasks() > baseline_tasks && Instant::now() < settle_until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tasks_left = server.state().running_tasks();

        let speaks: u64 = ledgers.iter().map(|l| l.speaks).sum();
        let events: u64 = ledgers.iter().map(|l| l.events).sum();
        let tasks: usize = ledgers.iter().map(|l| l.tasks.len()).sum();
        let problems: Vec<String> = ledgers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.problems.iter().map(move |p| format!("session {i}: {p}")))
            .collect();
        let drift = if warm > 0.0 { (end_rss - warm) / warm } else { 0.0 };
        println!(
            "soak: {sessions} sessions for {:?} ({} with voice): {speaks} speaks, {tasks} tasks narrated, {events} events checked, {} problems",
            started.elapsed(),
            sessions.div_ceil(VOICE_EVERY),
            problems.len()
        );
        println!(
            "soak: rss {warm:.1} MiB after warm-up, {end_rss:.1} MiB at the end (drift {:+.2}%); server tasks {baseline_tasks} before, {tasks_left} after",
            drift * 100.0
        );
        for problem in problems.iter().take(20) {
            println!("  {problem}");
        }
        server.shutdown().await;
        assert!(problems.is_empty(), "the soak found {} problems", problems.len());
        assert!(
            drift <= max_rss_drift(),
            "RSS grew {:.2}% after warm-up (limit {:.0}%)",
            drift * 100.0,
            max_rss_drift() * 100.0
        );
        assert_eq!(tasks_left, baseline_tasks, "tasks left behind");
        assert!(tasks > 0 && events > 0, "the soak did nothing");
    });
}
