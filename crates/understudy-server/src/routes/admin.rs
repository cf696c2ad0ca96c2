//! Admin routes under `/__understudy`, a prefix no HeyGen path can take: the request journal,
//! a session dump, a full reset, process stats and a health check (voice control is in `voice_admin`, latency
//! profiles in `latency_admin`). They need no credentials and are not
//! journaled themselves.

use crate::journal::RecordedRequest;
use crate::session::CloseReason;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::time::Instant;
use understudy_proto::SessionState;
use understudy_proto::stats::{MockStats, ProcessStats};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/sessions", get(sessions))
        .route("/reset", axum::routing::post(reset))
        .route("/stats", get(stats))
}

/// The process's memory and CPU time, and how many sessions and tasks it holds: what a bench
/// in another process divides by its session count.
async fn stats(State(state): State<AppState>) -> Json<MockStats> {
    let (live, total) = {
        let registry = state.registry();
        let live = registry
            .sessions()
            .filter(|s| s.state != SessionState::Closed)
            .count();
        (live, registry.sessions().count())
    };
    Json(MockStats {
        process: ProcessStats::read(),
        live_sessions: live,
        sessions: total,
        tasks: state.running_tasks(),
    })
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn requests(State(state): State<AppState>) -> Json<Vec<RecordedRequest>> {
    let snapshot = state.journal().snapshot();
    Json(crate::journal::export(&snapshot))
}

async fn clear_requests(State(state): State<AppState>) -> Json<serde_json::Value> {
    state.journal().clear();
    Json(serde_json::json!({"cleared": true}))
}

async fn reset(State(state): State<AppState>) -> Json<serde_json::Value> {
    state.reset();
    Json(serde_json::json!({"reset": true}))
}

/// A session as the admin dump shows it: state, owner, timers and what it is saying.
#[derive(Debug, Serialize)]
pub struct SessionDump {
    pub session_id: String,
    /// The owner's API key as a fingerprint, like everything else the admin API shows.
    pub api_key: String,
    pub state: SessionState,
    pub close_reason: Option<CloseReason>,
    pub avatar_id: String,
    pub created_at: i64,
    pub age_ms: u128,
    pub idle_ms: u128,
    pub listening: bool,
    pub speaking_task_id: Option<String>,
    pub queued_task_ids: Vec<String>,
    /// Whether a user turn is open (voice).
    pub user_speaking: bool,
    /// User turns heard so far.
    pub user_turns: u64,
    /// Milliseconds of microphone audio the voice detector has judged.
    pub audio_heard_ms: u128,
    /// Transcripts scripted for the next turns and not yet used.
    pub scripted_utterances: usize,
    pub push_to_talk: bool,
    /// The name of the latency profile the session follows.
    pub latency_profile: String,
}

async fn sessions(State(state): State<AppState>) -> Json<Vec<SessionDump>> {
    let now = Instant::now();
    let registry = state.registry();
    let mut dumps: Vec<(u64, SessionDump)> = registry
        .sessions()
        .map(|s| {
            let speaking = s.speech.current(now).map(|t| t.task_id.clone());
            let queued = s
                .speech
                .pending(now)
                .filter(|t| Some(&t.task_id) != speaking.as_ref())
                .map(|t| t.task_id.clone())
                .collect();
            let dump = SessionDump {
                session_id: s.id.clone(),
                api_key: crate::redact::fingerprint(&s.owner.api_key),
                state: s.state,
                close_reason: s.close_reason,
                avatar_id: s.settings.avatar_id.clone(),
                created_at: s.created_unix,
                age_ms: s.age(now).as_millis(),
                idle_ms: now.duration_since(s.last_activity).as_millis(),
                listening: s.listening,
                speaking_task_id: speaking,
                queued_task_ids: queued,
                user_speaking: s.voice.is_user_speaking(),
                user_turns: s.voice.turns,
                audio_heard_ms: s.voice.audio_heard.as_millis(),
                scripted_utterances: s.voice.scripted(),
                push_to_talk: s.voice.push_to_talk,
                latency_profile: s.latency_profile().name.clone(),
            };
            (s.seq, dump)
        })
        .collect();
    dumps.sort_by_key(|(seq, _)| *seq);
    Json(dumps.into_iter().map(|(_, d)| d).collect())
}
