//! §1.2 CORS: the browser SDK's preflights pass and every answer, errors included, carries
//! `Access-Control-Allow-Origin`.

use understudy_e2e::TestEnv;

const ORIGIN: &str = "http://localhost:5173";

#[tokio::test]
async fn preflights_allow_the_sdk_headers() {
    let env = TestEnv::start().await;
    let response = env
        .http
        .request(reqwest::Method::OPTIONS, env.url("/v1/streaming.new"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-api-key",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["authorization", "content-type", "x-api-key"] {
        assert!(allowed.contains(header), "{allowed}");
    }
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
}

#[tokio::test]
async fn error_answers_carry_cors_headers_too() {
    // Otherwise the SDK sees a network error instead of the 401.
    let env = TestEnv::start().await;
    let response = env
        .http
        .post(env.url("/v1/streaming.new"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
}
