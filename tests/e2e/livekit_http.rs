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
    // §1.2: 200 "success" for a good token whose room `/rtc` would let in; 401 with `/rtc`'s
    // reason before start and once the session has ended (refuses resumes).
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

    let early = validate(access).await.unwrap();
    assert_eq!(early.status(), 401, "not started: /rtc would refuse it too");
    assert_eq!(
        early.text().await.unwrap(),
        "the session has not been started"
    );
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
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

#[tokio::test]
async fn the_token_may_come_as_a_bearer_header_as_livekits_own_sdks_send_it() {
    // livekit.md §1.1: a LiveKit server reads `Authorization: Bearer` first, then the query;
    // the Python and Rust LiveKit SDKs (livekit >= 1.0.18, pipecat's transport) use the header.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let env = TestEnv::with_config(understudy_server::ServerConfig::default()).await;
    let token = env.token().await;
    let (_, body) = env
        .post("/v1/streaming.new", &token, json!({"version": "v2"}))
        .await;
    let id = body["data"]["session_id"].as_str().unwrap().to_owned();
    let access = body["data"]["access_token"].as_str().unwrap().to_owned();
    env.post("/v1/streaming.start", &token, json!({"session_id": id}))
        .await;
    let validate = |authorization: &str| {
        env.http
            .get(env.url("/rtc/validate?auto_subscribe=1"))
            .header("authorization", authorization.to_owned())
            .send()
    };
    assert_eq!(
        validate(&format!("Bearer {access}"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        validate(&access).await.unwrap().status(),
        401,
        "Bearer is required"
    );

    let ws = body["data"]["url"].as_str().unwrap().replace("http", "ws");
    let mut request = format!("{ws}/rtc?auto_subscribe=1&protocol=15")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    let (_socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let mut bad = format!("{ws}/rtc?access_token={access}")
        .into_client_request()
        .unwrap();
    bad.headers_mut()
        .insert("authorization", "Token nope".parse().unwrap());
    match tokio_tungstenite::connect_async(bad).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(
                response.status(),
                401,
                "a header that is not Bearer is refused"
            )
        }
        other => panic!("expected 401, got {other:?}"),
    }
}
