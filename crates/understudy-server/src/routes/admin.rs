//! Admin routes under `/__understudy`, a prefix no HeyGen path can take: the request journal
//! (`?since=<seq>` for the entries after one already seen), a session dump, ending one session,
//! a full reset, process stats and a health check (voice control is in `voice_admin`, latency
//! profiles in `latency_admin`). They need no credentials and are not
//! journaled themselves.

use crate::error::ApiError;
use crate::journal::RecordedRequest;
use crate::session::{CloseReason, Session};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use tokio::time::Instant;
use understudy_proto::admin::{ScheduledTaskDump, SessionDump};
use understudy_proto::stats::{MockStats, ProcessStats};
use understudy_proto::{ErrorKind, SessionState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/sessions", get(sessions))
        .route("/sessions/{id}", axum::routing::delete(end_session))
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
        stun_answers: state
            .stun_answers()
            .load(std::sync::atomic::Ordering::Relaxed),
    })
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// The journal, or with `?since=<seq>` only the entries after that one (a poller's last).
async fn requests(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Vec<RecordedRequest>>, ApiError> {
    let since = match query.get("since") {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            ApiError::invalid_params(format!("since: a sequence number, not {raw:?}"))
        })?),
    };
    let mut snapshot = state.journal().snapshot();
    if let Some(since) = since {
        snapshot.retain(|(seq, _)| *seq > since);
    }
    Ok(Json(crate::journal::export(&snapshot)))
}

/// Ends a session as `streaming.stop` would, without its owner's credential (the inspector's
/// button): `{"ended": true}`; 10006 for an unknown session, 10005 for one already closed.
async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.registry().session(&id).is_none() {
        return Err(ApiError::new(ErrorKind::SessionNotFound));
    }
    // Whether it was live is decided inside the close, so two ends cannot both succeed.
    if state.close_session(&id, CloseReason::Stopped) {
        Ok(Json(serde_json::json!({"ended": true})))
    } else {
        Err(ApiError::new(ErrorKind::StateClosed))
    }
}

async fn clear_requests(State(state): State<AppState>) -> Json<serde_json::Value> {
    state.journal().clear();
    Json(serde_json::json!({"cleared": true}))
}

async fn reset(State(state): State<AppState>) -> Json<serde_json::Value> {
    state.reset();
    Json(serde_json::json!({"reset": true}))
}

async fn sessions(State(state): State<AppState>) -> Json<Vec<SessionDump>> {
    let now = Instant::now();
    let registry = state.registry();
    let mut dumps: Vec<(u64, SessionDump)> =
        registry.sessions().map(|s| (s.seq, dump(s, now))).collect();
    dumps.sort_by_key(|(seq, _)| *seq);
    Json(dumps.into_iter().map(|(_, d)| d).collect())
}

/// Milliseconds from `now` to `at`, negative when `at` has passed.
fn millis_from(now: Instant, at: Instant) -> i64 {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if at >= now {
        ms(at - now)
    } else {
        -ms(now - at)
    }
}

fn dump(s: &Session, now: Instant) -> SessionDump {
    let speaking = s.speech.current(now).map(|t| t.task_id.clone());
    let queued = s
        .speech
        .pending(now)
        .filter(|t| Some(&t.task_id) != speaking.as_ref())
        .map(|t| t.task_id.clone())
        .collect();
    let schedule = s
        .speech
        .pending(now)
        .map(|t| ScheduledTaskDump {
            task_id: t.task_id.clone(),
            task_type: t.task_type,
            text: t.spoken_text.clone(),
            client_audio: t.audio.is_some(),
            starts_in_ms: millis_from(now, t.starts_at),
            ends_in_ms: millis_from(now, t.ends_at),
        })
        .collect();
    SessionDump {
        session_id: s.id.clone(),
        api_key: crate::redact::fingerprint(&s.owner.api_key),
        state: s.state,
        close_reason: s.close_reason,
        protocol: s.settings.protocol,
        liveavatar: s.liveavatar.as_ref().map(|la| la.mode),
        avatar_id: s.settings.avatar_id.clone(),
        quality: s.settings.quality,
        video_encoding: s.settings.video_encoding,
        created_at: s.created_unix,
        age_ms: s.age(now).as_millis(),
        idle_ms: now.duration_since(s.last_activity).as_millis(),
        listening: s.listening,
        speaking_task_id: speaking,
        queued_task_ids: queued,
        schedule,
        viewers: s.room_clients,
        room_members: s
            .room_members()
            .iter()
            .map(|m| m.identity.clone())
            .collect(),
        chat_sockets: s.chat_sockets,
        realtime_sockets: s.realtime_sockets,
        user_speaking: s.voice.is_user_speaking(),
        user_turns: s.voice.turns,
        audio_heard_ms: s.voice.audio_heard.as_millis(),
        scripted_utterances: s.voice.scripted(),
        push_to_talk: s.voice.push_to_talk,
        latency_profile: s.latency_profile().name.clone(),
    }
}
