//! What a fresh mock costs before it is useful, each beside a baseline from the same run:
//! - `start_to_ready`: `MockServer::start` until a `create_token` is answered, against a bare
//!   axum server with one route, started and answered the same way. A CI job or a test fixture
//!   pays this for every mock it starts.
//! - `first_frame`: the Rust SDK's `new_session` and `start` until the first video frame arrives,
//!   with the session's loops (a) already in memory (the baseline: a server that has served
//!   this quality before), (b) in the disk cache of a previous process, (c) nowhere, so the
//!   encoder runs (started by `streaming.new`, while the client joins).
//!
//! Run: `cargo bench -p understudy-benches --bench startup` (20 rounds of each; the test
//! command's `cargo test --benches` runs one). Prints medians and ratios; no criterion, because
//! a cold start only happens once per cache directory.

use axum::Router;
use axum::routing::get;
use std::path::{Path, PathBuf};
use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{SessionOptions, StreamingAvatar};
use tokio::time::Instant;
use understudy_benches::{KEY, http_client, measuring, sdk_client};
use understudy_server::{MockServer, ServerConfig};

/// Longest wait for the first frame (a cold encode of one quality takes about a second).
const WAIT: Duration = Duration::from_secs(30);

fn rounds() -> usize {
    if measuring() { 20 } else { 1 }
}

/// A bare axum server on loopback: started, one request answered, stopped.
async fn bare_axum_start(client: &reqwest::Client) -> Duration {
    let began = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route("/", get(|| async { "ok" }));
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let serving = tokio::spawn({
        let stop = stop.clone();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
                .expect("serve")
        }
    });
    let answer = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("answer");
    assert!(answer.status().is_success());
    let took = began.elapsed();
    stop.notify_one();
    serving.await.expect("stopped");
    took
}

/// The mock: started, one `create_token` answered, shut down.
async fn mock_start(client: &reqwest::Client) -> Duration {
    let began = Instant::now();
    let server = MockServer::builder().start().await.expect("mock");
    let answer = client
        .post(format!("{}/v1/streaming.create_token", server.uri()))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("answer");
    assert!(answer.status().is_success());
    let took = began.elapsed();
    server.shutdown().await;
    took
}

/// A mock whose media cache is `cache`; `new_session` + `start` until the first video frame.
async fn first_frame(cache: &Path) -> Duration {
    let config = ServerConfig {
        media_cache: Some(cache.to_path_buf()),
        ..ServerConfig::default()
    };
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("mock");
    let avatar: StreamingAvatar = sdk_client(&server.uri()).await;
    let began = Instant::now();
    let mut session = avatar
        .new_session_with(
            &NewSessionRequest::default(),
            SessionOptions::default().chat_socket(None),
        )
        .await
        .expect("new");
    // Subscribed before `start`, so the first frame cannot slip past.
    let mut video = session.video();
    session.start().await.expect("start");
    let frame = tokio::time::timeout(WAIT, video.next())
        .await
        .expect("a frame in time")
        .expect("a video stream")
        .expect("no frame lost");
    let took = frame.received_at.duration_since(began);
    session.stop().await.expect("stop");
    server.shutdown().await;
    took
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("cache dir");
    for entry in std::fs::read_dir(from).expect("cache dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn line(name: &str, samples: Vec<Duration>, baseline: Duration) -> Duration {
    let n = samples.len();
    let m = median(samples);
    println!(
        "{name:<44} n={n:<3} median {:>9.2} ms   {:>7.2}x",
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() / baseline.as_secs_f64()
    );
    m
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = http_client();
    let root: PathBuf =
        std::env::temp_dir().join(format!("understudy-startup-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    runtime.block_on(async {
        // Each kind alternates with the others, so drift in the machine hits all alike.
        let (mut bare, mut mock) = (Vec::new(), Vec::new());
        for _ in 0..rounds() {
            bare.push(bare_axum_start(&client).await);
            mock.push(mock_start(&client).await);
        }

        // The first cold start fills `warm`, whose library then stays in memory.
        let warm = root.join("warm");
        let first_cold = first_frame(&warm).await;
        let (mut memory, mut disk, mut cold) = (Vec::new(), Vec::new(), vec![first_cold]);
        for round in 0..rounds() {
            memory.push(first_frame(&warm).await);
            let copied = root.join(format!("disk-{round}"));
            copy_dir(&warm, &copied);
            disk.push(first_frame(&copied).await);
            if round + 1 < rounds() {
                cold.push(first_frame(&root.join(format!("cold-{round}"))).await);
            }
        }

        println!("start to ready (ratio to a bare axum server)");
        let baseline = median(bare.clone());
        line("bare axum server, one route (baseline)", bare, baseline);
        line("MockServer::start to create_token answered", mock, baseline);
        println!("new_session + start to first video frame (ratio to loops in memory)");
        let baseline = median(memory.clone());
        line("loops in memory (baseline)", memory, baseline);
        line("loops in the disk cache", disk, baseline);
        line("loops encoded (cold)", cold, baseline);
    });
    let _ = std::fs::remove_dir_all(&root);
}
