//! `/v2-alpha/interactive-avatar/session/{session_id}`: the realtime endpoint `streaming.new`
//! hands out (`heygen-api.md` §3.14), on the same listeners as the REST API (ws and wss).
//!
//! pipecat opens it with no credential: the session id in the path is what the backend holds,
//! as with HeyGen's own host [INF]. The socket reports the session's state
//! (`session.state_updated`: `connecting` until a client joins the room, then `connected`,
//! then `closing` and `closed` when it ends, and the socket closes with 1000), takes the
//! client's audio for the avatar to say (see `realtime::utterance`), and reports the avatar
//! (see `realtime::follower`). A message it cannot use gets an `error` message and the
//! session goes on.

use crate::error::ApiError;
use crate::realtime::follower::Follower;
use crate::realtime::utterance::{self, Refusal, Started, Utterances};
use crate::realtime::{error, heygen_error};
use crate::routes::socket_faults::{SocketFaults, close};
use crate::session::{Caller, MAX_CLIENTS_PER_DOOR, Operation};
use crate::state::{AppState, Door};
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;
use understudy_proto::faults::REALTIME;
use understudy_proto::realtime::{
    CLIENT_MESSAGE_TYPES, RealtimeClientMessage, RealtimeServerMessage, RealtimeSessionState,
    TaskRef,
};
use understudy_proto::{ErrorKind, SessionState};

/// The largest message the socket reads: room for [`utterance::MAX_AUDIO_BYTES`] of audio in
/// base64 and then some, so a message just over the audio limit gets an `error` answer;
/// anything larger closes the socket (1009).
const MAX_MESSAGE_BYTES: usize = 4 * utterance::MAX_AUDIO_BYTES;
/// The session ended: a normal closure.
const SESSION_ENDED: u16 = 1000;
const POLICY_VIOLATION: u16 = 1008;

pub async fn realtime_socket(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let owner = {
        let registry = state.registry();
        match registry.session(&session_id) {
            Some(s) if s.state.is_live() => Ok(s.owner.clone()),
            Some(s) => Err(ApiError::new(ErrorKind::state_wrong(s.state))),
            None => Err(ApiError::new(ErrorKind::SessionNotFound)),
        }
    };
    let owner = match owner {
        Ok(owner) if !state.has_room(&session_id, Door::Realtime) => {
            drop(owner);
            return ApiError::with_detail(
                ErrorKind::RateLimited,
                format!("a session accepts at most {MAX_CLIENTS_PER_DOOR} realtime sockets"),
            )
            .into_response();
        }
        Ok(owner) => owner,
        Err(e) => return e.into_response(),
    };
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_MESSAGE_BYTES)
            .on_upgrade(move |socket| serve(socket, state, owner, session_id))
            .into_response(),
        Err(rejection) => {
            ApiError::invalid_params(format!("expected a WebSocket upgrade: {rejection}"))
                .into_response()
        }
    }
}

