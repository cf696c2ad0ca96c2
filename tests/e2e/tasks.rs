//! §3.5, §3.6 and §7.3: tasks, their ids and durations, queueing, sync vs async, interrupt.

use serde_json::json;
use std::time::{Duration, Instant};
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_server::ServerConfig;

/// 6000 words per minute: ten words take 100 ms, so sync tests stay short.
fn fast() -> ServerConfig {
    ServerConfig {
        words_per_minute: 6000.0,
        ..understudy_e2e::rest_config()
    }
}

const TEN_WORDS: &str = "one two three four five six seven eight nine ten";

#[tokio::test]
async fn an_async_task_answers_at_once_with_duration_and_task_id() {
    // §3.5: data {duration_ms, task_id}; task ids are UUID v1 like the real ones.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS, "task_mode": "async"}),
        )
        .await;
    assert_success(&answer);
    // 10 words at 150 wpm = 4 s.
    assert_eq!(answer.1["data"]["duration_ms"], 4000.0);
    let task_id = answer.1["data"]["task_id"].as_str().unwrap();
    assert_eq!(task_id.chars().nth(14), Some('1'), "{task_id}");
}

#[tokio::test]
async fn the_voice_rate_scales_the_duration() {
    // §3.2: voice.rate multiplies the speaking rate.
    let env = TestEnv::start().await;
    let token = env.token().await;
    let (_, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "voice": {"rate": 2.0}}),
        )
        .await;
    let id = body["data"]["session_id"].as_str().unwrap();
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    let (_, task) = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS, "task_mode": "async"}),
        )
        .await;
    assert_eq!(task["data"]["duration_ms"], 2000.0);
}

#[tokio::test]
async fn a_sync_task_answers_when_its_speech_ends() {
    // §7.3: sync "blocks further actions until speaking completes".
    let env = TestEnv::with_config(fast()).await;
    let (token, id) = env.connected_session().await;
    let started = Instant::now();
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS, "task_mode": "sync"}),
        )
        .await;
    assert_success(&answer);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "answered before the speech ended"
    );
}

#[tokio::test]
async fn tasks_queue_behind_the_current_one() {
    // §3.5: a new task does not cut the current one; a sync task waits for the queue.
    let env = TestEnv::with_config(fast()).await;
    let (token, id) = env.connected_session().await;
    let first = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS, "task_mode": "async"}),
        )
        .await;
    let started = Instant::now();
    let second = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS, "task_mode": "sync"}),
        )
        .await;
    assert_ne!(first.1["data"]["task_id"], second.1["data"]["task_id"]);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the second task waited for the first"
    );
}

/// Starts a sync task that would speak for 10 s (10 words at 60 wpm), posts `path` 100 ms
/// later, and checks that both answer 200 long before the speech would have ended.
async fn sync_task_is_released_by(path: &str) -> TestEnv {
    let env = TestEnv::with_config(ServerConfig {
        words_per_minute: 60.0,
        ..understudy_e2e::rest_config()
    })
    .await;
    let (token, id) = env.connected_session().await;
    let speaking = env.post(
        "/v1/streaming.task",
        &token,
        json!({"session_id": id, "text": TEN_WORDS, "task_mode": "sync"}),
    );
    let release = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        env.post(path, &token, json!({"session_id": id})).await
    };
    let started = Instant::now();
    let (task, released) = tokio::join!(speaking, release);
    assert_success(&released);
    assert_success(&task);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "10 words at 60 wpm would take 10 s"
    );
    env
}

#[tokio::test]
async fn interrupt_ends_a_waiting_sync_task() {
    // §3.6: interrupt stops the current task and drops the queue.
    let env = sync_task_is_released_by("/v1/streaming.interrupt").await;
    let (_, sessions) = env.send("GET", "/__understudy/sessions", &[], None).await;
    assert!(sessions[0]["speaking_task_id"].is_null());
    assert_eq!(sessions[0]["queued_task_ids"], json!([]));
}

#[tokio::test]
async fn the_task_defaults_are_repeat_and_sync() {
    // §3.5: task_type defaults to repeat, task_mode to sync.
    let env = TestEnv::with_config(ServerConfig {
        words_per_minute: 1200.0,
        ..understudy_e2e::rest_config()
    })
    .await;
    let (token, id) = env.connected_session().await;
    let started = Instant::now();
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": TEN_WORDS}),
        )
        .await;
    assert_eq!(
        answer.1["data"]["duration_ms"], 500.0,
        "repeat speaks the text itself"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "sync waited for the speech"
    );
}

#[tokio::test]
async fn talk_and_chat_speak_a_reply_rather_than_the_text() {
    // §7.3: talk/chat treat the text as the user's words; they are synonyms.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let mut durations = Vec::new();
    for task_type in ["talk", "chat"] {
        let (_, body) = env.post("/v1/streaming.task", &token, json!({"session_id": id, "text": "hi", "task_type": task_type, "task_mode": "async"})).await;
        durations.push(body["data"]["duration_ms"].as_f64().unwrap());
    }
    assert_eq!(durations[0], durations[1]);
    assert!(
        durations[0] > 400.0,
        "the reply is longer than the one-word text"
    );
}

#[tokio::test]
async fn empty_text_is_invalid() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "  "}),
        )
        .await,
        400,
        400006,
    );
}

#[tokio::test]
async fn stop_releases_a_waiting_sync_task() {
    // §6: closing a session ends its speech.
    sync_task_is_released_by("/v1/streaming.stop").await;
}

#[tokio::test]
async fn a_session_queues_at_most_its_limit_then_answers_400123() {
    // A client queueing faster than the avatar speaks is refused, HeyGen-style, instead of
    // growing the queue without bound [INF: docs/fidelity.md].
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let body =
        json!({"session_id": id, "text": "a task that takes a while to say", "task_mode": "async"});
    for _ in 0..understudy_server::MAX_QUEUED_TASKS {
        assert_success(&env.post("/v1/streaming.task", &token, body.clone()).await);
    }
    let refused = env.post("/v1/streaming.task", &token, body.clone()).await;
    assert_error(&refused, 429, 400123);
    // Interrupt empties the queue: tasks are taken again.
    assert_success(
        &env.post("/v1/streaming.interrupt", &token, json!({"session_id": id}))
            .await,
    );
    assert_success(&env.post("/v1/streaming.task", &token, body).await);
}
