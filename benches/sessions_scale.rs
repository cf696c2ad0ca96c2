//! CPU and memory per added media session, at 50, 200 and 500 concurrent talking sessions.
//!
//! Sessions are low quality (640x360 H264 + Opus) and kept talking. Each is joined by an
//! in-process Rust SDK session (the room only: no chat socket). The server runs on a runtime of
//! its own whose threads are named `srv`, the clients on threads named `viewer`, so the CPU of
//! each side is read apart from
//! `/proc/self/task/*/stat`; memory is the whole process (an upper bound for the server). The
//! viewers' audio packets, against the 50 per second each session should send, show whether
//! the server kept real time. The baseline is the same process with no session, measured in the
//! same run. Bounded: at most 500 sessions, 5 s per measurement, then it stops.
//!
//! Run: `cargo bench -p understudy-benches --bench sessions_scale`

use std::time::{Duration, Instant};
use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
use streaming_avatar::{Session, SessionOptions, SpeakRequest};
use understudy_benches::{rss_mib, sdk_client};
use understudy_server::{MockServer, ServerConfig};

/// The measuring window and the session counts; `cargo test --benches` runs one small step.
fn plan() -> (Duration, &'static [usize]) {
    if understudy_benches::measuring() {
        (Duration::from_secs(5), &[50, 200, 500])
    } else {
        (Duration::from_secs(1), &[5])
    }
}
/// Opus packets per second per session (20 ms each).
const AUDIO_PACKETS_PER_SECOND: f64 = 50.0;
const JOIN_BATCH: usize = 20;

/// User + system CPU seconds of this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0.0;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        for index in [11, 12] {
            ticks += fields
                .get(index)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    ticks / 100.0
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    /// Fractions of one core over the window.
    server_cpu: f64,
    viewer_cpu: f64,
    rss: f64,
    /// Audio packets the viewers received over the window, against what was due.
    delivered: f64,
}

/// Usage over the plan's window with `viewers` watching.
async fn measure(viewers: &[Session]) -> Usage {
    let packets = || -> u64 { viewers.iter().map(|v| v.packets_received().1).sum() };
    let (server0, viewer0, packets0) = (thread_cpu("srv"), thread_cpu("viewer"), packets());
    let started = Instant::now();
    tokio::time::sleep(plan().0).await;
    let seconds = started.elapsed().as_secs_f64();
    let due = AUDIO_PACKETS_PER_SECOND * seconds * viewers.len() as f64;
    Usage {
        server_cpu: (thread_cpu("srv") - server0) / seconds,
        viewer_cpu: (thread_cpu("viewer") - viewer0) / seconds,
        rss: rss_mib(),
        delivered: if due > 0.0 {
            (packets() - packets0) as f64 / due
        } else {
            1.0
        },
    }
}

async fn talking_session(base: &str) -> Session {
    let avatar = sdk_client(base).await;
    let request = NewSessionRequest {
        quality: Some(Quality::Low),
        disable_idle_timeout: Some(true),
        ..Default::default()
    };
    let session = avatar
        .create_start_avatar_with(&request, SessionOptions::default().chat_socket(None))
        .await
        .expect("session");
    // Ten minutes of speech at 150 wpm keeps the avatar talking through every window.
    let words = vec!["talking"; 1500].join(" ");
    session
        .speak(&SpeakRequest::repeat(words))
        .await
        .expect("speak");
    session
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("srv")
        .enable_all()
        .build()
        .expect("server runtime");
    let viewer_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("viewer")
        .enable_all()
        .build()
        .expect("viewer runtime");
    let config = ServerConfig {
        concurrency_limit: 0,
        session_duration_limit: Duration::from_secs(3600),
        ..Default::default()
    };
    let server = server_runtime
        .block_on(MockServer::builder().config(config).start())
        .expect("mock");
    let base = server.uri();
    viewer_runtime.block_on(async {
        // Let the shared media finish encoding before the baseline.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let baseline = measure(&[]).await;
        println!(
            "baseline (no session): server {:.1}% of a core, viewers {:.1}%, rss {:.1} MiB",
            baseline.server_cpu * 100.0,
            baseline.viewer_cpu * 100.0,
            baseline.rss
        );
        let mut viewers = Vec::new();
        for &target in plan().1 {
            while viewers.len() < target {
                let batch = JOIN_BATCH.min(target - viewers.len());
                let joins: Vec<_> = (0..batch).map(|_| talking_session(&base)).collect();
                viewers.extend(futures_util::future::join_all(joins).await);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let usage = measure(&viewers).await;
            let n = viewers.len() as f64;
            println!(
                "{target} talking sessions: server {:.1}% of a core ({:.3}% per session), viewers {:.1}%, rss {:.1} MiB ({:.2} MiB per session over baseline, viewers included), audio delivered {:.1}% of due",
                usage.server_cpu * 100.0,
                (usage.server_cpu - baseline.server_cpu) * 100.0 / n,
                usage.viewer_cpu * 100.0,
                usage.rss,
                (usage.rss - baseline.rss) / n,
                usage.delivered * 100.0
            );
        }
        drop(viewers);
    });
    server_runtime.block_on(server.shutdown());
}