/// `ws_url` of a LiveAvatar LITE session (`liveavatar.md` §4): the same socket, for LITE
/// sessions only (a FULL session has no `ws_url`). The path is the capability, as with the
/// realtime endpoint: every LITE client opens `ws_url` with no header.
pub async fn lite_socket(
    state: State<AppState>,
    Path(session_id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let lite = state
        .registry()
        .session(&session_id)
        .and_then(|s| s.liveavatar.as_ref().map(|la| la.mode))
        == Some(understudy_proto::liveavatar::SessionMode::Lite);
    if !lite {
        return ApiError::new(ErrorKind::SessionNotFound).into_response();
    }
    realtime_socket(state, Path(session_id), upgrade).await
}

/// Owns the socket until the client leaves or the session ends.
async fn serve(mut socket: WebSocket, state: AppState, owner: Caller, session_id: String) {
    let Some(_admitted) = state.admit(&session_id, Door::Realtime) else {
        close(
            &mut socket,
            POLICY_VIOLATION,
            "too many realtime sockets on this session",
        )
        .await;
        return;
    };
    let watched = {
        let registry = state.registry();
        registry.session(&session_id).map(|s| {
            (
                s.state_changes.subscribe(),
                s.schedule_changes.subscribe(),
                s.ended.clone(),
            )
        })
    };
    let Some((mut states, mut schedule, ended)) = watched else {
        return;
    };
    tracing::debug!(%session_id, "realtime socket open");
    let mut socket = Outbox {
        socket,
        faults: SocketFaults::new(REALTIME, REALTIME_PATH),
    };
    let mut fault_changes = state.faults().changes();
    let mut reported = None;
    let mut utterances = Utterances::new(state.clone(), owner.clone(), session_id.clone());
    let mut follower = Follower::default();
    let mut next_change: Option<Instant> = None;
    let mut alive = socket.take_faults(&state, &session_id).await;
    while alive {
        // The state first: a client waits for `connected` before it sends anything.
        let now_state = *states.borrow_and_update();
        let reportable = realtime_state(now_state);
        if reported != Some(reportable) && reportable != RealtimeSessionState::Closed {
            reported = Some(reportable);
            alive &= socket.send(&state_updated(reportable)).await;
        }
        let due = async {
            match next_change {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = ended.cancelled() => {
                for step in [RealtimeSessionState::Closing, RealtimeSessionState::Closed] {
                    socket.send(&state_updated(step)).await;
                }
                close(&mut socket.socket, SESSION_ENDED, "session ended").await;
                break;
            }
            changed = states.changed() => alive &= changed.is_ok(),
            changed = fault_changes.changed() => {
                alive &= changed.is_ok() && socket.take_faults(&state, &session_id).await;
            }
            changed = schedule.changed() => {
                alive &= changed.is_ok();
                next_change = follow(&state, &session_id, &mut follower, &mut socket).await;
            }
            () = due => {
                next_change = follow(&state, &session_id, &mut follower, &mut socket).await;
            }
            message = socket.socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    let replies = handle(&state, &owner, &session_id, &mut utterances, &mut follower, text.as_str());
                    for reply in replies {
                        alive &= socket.send(&reply).await;
                    }
                    // Listening may have changed the avatar's state.
                    next_change = follow(&state, &session_id, &mut follower, &mut socket).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    alive &= socket
                        .send(&error(None, "binary frames are not accepted: send JSON text messages"))
                        .await;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::debug!(%session_id, "realtime socket closed");
}

/// The socket's sending half, so every message goes out one way, as fault rules allow.
struct Outbox {
    socket: WebSocket,
    faults: SocketFaults,
}

/// The path a realtime-socket fault is journaled on.
const REALTIME_PATH: &str = "/v2-alpha/interactive-avatar/session";

impl Outbox {
    /// Whether the client is still there.
    async fn send(&mut self, message: &RealtimeServerMessage) -> bool {
        let Ok(json) = serde_json::to_string(message) else {
            return true;
        };
        self.faults.send(&mut self.socket, json).await
    }

    /// Applies the fault rules that fire now; false when the socket must end.
    async fn take_faults(&mut self, state: &AppState, session_id: &str) -> bool {
        self.faults.take(state, session_id, &mut self.socket).await
    }
}

/// Sends what the schedule says happened by now; returns when to look again.
async fn follow(
    state: &AppState,
    session_id: &str,
    follower: &mut Follower,
    socket: &mut Outbox,
) -> Option<Instant> {
    let now = Instant::now();
    let view = state.speech_at(session_id, now);
    let listening = state
        .registry()
        .session(session_id)
        .is_some_and(|s| s.listening);
    for message in follower.follow(now, view.current.as_ref(), listening) {
        socket.send(&message).await;
    }
    view.next_change
}

/// Applies one client message; returns the replies.
fn handle(
    state: &AppState,
    owner: &Caller,
    session_id: &str,
    utterances: &mut Utterances,
    follower: &mut Follower,
    text: &str,
) -> Vec<RealtimeServerMessage> {
    let message = match parse(text) {
        Ok(message) => message,
        Err(reply) => return vec![reply],
    };
    let act = |operation: Operation, f: &dyn Fn(&mut crate::session::Session, Instant)| {
        state
            .act_on(owner, session_id, operation, |s, now| f(s, now))
            .map_err(|e| e.kind)
    };
    let said = |event_id: Option<String>,
                result: Result<(Option<String>, Option<Started>), Refusal>,
                follower: &mut Follower,
                ack: fn(Option<String>, Option<TaskRef>) -> RealtimeServerMessage| {
        match result {
            Ok((task, started)) => {
                if let Some(started) = started {
                    follower.track(started);
                }
                ack(event_id, task.map(|id| TaskRef { id }))
            }
            Err(refusal) => refused(event_id, refusal),
        }
    };
    match message {
        RealtimeClientMessage::Speak { audio, event_id } => {
            let result = utterance::decode_pcm(&audio)
                .and_then(|pcm| utterances.speak(event_id.clone(), &pcm));
            vec![said(event_id, result, follower, appended)]
        }
        RealtimeClientMessage::SpeakEnd { event_id } => {
            vec![said(event_id, utterances.end(), follower, committed)]
        }
        RealtimeClientMessage::AudioBufferAppend { audio, event_id } => {
            match utterance::decode_pcm(&audio).and_then(|pcm| utterances.append(&pcm)) {
                Ok(()) => vec![appended(event_id, None)],
                Err(refusal) => vec![refused(event_id, refusal)],
            }
        }
        RealtimeClientMessage::AudioBufferCommit { audio, event_id } => {
            let added = match audio {
                Some(audio) => {
                    utterance::decode_pcm(&audio).and_then(|pcm| utterances.append(&pcm))
                }
                None => Ok(()),
            };
            let result = added.and_then(|()| utterances.commit(event_id.clone()));
            vec![said(event_id, result, follower, committed)]
        }
        RealtimeClientMessage::AudioBufferClear { event_id } => {
            utterances.clear();
            vec![cleared(event_id)]
        }
        RealtimeClientMessage::Interrupt { event_id } => {
            utterances.interrupt();
            match act(Operation::Interrupt, &|s, now| s.interrupt(now)) {
                Ok(()) => vec![cleared(event_id)],
                Err(kind) => vec![heygen_error(event_id, kind)],
            }
        }
        RealtimeClientMessage::StartListening { event_id } => answer_if_refused(
            act(Operation::StartListening, &|s, now| {
                s.listening = true;
                s.touch(now);
            }),
            event_id,
        ),
        RealtimeClientMessage::StopListening { event_id } => answer_if_refused(
            act(Operation::StopListening, &|s, now| {
                s.listening = false;
                s.touch(now);
            }),
            event_id,
        ),
        RealtimeClientMessage::KeepAlive { event_id } => {
            answer_if_refused(act(Operation::KeepAlive, &|s, now| s.touch(now)), event_id)
        }
    }
}

/// No answer when it worked (the follower reports the new state); the error when not.
fn answer_if_refused(
    result: Result<(), ErrorKind>,
    event_id: Option<String>,
) -> Vec<RealtimeServerMessage> {
    match result {
        Ok(()) => Vec::new(),
        Err(kind) => vec![heygen_error(event_id, kind)],
    }
}

/// Reads a client message, or the `error` that answers it.
fn parse(text: &str) -> Result<RealtimeClientMessage, RealtimeServerMessage> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| error(None, format!("not a JSON message: {e}")))?;
    let source = value
        .get("event_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let Some(kind) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
    else {
        return Err(error(source, "a message needs a string \"type\""));
    };
    if !CLIENT_MESSAGE_TYPES.contains(&kind.as_str()) && kind != "agent.end_listening" {
        return Err(error(
            source,
            format!(
                "unknown message type {kind:?}; expected one of {}",
                CLIENT_MESSAGE_TYPES.join(", ")
            ),
        ));
    }
    serde_json::from_value(value).map_err(|e| error(source, format!("bad {kind} message: {e}")))
}

fn refused(event_id: Option<String>, refusal: Refusal) -> RealtimeServerMessage {
    match refusal {
        Refusal::Invalid(message) => error(event_id, message),
        Refusal::Session(kind) => heygen_error(event_id, kind),
    }
}

fn appended(source: Option<String>, task: Option<TaskRef>) -> RealtimeServerMessage {
    RealtimeServerMessage::AudioBufferAppended {
        event_id: crate::ids::time_uuid(),
        source_event_id: source,
        task,
    }
}

fn committed(source: Option<String>, task: Option<TaskRef>) -> RealtimeServerMessage {
    RealtimeServerMessage::AudioBufferCommitted {
        event_id: crate::ids::time_uuid(),
        source_event_id: source,
        task,
    }
}

fn cleared(source: Option<String>) -> RealtimeServerMessage {
    RealtimeServerMessage::AudioBufferCleared {
        event_id: crate::ids::time_uuid(),
        source_event_id: source,
    }
}

fn state_updated(state: RealtimeSessionState) -> RealtimeServerMessage {
    RealtimeServerMessage::SessionStateUpdated {
        event_id: crate::ids::time_uuid(),
        state,
    }
}

/// A session state as the socket reports it: started and not yet joined is `connecting`.
fn realtime_state(state: SessionState) -> RealtimeSessionState {
    match state {
        SessionState::New | SessionState::Connecting => RealtimeSessionState::Connecting,
        SessionState::Connected => RealtimeSessionState::Connected,
        SessionState::Closing => RealtimeSessionState::Closing,
        SessionState::Closed => RealtimeSessionState::Closed,
    }
}
