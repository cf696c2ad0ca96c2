//! LiveKit's HTTP probes (`livekit.md` §1): `HEAD /`, `/rtc/validate`, and the 404 that sends
//! clients 2.17+ from `/rtc/v1` back to `/rtc`.

use serde_json::json;
use understudy_e2e::TestEnv;

const ORIGIN: &str = "http://localhost:5173";

#[tokio::test]
async fn head_root_answers_at_once_with_cors() {
    // §1.3: prepareConnection does HEAD / and awaits it.
    let env = TestEnv::start().await;
    let response = env
        .http
        .head(env.url("/"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn validate_accepts_a_live_sessions_token_and_refuses_others() {
    // §1.2: 200 "success" for a good token; 401 for an ended session (refuses resumes).
    let env = TestEnv::start().await;
    let token = env.token().await;
    let (_, body) = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    let id = body["data"]["session_id"].as_str().unwrap();
    let access = body["data"]["access_token"].as_str().unwrap();
    let validate = |t: &str| {
        env.http
            .get(env.url(&format!(
                "/rtc/validate?access_token={t}&auto_subscribe=1&protocol=15"
            )))
            .header("origin", ORIGIN)
            .send()
    };

    let ok = validate(access).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(ok.text().await.unwrap(), "success");
    assert_eq!(validate("not.a.jwt").await.unwrap().status(), 401);

    env.post("/v1/streaming.stop", &token, json!({"session_id": id}))
        .await;
    assert_eq!(validate(access).await.unwrap().status(), 401);
}

#[tokio::test]
async fn rtc_v1_is_404_with_cors_so_new_clients_fall_back() {
    // §1.2: a CORS-less 404 would be ServerUnreachable; the body must not say the room is missing.
    let env = TestEnv::start().await;
    for path in ["/rtc/v1?access_token=x", "/rtc/v1/validate?access_token=x"] {
        let response = env
            .http
            .get(env.url(path))
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
        assert!(
            !response
                .text()
                .await
                .unwrap()
                .contains("requested room does not exist")
        );
    }
}
