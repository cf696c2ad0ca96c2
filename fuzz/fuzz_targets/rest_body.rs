//! Any body on any REST endpoint, through the whole router in process: the answer is never a
//! 500 and always a HeyGen-shaped JSON body. The first byte picks the endpoint and credential.
#![no_main]

use axum::body::Body;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tower::ServiceExt;
use understudy_server::{ServerConfig, app};

const ENDPOINTS: [&str; 12] = [
    "/v1/streaming.create_token",
    "/v1/streaming.new",
    "/v1/streaming.start",
    "/v1/streaming.ice",
    "/v1/streaming.task",
    "/v1/streaming.interrupt",
    "/v1/streaming.start_listening",
    "/v1/streaming.stop_listening",
    "/v1/streaming.keep_alive",
    "/v1/streaming.stop",
    "/v1/streaming/knowledge_base/create",
    "/v1/streaming/knowledge_base/kb-1",
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        let config = ServerConfig {
            concurrency_limit: 0,
            connect_on_start: true,
            ..ServerConfig::default()
        };
        let router = runtime.block_on(async { app(understudy_server::fuzzing::state(config)) });
        Harness { runtime, router }
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    let path = ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    let harness = harness();
    let mut request = axum::http::Request::post(path).header("content-type", "application/json");
    if selector & 0x80 == 0 {
        request = request.header("x-api-key", "fuzz");
    }
    let request = request.body(Body::from(body.to_vec())).expect("request");
    let (status, bytes) = harness.runtime.block_on(async {
        let response = harness
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, bytes)
    });
    assert_ne!(status, 500, "{path}: {}", String::from_utf8_lossy(&bytes));
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON answer");
    assert!(value.is_object(), "{value}");
});
