//! `POST /v1/streaming.create_token` (§3.1): an API key buys a session token.

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
    HeyJson(_request): HeyJson<CreateTokenRequest>,
) -> Json<TokenEnvelope<CreateTokenData>> {
    let token_type = if state.config().is_paid {
        "sa_from_paid"
    } else {
        "sa_from_trial"
    };
    let token = ids::session_token(token_type);
    let ttl = state.config().clock().to_wall(state.config().token_ttl);
    // Through the sweep, so a mock minting for hours keeps only live tokens.
    state.registry().insert_token(
        token.clone(),
        TokenRecord {
            api_key,
            issued_at: Instant::now(),
            used_by: None,
        },
        ttl,
    );
    Json(TokenEnvelope::success(CreateTokenData { token }))
}
