//! `/v1/ws/streaming.chat` (§8): the SDK's chat WebSocket, on the same HTTP and HTTPS listeners
//! as the REST API.
//!
//! The browser cannot send headers, so the session token comes as the `session_token` query
//! parameter. Client frames are binary `pipecat.Frame`s: a `TextFrame` becomes a `talk` task;
//! an `AudioRawFrame` goes to the voice listener, whose turns come back as `user_start` /
//! `user_stop` JSON text frames (and `user_silence` with `silence_response=true`); anything that
//! does not decode is dropped. When the session ends the socket closes with code 1000 and a
//! reason naming why [INF: the real close code was never captured]; audio at a rate or channel
//! count no microphone produces closes it with 1007 and a reason saying what to send.

use crate::error::ApiError;
use crate::routes::MAX_BODY_BYTES;
use crate::routes::socket_faults::{SocketFaults, close};
use crate::session::{Caller, CloseReason, MAX_CLIENTS_PER_DOOR, Operation};
use crate::state::AppState;
use crate::state::Door;
use crate::voice;
use crate::voice::conversation::UserEvent;
use crate::voice::frames::{ClientFrame, read_frame};
use crate::voice::listener::{Heard, Listener};
use crate::voice::silence::{SilenceCheck, SilenceClock};
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use understudy_proto::ErrorKind;
use understudy_proto::events::ChatSocketEvent;
use understudy_proto::faults::CHAT_SOCKET;
use understudy_proto::hops;
use understudy_proto::rest::task::TaskType;

/// Close code sent when the session ends: a normal closure.
const SESSION_ENDED: u16 = 1000;
/// Close code for a socket over the session's limit (RFC 6455 "policy violation").
const POLICY_VIOLATION: u16 = 1008;

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
    if !state.has_room(session_id, Door::ChatSocket) {
        return Err(ApiError::with_detail(
            ErrorKind::RateLimited,
            format!("a session accepts at most {MAX_CLIENTS_PER_DOOR} chat sockets at once"),
        ));
    }
    Ok((caller, session_id.clone(), ended))
}

/// Close code for audio the server cannot hear (a sample rate or channel count outside what
/// microphones produce): RFC 6455's "invalid frame payload data".
const UNUSABLE_AUDIO: u16 = 1007;

