//! TLS: the HTTPS listener with a generated certificate that clients can trust, and `wss://`
//! URLs handed back to clients that came in over HTTPS.

use serde_json::json;
use understudy_e2e::{KEY, http_client};

#[tokio::test]
async fn https_serves_the_api_with_a_trustable_generated_certificate() {
    let (server, _dir) = understudy_e2e::https_server(&["api.mock.test"], true).await;
    let tls = server.tls().unwrap();
    assert_eq!(
        std::fs::read_to_string(&tls.cert_path).unwrap(),
        tls.cert_pem,
        "the PEM is written for clients"
    );
    assert!(tls.spki_sha256.is_some());

    let client = http_client(Some(&tls.cert_pem));
    let base = server.https_uri().unwrap();
    let token: serde_json::Value = client
        .post(format!("{base}/v1/streaming.create_token"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["data"]["token"].as_str().unwrap();
    let session: serde_json::Value = client
        .post(format!("{base}/v1/streaming.new"))
        .bearer_auth(token)
        .json(&json!({"version": "v2"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = session["data"]["url"].as_str().unwrap();
    assert!(url.starts_with("wss://localhost:"), "{url}");

    // A client that does not trust the certificate is refused.
    assert!(
        http_client(None)
            .get(format!("{base}/__understudy/health"))
            .send()
            .await
            .is_err()
    );
    server.shutdown().await;
}
