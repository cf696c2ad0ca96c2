//! CPU and memory per added media session, at 50 and 200 concurrent talking sessions.
//!
//! Sessions are low quality (640x360 H264 + Opus) and kept talking. Each is watched by an
//! in-process webrtc-rs viewer, so the figures include the viewer's receive cost: an upper
//! bound for the server alone. The baseline is the same process with no session, measured in
//! the same run. Bounded: at most 200 sessions, 5 s per measurement, then it stops.
//!
//! Run: `cargo bench -p understudy-benches --bench sessions_scale`

use serde_json::json;
use std::time::{Duration, Instant};
use understudy_benches::http_client;
use understudy_e2e::livekit_viewer::Viewer;
use understudy_server::{MockServer, ServerConfig};

const WINDOW: Duration = Duration::from_secs(5);
const STEPS: [usize; 2] = [50, 200];
const JOIN_BATCH: usize = 20;

/// `(user + system CPU seconds, resident MiB)` of this process, from /proc.
fn usage() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, rss_kib / 1024.0)
}

/// CPU used during `WINDOW`, as a fraction of one core, and the RSS at its end.
async fn measure() -> (f64, f64) {
    let (cpu0, _) = usage();
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let (cpu1, rss) = usage();
    ((cpu1 - cpu0) / started.elapsed().as_secs_f64(), rss)
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
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = ServerConfig { concurrency_limit: 0, session_duration_limit: Duration::from_secs(3600), ..Default::default() };
        let server = MockServer::builder().config(config).start().await.expect("mock");
        let base = server.uri();
        let client = http_client();
        // Let the shared media finish encoding before the baseline.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (base_cpu, base_rss) = measure().await;
        println!("baseline (no session): cpu {:.1}% of a core, rss {base_rss:.1} MiB", base_cpu * 100.0);

        let mut viewers = Vec::new();
        for target in STEPS {
            while viewers.len() < target {
                let batch = JOIN_BATCH.min(target - viewers.len());
                let joins: Vec<_> = (0..batch).map(|_| talking_session(&client, &base)).collect();
                viewers.extend(futures_util::future::join_all(joins).await);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (cpu, rss) = measure().await;
            let n = viewers.len() as f64;
            println!(
                "{target} talking sessions: cpu {:.1}% of a core ({:.2}% per session), rss {rss:.1} MiB ({:.2} MiB per session over baseline)",
                cpu * 100.0,
                (cpu - base_cpu) * 100.0 / n,
                (rss - base_rss) / n
            );
        }
        drop(viewers);
        server.shutdown().await;
    });
}
