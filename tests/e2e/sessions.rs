//! §3.2-§3.4, §3.6-§3.9 and §6: creating, starting and stopping sessions, and the state machine.

use serde_json::json;
use understudy_e2e::{KEY, TestEnv, assert_error, assert_success};
use understudy_server::ServerConfig;

#[tokio::test]
async fn a_v2_session_returns_every_livekit_field_and_null_sdp() {
    // §3.2 v2 response.
    let env = TestEnv::start().await;
    let token = env.token().await;
    let (status, body) = env
        .post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "quality": "low"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    let id = data["session_id"].as_str().unwrap();
    assert_eq!(
        uuid_version(id),
        '1',
        "session ids are time-based UUIDs: {id}"
    );
    assert!(data["url"].as_str().unwrap().starts_with("ws://127.0.0.1:"));
    assert_eq!(
        data["access_token"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );
    assert_eq!(
        data["livekit_agent_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert!(data["realtime_endpoint"].as_str().unwrap().ends_with(id));
    assert_eq!(data["is_paid"], false);
    assert_eq!(data["session_duration_limit"], 600);
    for field in ["sdp", "ice_servers", "ice_servers2"] {
        assert!(
            data[field].is_null() && data.as_object().unwrap().contains_key(field),
            "{field}"
        );
    }
    assert_eq!(body["message"], "success");
}

fn uuid_version(id: &str) -> char {
    id.chars().nth(14).unwrap_or('?')
}

#[tokio::test]
async fn the_access_token_grants_the_session_room() {
    // §8.4: per-session rooms, identity `client`, publish/subscribe/data grants.
    let env = TestEnv::start().await;
    let token = env.token().await;
    let (_, body) = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    let jwt = body["data"]["access_token"].as_str().unwrap();
    let claims =
        understudy_server::livekit_token::verify(env.server.state().livekit_secret(), jwt).unwrap();
    assert_eq!(
        claims.video.room,
        body["data"]["session_id"].as_str().unwrap()
    );
    assert_eq!(claims.sub, "client");
    assert!(
        claims.video.can_publish && claims.video.can_subscribe && claims.video.can_publish_data
    );
}

#[tokio::test]
async fn all_three_avatar_field_names_are_accepted() {
    // §3.2: avatar_name (SDKs), avatar_id (docs), avatarId (camelCase clients).
    let env = TestEnv::start().await;
    for field in ["avatar_name", "avatar_id", "avatarId"] {
        let token = env.token().await;
        let (status, body) = env
            .post(
                "/v1/streaming.new",
                &token,
                json!({"version": "v2", field: "Wayne_20240711"}),
            )
            .await;
        assert_eq!(status, 200, "{field}: {body}");
        let id = body["data"]["session_id"].as_str().unwrap().to_owned();
        let (_, history) = env.get("/v2/streaming.list", &token).await;
        assert_eq!(history["data"][0]["avatar_id"], "Wayne_20240711", "{field}");
        env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await;
    }
}

#[tokio::test]
async fn the_exact_sdk_2_1_0_body_is_accepted() {
    // §9: the body SDK 2.1.0 builds, with every optional field.
    let env = TestEnv::start().await;
    let token = env.token().await;
    let body = json!({"avatar_name": "default", "quality": "low", "knowledge_base_id": "kb", "knowledge_base": "You sell tea.",
        "voice": {"voice_id": "v", "rate": 1.5, "emotion": "excited", "elevenlabs_settings": {"stability": 0.5, "model_id": "eleven_flash_v2_5"}},
        "language": "en", "version": "v2", "video_encoding": "H264", "source": "sdk", "disable_idle_timeout": false,
        "stt_settings": {"provider": "deepgram", "confidence": 0.55}, "ia_is_livekit_transport": true,
        "silence_response": false, "activity_idle_timeout": 120});
    assert_success(&env.post("/v1/streaming.new", &token, body).await);
}

#[tokio::test]
async fn capitalised_emotions_from_the_docs_are_accepted() {
    // §3.2: docs and 1.x send `Excited`, 2.x `excited`.
    let env = TestEnv::start().await;
    let token = env.token().await;
    assert_success(
        &env.post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "voice": {"emotion": "Soothing"}}),
        )
        .await,
    );
}

#[tokio::test]
async fn an_inactive_avatar_is_not_allowed() {
    // §5: 10013 for an avatar the key may not use.
    let env = TestEnv::start().await;
    let token = env.token().await;
    assert_error(
        &env.post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "avatar_id": "retired_demo_avatar"}),
        )
        .await,
        403,
        10013,
    );
}

