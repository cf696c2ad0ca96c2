//! §3.12 knowledge-base routes.

use serde_json::json;
use understudy_e2e::{KEY, TestEnv, assert_error, assert_success};

#[tokio::test]
async fn knowledge_bases_can_be_created_listed_updated_and_deleted() {
    let env = TestEnv::start().await;
    let key = [("x-api-key", KEY)];
    let created = env
        .send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(json!({"name": "Tea", "opening": "Hi!", "prompt": "You sell tea."})),
        )
        .await;
    assert_success(&created);
    let id = created.1["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.1["data"]["knowledge_base_id"],
        id.as_str(),
        "some clients read this name"
    );

    let (_, listed) = env
        .send("GET", "/v1/streaming/knowledge_base/list", &key, None)
        .await;
    assert_eq!(listed["data"]["list"][0]["name"], "Tea");

    let path = format!("/v1/streaming/knowledge_base/{id}");
    let updated = env
        .send(
            "POST",
            &path,
            &key,
            Some(json!({"prompt": "You sell coffee."})),
        )
        .await;
    assert_success(&updated);
    assert_eq!(updated.1["data"]["prompt"], "You sell coffee.");
    assert_eq!(updated.1["data"]["name"], "Tea");

    assert_success(&env.send("DELETE", &path, &key, None).await);
    assert_error(
        &env.send("POST", &format!("{path}/delete"), &key, None)
            .await,
        404,
        404,
    );
    let (_, listed) = env
        .send("GET", "/v1/streaming/knowledge_base/list", &key, None)
        .await;
    assert_eq!(listed["data"]["list"], json!([]));
}

#[tokio::test]
async fn knowledge_bases_belong_to_one_account() {
    let env = TestEnv::start().await;
    let created = env
        .send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &[("x-api-key", KEY)],
            Some(json!({"name": "A", "prompt": "p"})),
        )
        .await;
    let id = created.1["data"]["id"].as_str().unwrap();
    let other = [("x-api-key", "another-account")];
    assert_error(
        &env.send(
            "POST",
            &format!("/v1/streaming/knowledge_base/{id}/delete"),
            &other,
            None,
        )
        .await,
        404,
        404,
    );
    let (_, listed) = env
        .send("GET", "/v1/streaming/knowledge_base/list", &other, None)
        .await;
    assert_eq!(listed["data"]["list"], json!([]));
}

#[tokio::test]
async fn prompts_over_4000_characters_and_missing_names_are_invalid() {
    // §3.12: the forum's 4000-character limit.
    let env = TestEnv::start().await;
    let key = [("x-api-key", KEY)];
    let long = "x".repeat(4001);
    assert_error(
        &env.send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(json!({"name": "A", "prompt": long})),
        )
        .await,
        400,
        400006,
    );
    assert_error(
        &env.send(
            "POST",
            "/v1/streaming/knowledge_base/create",
            &key,
            Some(json!({"prompt": "p"})),
        )
        .await,
        400,
        400006,
    );
}
