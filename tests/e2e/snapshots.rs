//! insta snapshots of every response shape the mock produces, success and error, with volatile
//! values (ids, tokens, times) redacted. A change to any shape shows up as a snapshot diff.

use serde_json::{Value, json};
use understudy_e2e::{KEY, TestEnv};
use understudy_server::MAX_BODY_BYTES;

/// Keys whose values change every run.
const VOLATILE: [&str; 11] = [
    "token",
    "session_id",
    "access_token",
    "livekit_agent_token",
    "task_id",
    "id",
    "knowledge_base_id",
    "created_at",
    "updated_at",
    "duration",
    // v1's SDP offer (ports, credentials, fingerprint); its object and type stay.
    "sdp",
];

/// Replaces volatile values, and the session ids and host:port inside strings, with markers.
fn redact(value: Value, ids: &[&str], host: &Hosts) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if VOLATILE.contains(&k.as_str()) && !v.is_null() && !v.is_object() {
                        json!(format!("[{k}]"))
                    } else {
                        redact(v, ids, host)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redact(v, ids, host)).collect())
        }
        Value::String(s) => {
            let mut s = s
                .replace(&host.stun, "[stun]")
                .replace(&host.http, "[host]");
            for id in ids {
                s = s.replace(id, "[session_id]");
            }
            Value::String(s)
        }
        other => other,
    }
}

/// The mock's addresses, which change every run: HTTP, and the STUN responder's.
struct Hosts {
    http: String,
    stun: String,
}

#[tokio::test]
async fn every_response_shape_is_pinned() {
    let env = TestEnv::start().await;
    let host = Hosts {
        http: env.server.http_addr().unwrap().to_string(),
        stun: env.server.stun_addr().unwrap().to_string(),
    };
    let key = [("x-api-key", KEY)];
    let mut shapes = serde_json::Map::new();
    let mut record = |name: &str, (status, body): (u16, Value), ids: &[&str]| {
        shapes.insert(
            name.to_owned(),
            json!({"status": status, "body": redact(body, ids, &host)}),
        );
    };

    record(
        "create_token",
        env.send("POST", "/v1/streaming.create_token", &key, None)
            .await,
        &[],
    );
    let token = env.token().await;
    let new = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    let id = new.1["data"]["session_id"].as_str().unwrap().to_owned();
    let ids = [id.as_str()];
    record("new_v2", new.clone(), &ids);
    record(
        "task_before_start",
        env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi"}),
        )
        .await,
        &ids,
    );
    record(
        "start",
        env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
        &ids,
    );
    record(
        "ice",
        env.post(
            "/v1/streaming.ice",
            &token,
            json!({"session_id": id, "candidate": {"candidate": "c"}}),
        )
        .await,
        &ids,
    );
    record(
        "task",
        env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "one two three", "task_mode": "async"}),
        )
        .await,
        &ids,
    );
    record(
        "interrupt",
        env.post("/v1/streaming.interrupt", &token, json!({"session_id": id}))
            .await,
        &ids,
    );
    record(
        "start_listening",
        env.post(
            "/v1/streaming.start_listening",
            &token,
            json!({"session_id": id}),
        )
        .await,
        &ids,
    );
    record(
        "keep_alive",
        env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": id}),
        )
        .await,
        &ids,
    );
    record(
        "list_v1",
        env.send("GET", "/v1/streaming.list", &key, None).await,
        &ids,
    );
    record(
        "list_v2",
        env.send("GET", "/v2/streaming.list", &key, None).await,
        &ids,
    );
    record(
        "avatar_list",
        env.send("GET", "/v1/streaming/avatar.list", &key, None)
            .await,
        &ids,
    );
    record(
        "knowledge_base_create",
        env.send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(json!({"name": "n", "prompt": "p"})),
        )
        .await,
        &ids,
    );
    record(
        "knowledge_base_list",
        env.send("GET", "/v1/streaming/knowledge_base/list", &key, None)
            .await,
        &ids,
    );
    record(
        "stop",
        env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
        &ids,
    );
    record(
        "task_after_stop",
        env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi"}),
        )
        .await,
        &ids,
    );
    record(
        "stop_after_stop",
        env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
        &ids,
    );
    record(
        "unknown_session",
        env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": "nope"}),
        )
        .await,
        &ids,
    );
    record(
        "unauthorized",
        env.send("POST", "/v1/streaming.new", &[], None).await,
        &ids,
    );
    let v1_token = env.token().await;
    let new_v1 = env.post("/v1/streaming.new", &v1_token, json!({})).await;
    record("new_v1", new_v1.clone(), &ids);
    // Not counted against the concurrency limit the rest of the test meets.
    env.post(
        "/v1/streaming.stop",
        &v1_token,
        json!({"session_id": new_v1.1["data"]["session_id"]}),
    )
    .await;
    record(
        "invalid_params",
        env.post(
            "/v1/streaming.new",
            &env.token().await,
            json!({"version": "v2", "quality": 1}),
        )
        .await,
        &ids,
    );
    record(
        "missing_field",
        env.post("/v1/streaming.keep_alive", &token, json!({}))
            .await,
        &ids,
    );
    record(
        "too_large",
        env.post(
            "/v1/streaming.keep_alive",
            &token,
            json!({"session_id": "x".repeat(MAX_BODY_BYTES)}),
        )
        .await,
        &ids,
    );
    record(
        "route_not_found",
        env.send("GET", "/v1/nothing", &key, None).await,
        &ids,
    );
    record(
        "method_not_allowed",
        env.send("GET", "/v1/streaming.stop", &key, None).await,
        &ids,
    );
    for _ in 0..3 {
        env.new_session().await;
    }
    record(
        "concurrent_limit",
        env.post(
            "/v1/streaming.new",
            &env.token().await,
            json!({"version": "v2"}),
        )
        .await,
        &ids,
    );

    insta::assert_json_snapshot!(Value::Object(shapes));
}
