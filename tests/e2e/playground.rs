//! The playground and inspector page the binary serves at `/` (plain files embedded in it), and
//! the admin API it reads: the session dump's protocol, schedule and clients, ending a session,
//! and reading the journal from a sequence number.

use serde_json::json;
use understudy_e2e::{TestEnv, assert_error};

async fn get_text(env: &TestEnv, path: &str) -> (u16, String, String) {
    let response = env.http.get(env.url(path)).send().await.expect("answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let env = TestEnv::start().await;
    let (status, content_type, page) = get_text(&env, "/").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for file in [
        "/playground/playground.js",
        "/playground/inspector.js",
        "/playground/style.css",
    ] {
        assert!(page.contains(file), "the page links {file}");
        let (status, content_type, body) = get_text(&env, file).await;
        assert_eq!(status, 200, "{file}");
        let wanted = if file.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(wanted), "{file}: {content_type}");
        assert!(!body.is_empty());
    }
    // Nothing the page needs comes from elsewhere.
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    let (status, _, body) = get_text(&env, "/playground/missing.js").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"],
        404
    );
    // The mock's own pages stay out of the journal of HeyGen calls.
    assert!(env.server.received_requests().is_empty());
}

#[tokio::test]
async fn the_dump_shows_protocol_schedule_and_clients() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let long = "word ".repeat(60);
    for text in [long.as_str(), "and then this"] {
        env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": text, "task_mode": "async"}),
        )
        .await;
    }
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    let dump = &sessions[0];
    assert_eq!(dump["protocol"], "v2");
    assert_eq!(dump["quality"], "low");
    assert_eq!(
        (dump["viewers"].as_u64(), dump["chat_sockets"].as_u64()),
        (Some(0), Some(0))
    );
    let schedule = dump["schedule"].as_array().unwrap();
    assert_eq!(schedule.len(), 2, "{schedule:?}");
    assert_eq!(schedule[0]["task_id"], dump["speaking_task_id"]);
    assert_eq!(schedule[1]["text"], "and then this");
    assert!(
        schedule[0]["starts_in_ms"].as_i64().unwrap() <= 0,
        "speaking"
    );
    assert!(
        schedule[1]["starts_in_ms"].as_i64().unwrap()
            >= schedule[0]["ends_in_ms"].as_i64().unwrap(),
        "back to back: {schedule:?}"
    );
}

#[tokio::test]
async fn a_session_can_be_ended_from_the_admin_api() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let path = format!("/__understudy/sessions/{id}");
    let (status, body) = env.send("DELETE", &path, &[], None).await;
    assert_eq!((status, body), (200, json!({"ended": true})));
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "late"}),
        )
        .await,
        400,
        10005,
    );
    assert_error(&env.send("DELETE", &path, &[], None).await, 400, 10005);
    assert_error(
        &env.send("DELETE", "/__understudy/sessions/nope", &[], None)
            .await,
        404,
        10006,
    );
}

#[tokio::test]
async fn the_journal_reads_from_a_sequence_number() {
    let env = TestEnv::start().await;
    for _ in 0..3 {
        env.token().await;
    }
    let (_, all) = env.send("GET", "/__understudy/requests", &[], None).await;
    let seqs: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 3);
    let (_, after) = env
        .send(
            "GET",
            &format!("/__understudy/requests?since={}", seqs[0]),
            &[],
            None,
        )
        .await;
    let after: Vec<u64> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(after, seqs[1..]);
    assert_error(
        &env.send("GET", "/__understudy/requests?since=x", &[], None)
            .await,
        400,
        400006,
    );
}
