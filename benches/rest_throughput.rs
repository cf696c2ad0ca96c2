//! `streaming.task` under load, against wiremock-rs serving the same two routes with static
//! replies: the yardstick a team would otherwise reach for. Each of 16 keep-alive connections
//! alternates `streaming.task` (an async repeat) and `streaming.interrupt` on one connected
//! session, closed loop, as wrk would (`load.rs`); both servers run in this process beside the
//! generator, one after the other, with the same load.
//!
//! Reported: requests a second, latency percentiles, and how much the process's RSS grew while
//! each server was under load. wiremock-rs keeps every request it receives; the mock's journal
//! is bounded (10,000 entries by default), so its memory stops growing.
//!
//! Run: `cargo bench -p understudy-benches --bench rest_throughput` (10 s each); the test
//! command's `cargo test --benches` runs 1 s each.

use std::sync::Arc;
use std::time::Duration;
use understudy_benches::load::{self, LoadReport};
use understudy_benches::{KEY, interrupt_body, measuring, rss_mib, server_with_session, task_body};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const CONNECTIONS: usize = 16;

fn duration() -> Duration {
    Duration::from_secs(if measuring() { 10 } else { 1 })
}

fn requests(addr: std::net::SocketAddr, session_id: &str) -> Arc<Vec<Vec<u8>>> {
    let auth = [("x-api-key", KEY)];
    Arc::new(vec![
        load::post(addr, "/v1/streaming.task", &auth, &task_body(session_id)),
        load::post(
            addr,
            "/v1/streaming.interrupt",
            &auth,
            &interrupt_body(session_id),
        ),
    ])
}

struct Phase {
    name: &'static str,
    report: LoadReport,
    rss_before: f64,
    rss_after: f64,
}

async fn understudy() -> Phase {
    let (server, session_id) = server_with_session().await;
    let addr = server.http_addr().expect("http");
    let phase = measure(
        "understudy streaming.task + interrupt",
        addr,
        requests(addr, &session_id),
    )
    .await;
    server.shutdown().await;
    phase
}

/// A short warm-up (so both servers are measured hot), then the load, with the process's RSS
/// read on either side of it.
async fn measure(
    name: &'static str,
    addr: std::net::SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
) -> Phase {
    let warm_up = Duration::from_millis(200);
    load::run(addr, Arc::clone(&requests), CONNECTIONS, warm_up).await;
    let rss_before = rss_mib();
    let report = load::run(addr, requests, CONNECTIONS, duration()).await;
    let rss_after = rss_mib();
    Phase {
        name,
        report,
        rss_before,
        rss_after,
    }
}

async fn wiremock() -> Phase {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.task"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "code": 100,
            "data": {"duration_ms": 4000.0, "task_id": "0b9b7a2e-8f0e-11ef-8000-000000000001"},
            "message": "success"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/streaming.interrupt"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "code": 100, "data": null, "message": "success"
        })))
        .mount(&server)
        .await;
    let addr = *server.address();
    let requests = requests(addr, "0b9b7a2e-8f0e-11ef-8000-000000000000");
    let phase = measure("wiremock-rs static replies (baseline)", addr, requests).await;
    drop(server);
    phase
}

fn print(phase: &Phase, baseline: f64) {
    let r = &phase.report;
    println!(
        "{:<40} {:>9.0} req/s ({:.2}x)  p50 {:>4} us  p99 {:>5} us  max {:>6} us  RSS +{:.1} MiB",
        phase.name,
        r.per_second(),
        r.per_second() / baseline,
        r.latency.value_at_quantile(0.5),
        r.latency.value_at_quantile(0.99),
        r.latency.max(),
        phase.rss_after - phase.rss_before,
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // The mock first: memory wiremock-rs keeps would otherwise be reused by the mock's phase
    // and hide its growth.
    let ours = runtime.block_on(understudy());
    let theirs = runtime.block_on(wiremock());
    for phase in [&ours, &theirs] {
        assert_eq!(
            phase.report.failures, 0,
            "{}: every answer is a success",
            phase.name
        );
        assert!(phase.report.requests > 0, "{}: the load ran", phase.name);
    }
    println!("{CONNECTIONS} connections, {:?} each", duration());
    let baseline = theirs.report.per_second();
    print(&theirs, baseline);
    print(&ours, baseline);
}
