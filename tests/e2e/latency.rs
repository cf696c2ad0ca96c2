//! Latency profiles (`understudy_server::latency`): the mock answering and talking late on
//! demand, and the admin API that sets profiles. Delays are checked as lower bounds (a slow
//! machine can only add), with upper bounds far from them.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use understudy_e2e::{TestEnv, assert_error, assert_success};
use understudy_server::ServerConfig;
use understudy_server::latency::LatencyProfile;

const TEN_WORDS: &str = "one two three four five six seven eight nine ten";

fn with_profile(json: Value) -> ServerConfig {
    let profile: LatencyProfile = serde_json::from_value(json).unwrap();
    ServerConfig {
        latency: Arc::new(profile),
        ..understudy_e2e::rest_config()
    }
}

async fn admin(env: &TestEnv, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    env.send(method, &format!("/__understudy{path}"), &[], body)
        .await
}

async fn dump(env: &TestEnv, id: &str) -> Value {
    let (_, sessions) = admin(env, "GET", "/sessions", None).await;
    sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == id)
        .cloned()
        .expect("the session is listed")
}

#[tokio::test]
async fn profiles_are_read_set_and_refused_through_the_admin_api() {
    let env = TestEnv::start().await;
    let (_, profile) = admin(&env, "GET", "/latency", None).await;
    assert_eq!(profile["name"], "instant");
    assert_eq!(profile["phases"], json!({}));

    let (status, profile) =
        admin(&env, "PUT", "/latency", Some(json!({"profile": "heygen"}))).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["phases"]["speak"]["min_ms"], 2500.0);

    // Unknown names and impossible distributions are HeyGen-style invalid parameters.
    for bad in [
        json!({"profile": "sluggish"}),
        json!({"profile": {"phases": {"speak": {"kind": "fixed", "ms": -1}}}}),
        json!({"profile": {"phases": {"speak": {"kind": "uniform", "min_ms": 9, "max_ms": 1}}}}),
        json!({"profile": {"phases": {"nap": {"kind": "fixed", "ms": 1}}}}),
        json!({"profiles": "heygen"}),
    ] {
        let answer = admin(&env, "PUT", "/latency", Some(bad.clone())).await;
        assert_error(&answer, 400, 400006);
    }
    let (_, still) = admin(&env, "GET", "/latency", None).await;
    assert_eq!(still["name"], "heygen", "a refused profile changes nothing");

    // A session follows the profile of its creation; one session can be given another.
    let custom = json!({"profile": {"name": "quick", "phases": {}}});
    admin(&env, "PUT", "/latency", Some(custom)).await;
    let (_, id) = env.new_session().await;
    assert_eq!(dump(&env, &id).await["latency_profile"], "quick");
    let (status, _) = admin(
        &env,
        "PUT",
        &format!("/sessions/{id}/latency"),
        Some(json!({"profile": "heygen"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(dump(&env, &id).await["latency_profile"], "heygen");
    let unknown = admin(
        &env,
        "PUT",
        "/sessions/no-such-session/latency",
        Some(json!({"profile": "heygen"})),
    )
    .await;
    assert_error(&unknown, 404, 10006);

    // Reset goes back to the configured profile.
    admin(&env, "POST", "/reset", None).await;
    let (_, profile) = admin(&env, "GET", "/latency", None).await;
    assert_eq!(profile["name"], "instant");
}

#[tokio::test]
async fn rest_answers_wait_their_phase() {
    let env = TestEnv::with_config(with_profile(json!({"phases": {
        "new": {"kind": "fixed", "ms": 150},
        "start": {"kind": "fixed", "ms": 120},
        "task": {"kind": "fixed", "ms": 100},
    }})))
    .await;
    let timed = |began: Instant, at_least: u64| {
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(at_least) && took < Duration::from_secs(5),
            "{took:?}, expected at least {at_least} ms"
        );
    };
    let began = Instant::now();
    let (token, id) = env.new_session().await;
    timed(began, 150);
    let began = Instant::now();
    assert_success(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
    );
    timed(began, 120);
    let began = Instant::now();
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi", "task_mode": "async"}),
        )
        .await;
    assert_success(&answer);
    timed(began, 100);
}

#[tokio::test]
async fn speech_starts_after_its_delay_and_goes_on_after_an_interrupt() {
    let env = TestEnv::with_config(with_profile(json!({"phases": {
        "speak": {"kind": "fixed", "ms": 400},
        "interrupt_tail": {"kind": "fixed", "ms": 500},
    }})))
    .await;
    let (token, id) = env.connected_session().await;
    let task = |text: &'static str| {
        env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": text, "task_mode": "async"}),
        )
    };
    let (_, answer) = task(TEN_WORDS).await;
    let task_id = answer["data"]["task_id"].as_str().unwrap().to_owned();
    // Accepted, but not yet said: it waits its 400 ms.
    let now = dump(&env, &id).await;
    assert_eq!(now["speaking_task_id"], Value::Null, "{now}");
    assert_eq!(now["queued_task_ids"], json!([task_id]));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(dump(&env, &id).await["speaking_task_id"], task_id);

    // A sync task queued behind it answers when the interrupt's tail ends, not at once.
    let sync = tokio::spawn({
        let (http, env_url) = (env.http.clone(), env.url(""));
        let (token, id) = (token.clone(), id.clone());
        async move {
            let began = Instant::now();
            let answer: Value = http
                .post(format!("{env_url}/v1/streaming.task"))
                .bearer_auth(token)
                .json(&json!({"session_id": id, "text": "later", "task_mode": "sync"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (began.elapsed(), answer)
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let interrupted = Instant::now();
    assert_success(
        &env.post("/v1/streaming.interrupt", &token, json!({"session_id": id}))
            .await,
    );
    let during = dump(&env, &id).await;
    assert_eq!(
        during["speaking_task_id"], task_id,
        "the tail: still talking"
    );
    assert_eq!(during["queued_task_ids"], json!([]), "the queue is dropped");
    let (took, answer) = sync.await.unwrap();
    assert_eq!(answer["code"], 100, "{answer}");
    let since_interrupt = interrupted.elapsed();
    assert!(
        since_interrupt >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "the sync answer came {since_interrupt:?} after the interrupt"
    );
    assert_eq!(dump(&env, &id).await["speaking_task_id"], Value::Null);
}

/// `--time-scale 100`: the mock waits a hundredth as long, and says what the real service
/// would have said.
#[tokio::test]
async fn a_time_scale_shortens_the_waits_not_the_figures() {
    use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
    use streaming_avatar::{SessionOptions, SpeakRequest, StreamingEvent};
    let env = TestEnv::with_config(ServerConfig {
        time_scale: 100.0,
        ..ServerConfig::default()
    })
    .await;
    let request = NewSessionRequest {
        quality: Some(Quality::Low),
        ..NewSessionRequest::default()
    };
    let (session, mut events, token) = env.sdk_session(request, SessionOptions::default()).await;
    assert_eq!(session.info().session_duration_limit, Some(600));
    let began = Instant::now();
    // Ten words at 150 wpm: 4 s of speech, said in 40 ms.
    let task = session
        .speak(&SpeakRequest::repeat(TEN_WORDS))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.duration_ms, 4000.0);
    let stopped = events
        .wait_for(Duration::from_secs(5), |e| {
            matches!(e, StreamingEvent::AvatarStopTalking { .. })
        })
        .await
        .unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    let StreamingEvent::AvatarStopTalking {
        duration_ms: Some(spoken),
        ..
    } = stopped.event
    else {
        panic!("{:?}", stopped.event)
    };
    // In the service's time; the frame and tick granularity of the stage, times 100, on top.
    assert!((3900.0..=9000.0).contains(&spoken), "{spoken}");

    // The default 120 s idle timeout is 1.2 s here: the session ends on its own, and the
    // history reports its life in the service's time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, history) = env.get("/v2/streaming.list", &token).await;
    let entry = &history["data"][0];
    assert!(entry["duration"].as_f64().unwrap() >= 120.0, "{history}");
}
