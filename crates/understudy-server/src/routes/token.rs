//! `POST /v1/streaming.create_token` (§3.1): an API key buys a session token. With the
//! `session_id` of one of the key's sessions (the iOS demo's second token, §1.1), the token acts
//! for that session: its REST calls and its chat socket, never a new session.

use crate::extract::{ApiKey, HeyJson};
use crate::ids;
use crate::registry::TokenRecord;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use tokio::time::Instant;
use understudy_proto::TokenEnvelope;
use understudy_proto::rest::token::{CreateTokenData, CreateTokenRequest};

pub async fn create_token(
    State(state): State<AppState>,
    ApiKey(api_key): ApiKey,
    HeyJson(request): HeyJson<CreateTokenRequest>,
) -> Json<TokenEnvelope<CreateTokenData>> {
    let token_type = if state.config().is_paid {
        "sa_from_paid"
    } else {
        "sa_from_trial"
    };
    let token = ids::session_token(token_type);
    let ttl = state.config().clock().to_wall(state.config().token_ttl);
    let mut registry = state.registry();
    // [INF] A session id the key cannot see is ignored: the token is a plain one.
    let bound = request
        .session_id
        .filter(|id| registry.is_owned_by(id, &api_key));
    // Through the sweep, so a mock minting for hours keeps only live tokens.
    registry.insert_token(
        token.clone(),
        TokenRecord {
            api_key,
            issued_at: Instant::now(),
            used_by: bound,
        },
        ttl,
    );
    drop(registry);
    Json(TokenEnvelope::success(CreateTokenData { token }))
}
