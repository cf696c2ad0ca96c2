//! The `understudy` binary's contract for scripts and CI: exit codes and where errors point.

use std::process::Command;

fn understudy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_understudy"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the binary runs")
}

#[test]
fn a_malformed_scenario_is_exit_2_with_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("understudy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\nsteps:\n  - create_token: {}\n  - speek: { text: hi }\n",
    )
    .unwrap();
    let out = understudy(&["conformance", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:4:5"), "{stderr}");
    assert!(stderr.contains("speek"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_writes_every_report_and_follows_a_latency_profile_file() {
    let dir = std::env::temp_dir().join(format!("understudy-cli-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("slow.yaml");
    std::fs::write(&profile, "phases:\n  speak: {kind: fixed, ms: 150}\n").unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let out = understudy(&[
        "bench",
        "--duration",
        "1.5",
        "--warmup",
        "0",
        "--latency-profile",
        profile.to_str().unwrap(),
        "--ndjson",
        &path("samples.ndjson"),
        "--hgrm",
        &path("hgrm"),
        "--markdown",
        &path("summary.md"),
        "--html",
        &path("report.html"),
        "--threshold",
        "start_talking.p50<150ms",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Every speak waited the profile's 150 ms: a p50 under 150 ms is impossible.
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    let samples = std::fs::read_to_string(path("samples.ndjson")).unwrap();
    let talking: Vec<serde_json::Value> = samples
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|s| s["phase"] == "start_talking")
        .collect();
    // 1.5 s of speaks of about 0.55 s each (150 ms delay, 400 ms of speech).
    assert!((2..=4).contains(&talking.len()), "{samples}");
    assert!(talking.iter().all(|s| s["ms"].as_f64().unwrap() >= 150.0));
    let hgrm = std::fs::read_to_string(dir.join("hgrm").join("start_talking.hgrm")).unwrap();
    assert!(hgrm.contains("#[Max"), "{hgrm}");
    let markdown = std::fs::read_to_string(path("summary.md")).unwrap();
    assert!(markdown.contains("| start_talking |"), "{markdown}");
    let html = std::fs::read_to_string(path("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("talking_audio"));

    std::fs::write(&profile, "phases:\n  speak: {kind: fixed, ms: -1}\n").unwrap();
    let out = understudy(&["bench", "--latency-profile", profile.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("slow.yaml:2:"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_target_is_exit_3_and_a_failure_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("http://127.0.0.1:{port}");
    let out = understudy(&[
        "conformance",
        "--target",
        &target,
        "--api-key",
        "k",
        "--tag",
        "errors",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let dir = std::env::temp_dir().join(format!("understudy-cli-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fails.yaml");
    std::fs::write(
        &file,
        "name: fails\nsteps:\n  - create_token: { expect: { status: 418 } }\n",
    )
    .unwrap();
    let junit = dir.join("report.xml");
    let out = understudy(&[
        "conformance",
        file.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = std::fs::read_to_string(&junit).unwrap();
    assert!(report.contains("failures=\"1\""), "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_measures_the_embedded_mock_and_gates_on_thresholds() {
    let dir = std::env::temp_dir().join(format!("understudy-cli-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("bench.json");
    let out = understudy(&[
        "bench",
        "--speaks",
        "3",
        "--warmup",
        "0",
        "--json",
        json.to_str().unwrap(),
        "--threshold",
        "start_talking.p99<10s",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("start_talking"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let start_talking = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "start_talking")
        .expect("start_talking timed");
    assert_eq!(start_talking["count"], 3);

    let out = understudy(&[
        "bench",
        "--speaks",
        "1",
        "--warmup",
        "0",
        "--threshold",
        "start_talking.p50<0ms",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a broken threshold has its own exit code"
    );
    let out = understudy(&["bench", "--threshold", "start_talking<1s"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed threshold is a usage error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_reads_the_talking_marker_from_decoded_frames() {
    let dir = std::env::temp_dir().join(format!("understudy-cli-marker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("bench.json");
    let out = understudy(&[
        "bench",
        "--speaks",
        "2",
        "--warmup",
        "0",
        "--video-marker",
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let phase = |name: &str| {
        report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["phase"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not timed: {stdout}"))
    };
    assert_eq!(phase("talking_frame")["count"], 2, "{stdout}");
    // The picture turns to talking while the avatar talks, so before it stops. (It may come
    // a hair before the start event, which goes out first but on another channel.)
    let (frame, stop) = (phase("talking_frame"), phase("stop_talking"));
    assert!(
        frame["max_ms"].as_f64() < stop["p50_ms"].as_f64(),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_prints_the_playground_url_first_and_serves_the_page_there() {
    use std::io::{Read, Write};
    let (mut child, base) = serve(&[]);
    let address = base
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("an http URL: {base}"));
    let mut socket = std::net::TcpStream::connect(address).expect("the playground's address");
    write!(
        socket,
        "GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("answer");
    child.kill().expect("stop the server");
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("<title>Understudy playground</title>"),
        "{answer}"
    );
}

/// Starts `understudy serve` on a free port with `extra` arguments; returns the process and the
/// server's base URL, read from its banner (its further output is read and dropped).
fn serve(extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_understudy"))
        .args(["serve", "--port", "0", "--no-https"])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a banner line");
    let base = first
        .trim()
        .strip_prefix("Open the playground and inspector: ")
        .and_then(|url| url.strip_suffix('/'))
        .unwrap_or_else(|| panic!("the first line names the server: {first:?}"))
        .to_owned();
    // The server prints more as it runs; a closed pipe would fail its prints.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_sends_a_talk_reply_whole_when_asked() {
    use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
    use streaming_avatar::{SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar};
    let (mut child, base) = serve(&["--talk-reply-text", "whole", "--words-per-minute", "6000"]);
    let backend = StreamingAvatar::builder()
        .base_path(&base)
        .api_key("test")
        .build()
        .expect("client");
    let token = backend.create_token().await.expect("token");
    let client = StreamingAvatar::builder()
        .base_path(&base)
        .token(token)
        .build()
        .expect("client");
    let request = NewSessionRequest {
        quality: Some(Quality::Low),
        ..Default::default()
    };
    let mut session = client
        .create_start_avatar_with(&request, SessionOptions::default())
        .await
        .expect("session");
    let mut events = session.events();
    session
        .speak_via(SpeakPath::LiveKit, &SpeakRequest::talk("hello there"))
        .await
        .expect("talk");
    let (mut names, mut text) = (Vec::new(), String::new());
    events
        .wait_for(std::time::Duration::from_secs(10), |e| {
            if let streaming_avatar::StreamingEvent::AvatarTalkingMessage { message, .. } = e {
                text.push_str(message);
            }
            if e.name().starts_with("avatar_") {
                names.push(e.name().to_owned());
            }
            e.name() == "avatar_stop_talking"
        })
        .await
        .expect("the avatar stops talking");
    let _ = session.stop().await;
    child.kill().expect("stop the server");
    let _ = child.wait();
    assert_eq!(
        names,
        [
            "avatar_talking_message",
            "avatar_start_talking",
            "avatar_end_message",
            "avatar_stop_talking"
        ]
    );
    assert!(text.ends_with("hello there."), "{text}");
}