#[tokio::test]
async fn strict_avatars_refuse_unknown_ids() {
    // §5: 10012 Avatar not found.
    let env = TestEnv::with_config(ServerConfig {
        strict_avatars: true,
        ..understudy_e2e::rest_config()
    })
    .await;
    let token = env.token().await;
    assert_error(
        &env.post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "avatar_id": "nobody"}),
        )
        .await,
        404,
        10012,
    );
    let token = env.token().await;
    assert_success(
        &env.post(
            "/v1/streaming.new",
            &token,
            json!({"version": "v2", "avatar_id": "default"}),
        )
        .await,
    );
}

#[tokio::test]
async fn an_idle_timeout_out_of_the_documented_range_is_invalid() {
    // §3.2: activity_idle_timeout is 30-3600 s.
    let env = TestEnv::start().await;
    for secs in [29, 3601] {
        let token = env.token().await;
        assert_error(
            &env.post(
                "/v1/streaming.new",
                &token,
                json!({"version": "v2", "activity_idle_timeout": secs}),
            )
            .await,
            400,
            400006,
        );
    }
}

#[tokio::test]
async fn start_moves_a_v2_session_to_connected() {
    // §6: new -> connecting -> connected (connected on start until the room exists).
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    assert_eq!(env.status_of(&token, &id).await, "new");
    assert_success(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
    );
    assert_eq!(env.status_of(&token, &id).await, "connected");
}

#[tokio::test]
async fn a_second_start_is_a_state_error() {
    // §6 table: start on a connected session is 10003 [INF].
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    assert_error(
        &env.post("/v1/streaming.start", &token, json!({"session_id": id}))
            .await,
        400,
        10003,
    );
}

#[tokio::test]
async fn calls_before_start_get_10001() {
    // §6 table: a call that needs the session to have left `new`.
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    let body = json!({"session_id": id, "text": "hi"});
    for path in [
        "task",
        "interrupt",
        "start_listening",
        "stop_listening",
        "keep_alive",
    ] {
        assert_error(
            &env.post(&format!("/v1/streaming.{path}"), &token, body.clone())
                .await,
            400,
            10001,
        );
    }
}

#[tokio::test]
async fn ice_is_accepted_before_and_after_start() {
    // §3.4: ice races start, so new and connecting/connected all accept it.
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    let ice = json!({"session_id": id, "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}});
    assert_success(&env.post("/v1/streaming.ice", &token, ice.clone()).await);
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    assert_success(&env.post("/v1/streaming.ice", &token, ice).await);
}

#[tokio::test]
async fn listening_and_keep_alive_succeed_on_a_connected_session() {
    // §3.7, §3.8.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    for path in [
        "start_listening",
        "stop_listening",
        "keep_alive",
        "interrupt",
    ] {
        let answer = env
            .post(
                &format!("/v1/streaming.{path}"),
                &token,
                json!({"session_id": id}),
            )
            .await;
        assert_success(&answer);
        assert!(answer.1["data"].is_null());
    }
}

#[tokio::test]
async fn after_stop_calls_get_10005_and_stop_gets_400004() {
    // §3.3, §3.9, §6: closed sessions answer 10005; a second stop answers 400004 with the id.
    let env = TestEnv::start().await;
    let (token, id) = env.connected_session().await;
    assert_success(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
    );
    for path in [
        "start",
        "task",
        "interrupt",
        "keep_alive",
        "start_listening",
    ] {
        let answer = env
            .post(
                &format!("/v1/streaming.{path}"),
                &token,
                json!({"session_id": id, "text": "hi"}),
            )
            .await;
        assert_error(&answer, 400, 10005);
        assert_eq!(answer.1["message"], "session state wrong: closed");
    }
    let again = env
        .post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    assert_error(&again, 400, 400004);
    assert_eq!(
        again.1["message"],
        format!("Session does not exist. SessionID: {id}")
    );
}

#[tokio::test]
async fn a_new_session_can_be_stopped_before_start() {
    // §6: stop from new -> closed.
    let env = TestEnv::start().await;
    let (token, id) = env.new_session().await;
    assert_success(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
            .await,
    );
    assert_eq!(env.status_of(&token, &id).await, "closed");
}

#[tokio::test]
async fn unknown_sessions_get_10006_and_stop_gets_400004() {
    // §5: 10006 Session not found; §3.9: 400004 on stop.
    let env = TestEnv::start().await;
    let token = env.token().await;
    assert_error(
        &env.post(
            "/v1/streaming.task",
            &token,
            json!({"session_id": "nope", "text": "hi"}),
        )
        .await,
        404,
        10006,
    );
    assert_error(
        &env.post("/v1/streaming.stop", &token, json!({"session_id": "nope"}))
            .await,
        400,
        400004,
    );
    let key = [("x-api-key", KEY)];
    assert_error(
        &env.send(
            "POST",
            "/v1/streaming.start",
            &key,
            Some(json!({"session_id": "nope"})),
        )
        .await,
        404,
        10006,
    );
}
