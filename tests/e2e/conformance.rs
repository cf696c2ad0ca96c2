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
    let target = Target::new(server.uri(), "conformance-test");
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
        liveavatar: None,
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

#[tokio::test]
async fn a_session_recorded_through_the_proxy_replays_against_the_mock() {
    use streaming_avatar::proto::rest::session::NewSessionRequest;
    use streaming_avatar::{SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar};
    let env = understudy_e2e::TestEnv::start().await;
    let recorder = understudy_conformance::record::Recorder::start(
        &env.server.uri(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("proxy");
    let base = format!("http://{}", recorder.addr());

    // The Rust SDK as an app uses it, through the proxy.
    let backend = StreamingAvatar::builder()
        .base_path(&base)
        .api_key("recorded-key-123")
        .build()
        .unwrap();
    let token = backend.create_token().await.expect("token");
    let avatar = StreamingAvatar::builder()
        .base_path(&base)
        .token(token.clone())
        .build()
        .unwrap();
    let mut session = avatar
        .create_start_avatar_with(
            &NewSessionRequest {
                version: Some("v2".into()),
                ..NewSessionRequest::default()
            },
            SessionOptions::default(),
        )
        .await
        .expect("session through the proxy");
    let mut events = session.events();
    session
        .speak(&SpeakRequest::repeat("recorded words"))
        .await
        .expect("speak over HTTP");
    session
        .speak_via(
            SpeakPath::ChatSocket,
            &SpeakRequest::talk("and over the socket"),
        )
        .await
        .expect("speak over the chat socket");
    for _ in 0..2 {
        events
            .wait_for(Duration::from_secs(15), |e| {
                e.name() == "avatar_stop_talking"
            })
            .await
            .expect("the avatar finishes");
    }
    session.stop().await.expect("stop");

    let yaml = recorder
        .finish("recorded through the proxy")
        .await
        .expect("a scenario");
    for secret in ["recorded-key-123", token.as_str()] {
        assert!(!yaml.contains(secret), "a secret in the recording:\n{yaml}");
    }
    let scenario = understudy_conformance::load::parse("recorded.yaml", &yaml)
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let kinds: Vec<&str> = scenario.steps.iter().map(|s| s.kind()).collect();
    for kind in [
        "create_token",
        "new",
        "start",
        "speak",
        "wait_event",
        "stop",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}\n{yaml}");
    }
    let target = Target::new(env.server.uri(), "replay-key");
    let report = run(&scenario, "recorded.yaml", &target).await;
    assert!(report.passed, "{:#?}\n{yaml}", report.steps);
}

#[tokio::test]
async fn liveavatar_scenarios_pass_against_the_mock() {
    let reports = run_builtin(
        ServerConfig::default(),
        &[
            "liveavatar/full-speak-text.yaml",
            "liveavatar/rest-errors.yaml",
            "liveavatar/lite-start.yaml",
        ],
    )
    .await;
    for report in &reports {
        assert!(report.passed, "{}: {:?}", report.name, report.steps);
        assert!(report.events.iter().any(|e| e.name.starts_with("rest:")));
    }
    let speak = &reports[0];
    assert!(
        speak
            .events
            .iter()
            .any(|e| e.name == "avatar.speak_started" && e.fields["source_event_id"].is_string()),
        "{:?}",
        speak.events
    );
}

#[tokio::test]
async fn liveavatar_scenarios_run_at_their_own_target() {
    let server = MockServer::builder()
        .config(ServerConfig::default())
        .start()
        .await
        .expect("mock");
    // The Streaming API's target is nowhere; LiveAvatar's is the mock.
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut target = Target::new(nowhere, "streaming-key");
    target.liveavatar = Some((server.uri(), "liveavatar-key".into()));
    let corpus = load::builtin().unwrap();
    let pick = |file: &str| {
        corpus
            .iter()
            .find(|l| l.file.ends_with(file))
            .unwrap_or_else(|| panic!("{file}"))
    };
    let liveavatar = pick("liveavatar/rest-errors.yaml");
    let report = run(&liveavatar.scenario, &liveavatar.file, &target).await;
    assert!(report.passed, "{:?}", report.steps);
    let streaming = pick("errors/unknown-session.yaml");
    let report = run(&streaming.scenario, &streaming.file, &target).await;
    assert!(report.unreachable, "{:?}", report.steps);
    server.shutdown().await;
}
