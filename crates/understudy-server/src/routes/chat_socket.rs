//! `/v1/ws/streaming.chat` (§8): the SDK's chat WebSocket, on the same HTTP and HTTPS listeners
//! as the REST API.
//!
//! The browser cannot send headers, so the session token comes as the `session_token` query
//! parameter. Client frames are binary `pipecat.Frame`s: a `TextFrame` becomes a `talk` task;
//! audio is accepted and counted (the voice issue gives it meaning); anything that does not
//! decode is dropped. When the session ends the socket closes with code 1000 and a reason
//! naming why [INF: the real close code was never captured].

use crate::error::ApiError;
use crate::journal::MAX_BODY_BYTES;
use crate::session::{Caller, CloseReason, Operation};
use crate::state::AppState;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use prost::Message as _;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;
use understudy_proto::ErrorKind;
use understudy_proto::pipecat::{Frame, FrameKind};
use understudy_proto::rest::task::TaskType;

/// Close code sent when the session ends: a normal closure.
const SESSION_ENDED: u16 = 1000;

/// Opens the socket once the token can see a started session.
pub async fn chat_socket(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match open(&state, &query) {
        Ok((caller, session_id, ended)) => match upgrade {
            Ok(upgrade) => upgrade
                .max_message_size(MAX_BODY_BYTES)
                .on_upgrade(move |socket| serve(socket, state, caller, session_id, ended, query))
                .into_response(),
            Err(rejection) => {
                ApiError::invalid_params(format!("expected a WebSocket upgrade: {rejection}"))
                    .into_response()
            }
        },
        Err(err) => err.into_response(),
    }
}

/// Checks the query before upgrading, so a refused client gets a HeyGen error body.
fn open(
    state: &AppState,
    query: &HashMap<String, String>,
) -> Result<(Caller, String, CancellationToken), ApiError> {
    let session_id = query
        .get("session_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid_params("session_id: required"))?;
    let token = query
        .get("session_token")
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized))?;
    let caller = state
        .caller_for_token(token)
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized))?;
    let ended = state.act_on(
        &caller,
        session_id,
        Operation::OpenChatSocket,
        |session, _| session.ended.clone(),
    )?;
    Ok((caller, session_id.clone(), ended))
}

/// Owns the socket until the client leaves or the session ends.
async fn serve(
    mut socket: WebSocket,
    state: AppState,
    caller: Caller,
    session_id: String,
    ended: CancellationToken,
    query: HashMap<String, String>,
) {
    tracing::debug!(%session_id, ?query, "chat socket open");
    if let Some(greeting) = query.get("opening_text").filter(|t| !t.trim().is_empty()) {
        speak(&state, &caller, &session_id, greeting, TaskType::Repeat);
    }
    let mut dropped = 0u64;
    loop {
        tokio::select! {
            () = ended.cancelled() => {
                let reason = state.close_reason(&session_id).map_or("session ended", describe);
                let frame = CloseFrame { code: SESSION_ENDED, reason: reason.into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if !handle_frame(&state, &caller, &session_id, &bytes) {
                        dropped += 1;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::debug!(%session_id, dropped, "chat socket closed");
}

/// Applies one client frame; false when it was dropped (garbage, or refused by the session).
fn handle_frame(state: &AppState, caller: &Caller, session_id: &str, bytes: &[u8]) -> bool {
    match Frame::decode(bytes) {
        Ok(Frame {
            frame: Some(FrameKind::Text(text)),
        }) if !text.text.trim().is_empty() => {
            speak(state, caller, session_id, &text.text, TaskType::Talk)
        }
        Ok(Frame {
            frame: Some(FrameKind::Audio(_)),
        }) => {
            let _ = state.act_on(caller, session_id, Operation::Task, |session, now| {
                session.touch(now)
            });
            true
        }
        _ => false,
    }
}

fn speak(
    state: &AppState,
    caller: &Caller,
    session_id: &str,
    text: &str,
    task_type: TaskType,
) -> bool {
    let config = state.config();
    state
        .act_on(caller, session_id, Operation::Task, |session, now| {
            session.speak(
                now,
                text,
                task_type,
                config.words_per_minute,
                config.reply_seed,
            );
        })
        .is_ok()
}

fn describe(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Stopped => "session stopped",
        CloseReason::IdleTimeout => "session idle timeout",
        CloseReason::DurationLimit => "session duration limit reached",
        CloseReason::ServerReset => "server reset",
    }
}
