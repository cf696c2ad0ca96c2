//! §3.10 session lists and §3.11 the avatar list.

use serde_json::json;
use understudy_e2e::{KEY, TestEnv, assert_error, assert_success};

#[tokio::test]
async fn the_v1_list_shows_live_sessions_of_the_account() {
    // §3.10: {sessions: [{session_id, status, created_at, api_key_type}]}, status new/connecting/connected.
    let env = TestEnv::start().await;
    let (_, new_id) = env.new_session().await;
    let (_, connected_id) = env.connected_session().await;
    let (stop_token, stopped_id) = env.new_session().await;
    env.post(
        "/v1/streaming.stop",
        &stop_token,
        json!({"session_id": stopped_id}),
    )
    .await;
    let answer = env
        .send("GET", "/v1/streaming.list", &[("x-api-key", KEY)], None)
        .await;
    assert_success(&answer);
    let rows = answer.1["data"]["sessions"].as_array().unwrap().clone();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [new_id.as_str(), connected_id.as_str()]);
    assert_eq!(rows[0]["status"], "new");
    assert_eq!(rows[1]["status"], "connected");
    assert_eq!(rows[0]["api_key_type"], "regular");
    assert!(rows[0]["created_at"].as_i64().unwrap() > 1_700_000_000);

    let other = env
        .send(
            "GET",
            "/v1/streaming.list",
            &[("x-api-key", "another-account")],
            None,
        )
        .await;
    assert_eq!(other.1["data"]["sessions"], json!([]));
}

#[tokio::test]
async fn the_v2_list_pages_through_history_newest_first() {
    // §3.10: total, page, page_size, next_pagination_token, data[] with duration, avatar_id, voice_name.
    let env = TestEnv::with_config(understudy_server::ServerConfig {
        concurrency_limit: 0,
        ..understudy_e2e::rest_config()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(env.new_session().await.1);
    }
    let key = [("x-api-key", KEY)];
    let (status, first) = env
        .send("GET", "/v2/streaming.list?page_size=2", &key, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            first["total"].as_u64(),
            first["page"].as_u64(),
            first["page_size"].as_u64()
        ),
        (Some(5), Some(1), Some(2))
    );
    assert_eq!(first["data"][0]["session_id"], ids[4].as_str());
    assert_eq!(first["data"][0]["avatar_id"], "default");
    assert!(first["data"][0]["duration"].is_number());
    let next = first["next_pagination_token"].as_str().unwrap();
    let (_, second) = env
        .send(
            "GET",
            &format!("/v2/streaming.list?page_size=2&token={next}"),
            &key,
            None,
        )
        .await;
    assert_eq!(second["data"][0]["session_id"], ids[2].as_str());
    let (_, last) = env
        .send("GET", "/v2/streaming.list?page_size=2&page=3", &key, None)
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert!(last["next_pagination_token"].is_null());
}

#[tokio::test]
async fn the_v2_list_filters_by_status_and_date() {
    // §3.10: "optional filtering by date range and status" [INF names].
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    env.new_session().await;
    let key = [("x-api-key", KEY)];
    let (_, closed) = env
        .send("GET", "/v2/streaming.list?status=closed", &key, None)
        .await;
    assert_eq!(closed["total"], 1);
    assert_eq!(closed["data"][0]["status"], "closed");
    let (_, future) = env
        .send("GET", "/v2/streaming.list?date_from=4102444800", &key, None)
        .await;
    assert_eq!(future["total"], 0);
}

#[tokio::test]
async fn bad_v2_list_parameters_are_invalid_params() {
    let env = TestEnv::start().await;
    let key = [("x-api-key", KEY)];
    for query in [
        "page=abc",
        "page_size=0",
        "page_size=1000",
        "status=sleeping",
        "token=xyz",
    ] {
        assert_error(
            &env.send("GET", &format!("/v2/streaming.list?{query}"), &key, None)
                .await,
            400,
            400006,
        );
    }
}

#[tokio::test]
async fn the_avatar_list_has_the_documented_fields() {
    // §3.11: {code:100, data:[{avatar_id, created_at, default_voice, is_public, normal_preview, pose_name, status}], message:"Success"}.
    let env = TestEnv::start().await;
    let (status, body) = env
        .send(
            "GET",
            "/v1/streaming/avatar.list",
            &[("x-api-key", KEY)],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Success");
    let first = &body["data"][0];
    for field in [
        "avatar_id",
        "created_at",
        "default_voice",
        "is_public",
        "normal_preview",
        "pose_name",
        "status",
    ] {
        assert!(first.get(field).is_some(), "{field}");
    }
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "ACTIVE" || a["status"] == "INACTIVE")
    );
}
