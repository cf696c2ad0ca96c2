//! What the conformance runner adds to each step, against the bare Rust SDK call it wraps,
//! both measured in this run against one embedded mock:
//! - a REST step: `keep_alive` as a scenario step (variables expanded, reply parsed, checked
//!   and put on the timeline) against `Session::keep_alive`;
//! - an event step: `speak` then `wait_event avatar_start_talking` against `Session::speak`
//!   then `EventStream::wait_for`, timed from the speak's start to the event's arrival.
//!
//! Run: `cargo bench -p understudy-benches --bench conformance_overhead` (500 of each); the test
//! command's `cargo test --benches` runs 10.

use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{SessionOptions, SpeakRequest, StreamingEvent};
use understudy_benches::{measuring, sdk_client};
use understudy_conformance::runner::StepOutcome;
use understudy_conformance::{Target, load, run};
use understudy_server::{MockServer, ServerConfig};

fn rounds() -> usize {
    if measuring() { 500 } else { 10 }
}

fn mean_ms(samples: &[f64]) -> f64 {
    samples.iter().sum::<f64>() / samples.len().max(1) as f64
}

/// A scenario of `n` keep-alives and `n` speak + wait pairs, on a session joined through the
/// SDK (connected, so every call is answered).
fn scenario(n: usize) -> String {
    let mut yaml = String::from(
        "name: overhead\nsteps:\n  - create_token: {}\n  - new: { body: { version: v2, quality: low } }\n  - start: { chat_socket: false }\n",
    );
    for _ in 0..n {
        yaml.push_str("  - keep_alive: {}\n");
    }
    for i in 0..n {
        yaml.push_str(&format!(
            "  - speak: {{ id: s{i}, text: hi, capture: {{ t{i}: data.task_id }} }}\n  - wait_event: {{ event: avatar_start_talking, where: {{ task_id: \"${{t{i}}}\" }}, after: s{i}, within_ms: 5000 }}\n  - interrupt: {{}}\n"
        ));
    }
    yaml.push_str("  - stop: {}\n");
    yaml
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = ServerConfig {
            concurrency_limit: 0,
            ..ServerConfig::default()
        };
        let server = MockServer::builder()
            .config(config)
            .start()
            .await
            .expect("mock");
        let n = rounds();

        // The bare SDK.
        let avatar = sdk_client(&server.uri()).await;
        let mut session = avatar
            .create_start_avatar_with(
                &NewSessionRequest {
                    version: Some("v2".into()),
                    ..NewSessionRequest::default()
                },
                SessionOptions::default().chat_socket(None),
            )
            .await
            .expect("session");
        let mut events = session.events();
        let (mut bare_rest, mut bare_event) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let began = tokio::time::Instant::now();
            session.keep_alive().await.expect("keep_alive");
            bare_rest.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        for _ in 0..n {
            let began = tokio::time::Instant::now();
            session
                .speak(&SpeakRequest::repeat("hi"))
                .await
                .expect("speak");
            let event = events
                .wait_for(Duration::from_secs(5), |e| {
                    matches!(e, StreamingEvent::AvatarStartTalking { .. })
                })
                .await
                .expect("start");
            bare_event.push(event.at.duration_since(began).as_secs_f64() * 1000.0);
            session.interrupt().await.expect("interrupt");
        }
        session.stop().await.expect("stop");

        // The runner.
        let scenario = load::parse("overhead.yaml", &scenario(n)).expect("scenario");
        let target = Target::new(server.uri(), "bench");
        let report = run(&scenario, "overhead.yaml", &target).await;
        assert!(
            report.passed,
            "{:?}",
            report
                .steps
                .iter()
                .find(|s| !matches!(s.outcome, StepOutcome::Passed))
        );
        let runner_rest: Vec<f64> = report
            .steps
            .iter()
            .filter(|s| s.kind == "keep_alive")
            .map(|s| s.took_ms)
            .collect();
        // Speak plus its wait: from the speak step's start to the end of the wait.
        let runner_event: Vec<f64> = report
            .steps
            .windows(2)
            .filter(|w| w[0].kind == "speak" && w[1].kind == "wait_event")
            .map(|w| w[1].started_ms + w[1].took_ms - w[0].started_ms)
            .collect();
        server.shutdown().await;

        println!("{n} of each, one embedded mock");
        let line = |name: &str, bare: &[f64], runner: &[f64]| {
            let (b, r) = (mean_ms(bare), mean_ms(runner));
            println!(
                "{name:<42} bare SDK {b:>7.3} ms   runner {r:>7.3} ms   {:.2}x (+{:.3} ms)",
                r / b,
                r - b
            );
        };
        line("REST step (keep_alive)", &bare_rest, &runner_rest);
        line(
            "speak + wait for avatar_start_talking",
            &bare_event,
            &runner_event,
        );
    });
}
