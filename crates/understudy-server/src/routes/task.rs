//! Speech routes: `streaming.task`, `interrupt`, `start_listening`, `stop_listening`
//! (§3.5-§3.7, §7.3).

use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::latency::Phase;
use crate::session::{Caller, Operation};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use tokio::time::Instant;
use understudy_proto::ApiEnvelope;
use understudy_proto::hops;
use understudy_proto::rest::SessionIdRequest;
use understudy_proto::rest::task::{TaskData, TaskMode, TaskRequest};

type Empty = Json<ApiEnvelope<()>>;

/// Queues a task behind whatever the avatar is saying. `async` answers at once; `sync` answers
/// when its speech ends, or earlier if an interrupt or the session's end cuts it. Both answer
/// `{duration_ms, task_id}` with the planned duration.
pub async fn task(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<TaskRequest>,
) -> Result<Json<ApiEnvelope<TaskData>>, ApiError> {
    if request.text.trim().is_empty() {
        return Err(ApiError::invalid_params("text: must not be empty"));
    }
    let task_type = request.task_type.unwrap_or_default();
    tracing::trace!(target: hops::TARGET, hop = hops::SERVER_SPEAK_READ);
    let (task, mut interrupts, ended, delay, clock) = {
        let mut registry = state.registry();
        let session = registry.session_for(&caller, &request.session_id)?;
        let task = session.speak(Instant::now(), &request.text, task_type)?;
        let delay = session.answer_delay(Phase::Task);
        (
            task,
            session.interrupts.subscribe(),
            session.ended.clone(),
            delay,
            session.clock,
        )
    };

    if request.task_mode.unwrap_or_default() == TaskMode::Sync {
        // An interrupt moves the end of the task to when the avatar falls silent.
        let mut ends_at = task.ends_at;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(ends_at) => break,
                changed = interrupts.changed() => {
                    let silent_at = *interrupts.borrow_and_update();
                    match (changed, silent_at) {
                        (Ok(()), Some(at)) => ends_at = ends_at.min(at),
                        _ => break,
                    }
                }
                () = ended.cancelled() => break,
            }
        }
    } else if delay.is_zero() {
        // The schedule change woke the viewers' stages, and tokio runs a task it wakes next on
        // the same thread, where no other thread may take it: behind this answer's writing
        // (about 30 µs of hyper's work). The events are what the app waits for; they go
        // first, and the answer after them.
        tokio::task::yield_now().await;
    } else {
        crate::latency::pause(delay).await;
    }
    Ok(Json(ApiEnvelope::success(TaskData {
        // In the service's time: the same figure at any time scale.
        duration_ms: clock.to_service(task.duration()).as_secs_f64() * 1000.0,
        task_id: task.task_id,
    })))
}

/// Cuts the current task and drops the queue; does nothing while the avatar is silent.
pub async fn interrupt(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<SessionIdRequest>,
) -> Result<Empty, ApiError> {
    state.act_on(
        &caller,
        &request.session_id,
        Operation::Interrupt,
        |session, now| session.interrupt(now),
    )?;
    Ok(Json(ApiEnvelope::empty()))
}

/// Marks the avatar as listening (shown in the admin dump; no pose is drawn).
pub async fn start_listening(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<SessionIdRequest>,
) -> Result<Empty, ApiError> {
    state.act_on(
        &caller,
        &request.session_id,
        Operation::StartListening,
        |session, _| {
            session.listening = true;
        },
    )?;
    Ok(Json(ApiEnvelope::empty()))
}

/// Marks the avatar as no longer listening.
pub async fn stop_listening(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<SessionIdRequest>,
) -> Result<Empty, ApiError> {
    state.act_on(
        &caller,
        &request.session_id,
        Operation::StopListening,
        |session, _| {
            session.listening = false;
        },
    )?;
    Ok(Json(ApiEnvelope::empty()))
}
