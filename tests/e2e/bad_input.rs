//! Bad input of every kind gets a HeyGen `{code, message}` 4xx, never a panic, and leaves the
//! session as it was.

use serde_json::json;
use understudy_e2e::{KEY, TestEnv, assert_error, assert_success};
use understudy_server::MAX_BODY_BYTES;

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_400006() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str())];
    for raw in [
        &b"{not json"[..],
        b"[1,2,3]",
        b"null",
        b"\"text\"",
        b"{\"session_id\": 5}",
        b"{}",
        &[0xff, 0xfe, 0x00],
    ] {
        let answer = env
            .send_raw("POST", "/v1/streaming.task", &headers, raw.to_vec())
            .await;
        assert_error(&answer, 400, 400006);
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid params"),
            "{}",
            answer.1
        );
    }
    let wrong_type = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "quality": 7}),
        )
        .await;
    assert_error(&wrong_type, 400, 400006);
    assert!(
        wrong_type.1["message"]
            .as_str()
            .unwrap()
            .contains("quality"),
        "the message names the field"
    );
    let bad_enum = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi", "task_mode": "later"}),
        )
        .await;
    assert!(
        bad_enum.1["message"]
            .as_str()
            .unwrap()
            .contains("task_mode")
    );

    // The session is untouched.
    assert_success(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": "hi", "task_mode": "async"}),
        )
        .await,
    );
}

#[tokio::test]
async fn trailing_garbage_after_json_is_invalid() {
    let env = TestEnv::start().await;
    let token = env.token().await;
    let auth = format!("Bearer {token}");
    let answer = env
        .send_raw(
            "POST",
            "/v1/streaming.new",
            &[("authorization", &auth)],
            br#"{"version":"v2"} trailing"#.to_vec(),
        )
        .await;
    assert_error(&answer, 400, 400006);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    let text = "a".repeat(MAX_BODY_BYTES);
    let answer = env
        .post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": id, "text": text}),
        )
        .await;
    assert_error(&answer, 413, 413);
    env.assert_alive(&token, &id).await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let env = TestEnv::start().await;
    assert_error(
        &env.send("POST", "/v1/streaming.nope", &[("x-api-key", KEY)], None)
            .await,
        404,
        404,
    );
    assert_error(
        &env.send("GET", "/v1/streaming.task", &[("x-api-key", KEY)], None)
            .await,
        405,
        405,
    );
    assert_error(
        &env.send("PUT", "/v1/streaming.list", &[("x-api-key", KEY)], None)
            .await,
        405,
        405,
    );
}

#[tokio::test]
async fn credentials_are_checked_before_the_body() {
    // A caller with no credentials learns nothing about body validation.
    let env = TestEnv::start().await;
    assert_error(
        &env.send_raw("POST", "/v1/streaming.task", &[], b"{bad".to_vec())
            .await,
        401,
        400112,
    );
}
