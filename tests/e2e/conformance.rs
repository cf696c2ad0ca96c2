//! The conformance runner against the mock: it passes what holds, and it can fail. A mock
//! started with other limits must fail exactly the scenarios that check them, with a diff that
//! names the field.

use std::time::Duration;
use understudy_conformance::runner::StepOutcome;
use understudy_conformance::{Target, load, run};
use understudy_server::{MockServer, ServerConfig};

async fn run_builtin(
    config: ServerConfig,
    files: &[&str],
) -> Vec<understudy_conformance::ScenarioReport> {
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("mock");
    let target = Target {
        base_url: server.uri(),
        api_key: "conformance-test".into(),
    };
    let corpus = load::builtin().expect("the corpus parses");
    let mut reports = Vec::new();
    for file in files {
        let loaded = corpus
            .iter()
            .find(|l| l.file.ends_with(file))
            .unwrap_or_else(|| panic!("{file} is in the corpus"));
        reports.push(run(&loaded.scenario, &loaded.file, &target).await);
    }
    server.shutdown().await;
    reports
}

fn failed_path(report: &understudy_conformance::ScenarioReport) -> Option<String> {
    report.steps.iter().find_map(|s| match &s.outcome {
        StepOutcome::Failed { mismatch, .. } => mismatch.as_ref().map(|m| m.path.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn scenarios_pass_against_the_mock_as_configured_by_default() {
    let reports = run_builtin(
        ServerConfig::default(),
        &[
            "recorded/new-v2-shape.yaml",
            "limits/concurrency.yaml",
            "errors/unknown-session.yaml",
        ],
    )
    .await;
    for report in &reports {
        assert!(report.passed, "{}: {:?}", report.name, report.steps);
    }
}

#[tokio::test]
async fn a_mock_that_behaves_otherwise_fails_the_scenarios_that_check_it() {
    let changed = ServerConfig {
        session_duration_limit: Duration::from_secs(300),
        concurrency_limit: 1,
        ..ServerConfig::default()
    };
    let reports = run_builtin(
        changed,
        &[
            "recorded/new-v2-shape.yaml",
            "limits/concurrency.yaml",
            "errors/unknown-session.yaml",
        ],
    )
    .await;
    let [shape, concurrency, unrelated] = &reports[..] else {
        panic!("three reports");
    };
    assert!(!shape.passed);
    assert_eq!(
        failed_path(shape).as_deref(),
        Some("data.session_duration_limit")
    );
    let StepOutcome::Failed {
        mismatch: Some(m), ..
    } = &shape.steps[1].outcome
    else {
        panic!("step 2 (new) failed with a diff: {:?}", shape.steps[1]);
    };
    assert_eq!((m.expected.as_str(), m.actual.as_str()), ("600", "300"));
    assert!(
        !concurrency.passed,
        "the second session is refused with one allowed"
    );
    assert_eq!(failed_path(concurrency).as_deref(), Some("status"));
    assert!(unrelated.passed, "{:?}", unrelated.steps);
}

#[tokio::test]
async fn an_unreachable_target_is_reported_as_such() {
    let target = Target {
        // A port nothing listens on: bound, then released.
        base_url: {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", listener.local_addr().unwrap())
        },
        api_key: "k".into(),
    };
    let corpus = load::builtin().unwrap();
    let report = run(&corpus[0].scenario, &corpus[0].file, &target).await;
    assert!(!report.passed);
    assert!(report.unreachable, "{:?}", report.steps);
}

#[tokio::test]
async fn compare_sets_ids_and_times_aside_and_names_what_differs() {
    let files = ["recorded/new-v2-shape.yaml", "errors/unknown-session.yaml"];
    let same_a = run_builtin(ServerConfig::default(), &files).await;
    let same_b = run_builtin(ServerConfig::default(), &files).await;
    for (a, b) in same_a.iter().zip(&same_b) {
        let differences = understudy_conformance::compare::compare(a, b);
        assert!(
            differences.iter().all(|d| d.is_timing()),
            "{}: {differences:?}",
            a.name
        );
    }
    let other = ServerConfig {
        session_duration_limit: Duration::from_secs(300),
        ..ServerConfig::default()
    };
    let changed = run_builtin(other, &files).await;
    let differences = understudy_conformance::compare::compare(&same_a[0], &changed[0]);
    assert!(
        differences.iter().any(|d| d.kind == "outcome"),
        "{differences:?}"
    );
}
