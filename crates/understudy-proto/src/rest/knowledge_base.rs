//! The knowledge-base routes under `/v1/streaming/knowledge_base` (§3.12). Reconstructed from
//! community clients, so shapes here are the most plausible reading of them [INF].

use serde::{Deserialize, Serialize};

/// Body of create and update. Create needs `name` and `prompt`; update changes what it is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBaseRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// One knowledge base. `knowledge_base_id` repeats `id` because some clients read that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBase {
    pub id: String,
    pub knowledge_base_id: String,
    pub name: String,
    pub opening: String,
    pub prompt: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `data` of the list route: clients read `data.list[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBaseList {
    pub list: Vec<KnowledgeBase>,
}
