//! The memory one idle session holds in the mock: sessions made over REST the way an app's
//! server makes them (`create_token`, then `streaming.new` and `streaming.start` with the
//! minted token), through the router in process, and the allocator's live bytes counted before
//! and after. The allocator's count, not the resident set: RSS moves in pages, keeps what was
//! freed, and would charge the sessions for the media encoded for the first one.
//!
//! What one session holds: its state, its minted token's record, its watchdog task. The
//! journal is off here (it is bounded at 10,000 requests and shared by every session);
//! `understudy bench --rest-only` reports the process's RSS with it on.
//!
//! Run: `cargo bench -p understudy-benches --bench idle_session_memory`

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::time::Duration;
use tower::ServiceExt;
use understudy_server::{MockServer, ServerConfig};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The figure the README holds the mock to.
const TARGET_BYTES: f64 = 4096.0;

async fn call(router: &axum::Router, path: &str, auth: (&str, String), body: Value) -> Value {
    let request = Request::post(path)
        .header(auth.0, auth.1)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

/// One REST-only session, as `understudy bench --rest-only` makes it.
async fn idle_session(router: &axum::Router) {
    let token = call(
        router,
        "/v1/streaming.create_token",
        ("x-api-key", "bench".into()),
        json!({}),
    )
    .await["data"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let bearer = ("authorization", format!("Bearer {token}"));
    let new = call(
        router,
        "/v1/streaming.new",
        bearer.clone(),
        json!({"version": "v2", "quality": "low"}),
    )
    .await;
    let id = new["data"]["session_id"].as_str().expect("session id");
    call(
        router,
        "/v1/streaming.start",
        bearer,
        json!({"session_id": id}),
    )
    .await;
}

/// Live bytes now.
fn live() -> i128 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i128 - stats.bytes_deallocated as i128
}

fn main() {
    let sessions = if understudy_benches::measuring() {
        10_000
    } else {
        200
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = ServerConfig {
            concurrency_limit: 0,
            journal_capacity: 0,
            ..ServerConfig::default()
        };
        let server = MockServer::builder()
            .config(config)
            .start()
            .await
            .expect("mock starts");
        let router = understudy_server::app(server.state().clone());
        // The first session encodes the media in the background: wait until the live bytes
        // settle, so what follows counts only what every session costs.
        idle_session(&router).await;
        let mut last = live();
        for _ in 0..120 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = live();
            if (now - last).abs() < 4096 {
                break;
            }
            last = now;
        }
        let region = Region::new(GLOBAL);
        for _ in 0..sessions {
            idle_session(&router).await;
        }
        let change = region.change();
        let net = change.bytes_allocated as f64 - change.bytes_deallocated as f64;
        let per_session = net / sessions as f64;
        println!(
            "idle_session_memory: {per_session:.0} bytes per idle REST session ({sessions} sessions, journal off); target {TARGET_BYTES:.0}, ratio {:.2}",
            per_session / TARGET_BYTES
        );
        server.shutdown().await;
    });
}
