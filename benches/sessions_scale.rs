//! CPU and memory per added media session, at 50, 200 and 500 concurrent talking sessions.
//!
//! Sessions are low quality (640x360 H264 + Opus) and kept talking. Each is watched by an
//! in-process webrtc-rs viewer. The server runs on a runtime of its own whose threads are named
//! `srv`, the viewers on threads named `viewer`, so the CPU of each side is read apart from
//! `/proc/self/task/*/stat`; memory is the whole process (an upper bound for the server). The
//! viewers' audio packets, against the 50 per second each session should send, show whether
//! the server kept real time. The baseline is the same process with no session, measured in the
//! same run. Bounded: at most 500 sessions, 5 s per measurement, then it stops.
//!
//! Run: `cargo bench -p understudy-benches --bench sessions_scale`

use serde_json::json;
use std::time::{Duration, Instant};
use understudy_benches::http_client;
use understudy_e2e::livekit_viewer::Viewer;
use understudy_server::{MockServer, ServerConfig};

const WINDOW: Duration = Duration::from_secs(5);
const STEPS: [usize; 3] = [50, 200, 500];
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

/// Resident MiB of this process.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
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

/// Usage over [`WINDOW`] with `viewers` watching.
async fn measure(viewers: &[Viewer]) -> Usage {
    let packets = || -> u64 {
        viewers
            .iter()
            .map(|v| {
                v.media
                    .audio_packets
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    };
    let (server0, viewer0, packets0) = (thread_cpu("srv"), thread_cpu("viewer"), packets());
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
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

async fn talking_session(client: &reqwest::Client, base: &str) -> Viewer {
    let post = |path: &str, auth: (String, String), body: serde_json::Value| {
        let request = client
            .post(format!("{base}{path}"))
            .header(auth.0, auth.1)
            .json(&body);
        async move {
            request
                .send()
                .await
                .expect("request")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let token = post(
        "/v1/streaming.create_token",
        ("x-api-key".into(), "scale".into()),
        json!({}),
    )
    .await;
    let bearer = (
        "authorization".to_owned(),
        format!("Bearer {}", token["data"]["token"].as_str().expect("token")),
    );
    let new = post(
        "/v1/streaming.new",
        bearer.clone(),
        json!({"version": "v2", "quality": "low", "disable_idle_timeout": true}),
    )
    .await;
    let data = &new["data"];
    let id = data["session_id"].as_str().expect("id").to_owned();
    post(
        "/v1/streaming.start",
        bearer.clone(),
        json!({"session_id": id}),
    )
    .await;
    let viewer = Viewer::join(
        data["url"].as_str().expect("url"),
        data["access_token"].as_str().expect("jwt"),
    )
    .await;
    // Ten minutes of speech at 150 wpm keeps the avatar talking through every window.
    let words = vec!["talking"; 1500].join(" ");
    post(
        "/v1/streaming.task",
        bearer,
        json!({"session_id": id, "text": words, "task_mode": "async", "task_type": "repeat"}),
    )
    .await;
    viewer
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
        let client = http_client();
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
        for target in STEPS {
            while viewers.len() < target {
                let batch = JOIN_BATCH.min(target - viewers.len());
                let joins: Vec<_> = (0..batch).map(|_| talking_session(&client, &base)).collect();
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