/// Owns the socket until the client leaves or the session ends: reads frames, forwards the
/// session's user events, and prompts silence when asked to.
async fn serve(
    mut socket: WebSocket,
    state: AppState,
    caller: Caller,
    session_id: String,
    ended: CancellationToken,
    query: HashMap<String, String>,
) {
    let shown: Vec<String> = query
        .iter()
        .map(|(k, v)| crate::redact::query(&format!("{k}={v}")))
        .collect();
    tracing::debug!(%session_id, query = ?shown, "chat socket open");
    // Counted until this task ends; a race past the check before the upgrade closes here.
    let Some(_admitted) = state.admit(&session_id, Door::ChatSocket) else {
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: POLICY_VIOLATION,
                reason: "too many chat sockets on this session".into(),
            })))
            .await;
        return;
    };
    let flag = |name: &str| query.get(name).is_some_and(|v| v == "true");
    let Ok(mut user_events) =
        state.act_on(&caller, &session_id, Operation::OpenChatSocket, |s, _| {
            s.voice.push_to_talk = flag("push_to_talk");
            s.voice.user_events_in_room = query.get("arch_version").is_some_and(|v| v == "v2");
            s.voice.subscribe()
        })
    else {
        return;
    };
    if let Some(greeting) = query.get("opening_text").filter(|t| !t.trim().is_empty()) {
        // Said now, or when the session connects if the socket came first (the guide's flow).
        let _ = state.act_on(&caller, &session_id, Operation::OpenChatSocket, |s, now| {
            s.say_when_connected(now, greeting)
        });
    }
    let config = state.config();
    let prompt_after = config.clock().to_wall(config.silence_prompt_after);
    let mut silence =
        flag("silence_response").then(|| SilenceClock::new(prompt_after, config.silence_prompts));
    let mut next_silence_check = Instant::now() + prompt_after;
    let mut listener = Listener::new(state.clone(), session_id.clone());
    let mut dropped = 0u64;
    let mut last_audio = Instant::now();
    let mut fault_changes = state.faults().changes();
    let mut faults = SocketFaults::new(CHAT_SOCKET, CHAT_PATH);
    if !faults.take(&state, &session_id, &mut socket).await {
        return;
    }
    loop {
        // A client that stops sending audio mid-turn (closeVoiceChat) is silent, not speaking:
        // after the hangover with no frame at all, the turn ends.
        let audio_gap = async {
            if listener.is_speaking() {
                tokio::time::sleep_until(last_audio + listener.hangover()).await;
            } else {
                std::future::pending().await
            }
        };
        let silence_due = async {
            match silence {
                Some(_) => tokio::time::sleep_until(next_silence_check).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = ended.cancelled() => {
                let reason = state.close_reason(&session_id).map_or("session ended", describe);
                close(&mut socket, SESSION_ENDED, reason).await;
                break;
            }
            changed = fault_changes.changed() => {
                if changed.is_err() || !faults.take(&state, &session_id, &mut socket).await {
                    break;
                }
            }
            event = user_events.recv() => match event {
                Ok(UserEvent::Socket(event)) => {
                    if !send_event_with(&faults, &mut socket, &event).await {
                        break;
                    }
                }
                Ok(UserEvent::Room(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            () = audio_gap => listener.quiet_for(last_audio.elapsed()),
            () = silence_due => {
                let Some(clock) = silence.as_mut() else { continue };
                match clock.check(&state, &session_id, Instant::now()) {
                    SilenceCheck::WaitUntil(at) => next_silence_check = at,
                    SilenceCheck::Prompt(event, at) => {
                        next_silence_check = at;
                        if !send_event_with(&faults, &mut socket, &event).await {
                            break;
                        }
                    }
                    SilenceCheck::Ended => silence = None,
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => match handle_frame(&state, &mut listener, &session_id, &bytes, &mut last_audio) {
                    Ok(true) => {}
                    Ok(false) => dropped += 1,
                    Err(why) => {
                        close(&mut socket, UNUSABLE_AUDIO, &why).await;
                        break;
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    listener.close();
    tracing::debug!(%session_id, dropped, "chat socket closed");
}

/// Sends `event` as the socket's fault rules allow; false when the client is gone.
async fn send_event_with(
    faults: &SocketFaults,
    socket: &mut WebSocket,
    event: &ChatSocketEvent,
) -> bool {
    let Ok(json) = serde_json::to_string(event) else {
        return true;
    };
    faults.send(socket, json).await
}

/// The path a chat-socket fault is journaled on.
const CHAT_PATH: &str = "/v1/ws/streaming.chat";

/// Applies one client frame: `Ok(false)` when it was dropped (garbage, over the real-time
/// budget, or refused by the session); `Err` with a close reason for audio nobody can hear.
fn handle_frame(
    state: &AppState,
    listener: &mut Listener,
    session_id: &str,
    bytes: &[u8],
    last_audio: &mut Instant,
) -> Result<bool, String> {
    match read_frame(bytes) {
        ClientFrame::Talk(text) => {
            tracing::trace!(target: hops::TARGET, hop = hops::SERVER_SPEAK_READ);
            Ok(voice::speak_for_client(
                state,
                session_id,
                &text,
                TaskType::Talk,
            ))
        }
        ClientFrame::Audio { mono, sample_rate } => {
            *last_audio = Instant::now();
            if let Some(session) = state.registry().session_mut(session_id) {
                session.touch(Instant::now());
            }
            Ok(listener.hear(&mono, sample_rate) == Heard::Accepted)
        }
        ClientFrame::GarbledAudio => {
            *last_audio = Instant::now();
            Ok(false)
        }
        ClientFrame::Ignored => Ok(false),
        ClientFrame::Unusable(why) => Err(why),
    }
}

fn describe(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Stopped => "session stopped",
        CloseReason::IdleTimeout => "session idle timeout",
        CloseReason::DurationLimit => "session duration limit reached",
        CloseReason::ServerReset => "server reset",
    }
}
