//! The hot REST path: `streaming.task` on a connected session, in process (router `oneshot`)
//! and over loopback HTTP. Each is paired with a baseline measured in the same run (the health
//! route through the same layers) so figures can be read as ratios on a noisy machine.
//!
//! Tasks queue (§3.5), so every 256th iteration also interrupts to keep the queue short, as a
//! real client's speech would drain it.
//!
//! Run: `cargo bench -p understudy-benches --bench rest_task`

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;
use understudy_benches::{KEY, health, interrupt_body, post, server_with_session, task_body};

const INTERRUPT_EVERY: u64 = 256;

fn in_process(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (server, id) = runtime.block_on(server_with_session());
    let router = understudy_server::app(server.state().clone());
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("in_process");
    group.bench_function("baseline_health", |b| {
        b.to_async(&runtime)
            .iter(|| async { router.clone().oneshot(health()).await.expect("health") })
    });
    group.bench_function("streaming_task", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = router
                .clone()
                .oneshot(post("/v1/streaming.task", task_body(&id)))
                .await
                .expect("task");
            assert!(response.status().is_success());
            if counter
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(INTERRUPT_EVERY)
            {
                router
                    .clone()
                    .oneshot(post("/v1/streaming.interrupt", interrupt_body(&id)))
                    .await
                    .expect("interrupt");
            }
            response
        })
    });
    group.finish();
    server.state().journal().clear();
}

fn over_loopback(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (server, id) = runtime.block_on(server_with_session());
    let client = understudy_benches::http_client();
    let base = server.uri();
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("loopback");
    group.bench_function("baseline_health", |b| {
        b.to_async(&runtime).iter(|| async {
            client
                .get(format!("{base}/__understudy/health"))
                .send()
                .await
                .expect("health")
                .bytes()
                .await
                .expect("body")
        })
    });
    group.bench_function("streaming_task", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = client
                .post(format!("{base}/v1/streaming.task"))
                .header("x-api-key", KEY)
                .body(task_body(&id))
                .send()
                .await
                .expect("task");
            assert!(response.status().is_success());
            if counter
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(INTERRUPT_EVERY)
            {
                client
                    .post(format!("{base}/v1/streaming.interrupt"))
                    .header("x-api-key", KEY)
                    .body(interrupt_body(&id))
                    .send()
                    .await
                    .expect("interrupt");
            }
            response.bytes().await.expect("body")
        })
    });
    group.finish();
}

criterion_group!(benches, in_process, over_loopback);
criterion_main!(benches);
