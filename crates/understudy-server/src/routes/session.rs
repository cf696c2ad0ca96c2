//! Session lifecycle routes: `streaming.new`, `start`, `ice`, `keep_alive`, `stop` (§3.2-§3.4,
//! §3.8-§3.9, §6).

use super::{Scheme, websocket_base};
use crate::error::ApiError;
use crate::extract::HeyJson;
use crate::latency::Phase;
use crate::livekit::peer::DtlsSetup;
use crate::raw_webrtc;
use crate::session::{
    Caller, CloseReason, Operation, Protocol, Session, SessionLimits, SessionSettings, SessionSpec,
};
use crate::state::AppState;
use crate::{ids, livekit_token};
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Uri};
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::rest::SessionIdRequest;
use understudy_proto::rest::session::{
    IceRequest, IceServer, NewSessionData, NewSessionRequest, SessionStatusData,
    StartSessionRequest, VideoEncoding,
};
use understudy_proto::{ApiEnvelope, ErrorKind, SessionState};

/// The bounds the docs give for `activity_idle_timeout`.
const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 30..=3600;

type Empty = Json<ApiEnvelope<()>>;
/// What `start` and `stop` answer: `data.status`, as HeyGen's reference documents.
type Status = Json<ApiEnvelope<SessionStatusData>>;

pub async fn new_session(
    State(state): State<AppState>,
    caller: Caller,
    scheme: Option<Extension<Scheme>>,
    headers: HeaderMap,
    uri: Uri,
    HeyJson(request): HeyJson<NewSessionRequest>,
) -> Result<Json<ApiEnvelope<NewSessionData>>, ApiError> {
    let mut settings = settings_from(&state, &request)?;
    let idle_timeout = idle_timeout_from(&state, &request)?;
    let config = state.config();
    let clock = config.clock();
    let (quality, video_encoding, protocol) =
        (settings.quality, settings.video_encoding, settings.protocol);

    let session_id = ids::time_uuid();
    let now_unix = ids::unix_now();
    let sign = |identity: &str| {
        livekit_token::mint(state.livekit_secret(), &session_id, identity, now_unix)
            .map_err(|_| ApiError::new(ErrorKind::Internal))
    };
    let access_token = sign("client")?;
    let agent_token = sign("heygen-agent")?;

    let mut kb_opening = None;
    let (ended, delay) = {
        let mut registry = state.registry();
        // A knowledge base made through the KB API stands in for an inline `knowledge_base`.
        if settings.knowledge_base.is_none() {
            let base = settings
                .knowledge_base_id
                .as_ref()
                .and_then(|id| registry.knowledge_base_of(&caller.api_key, id))
                .map(|kb| (kb.prompt.clone(), kb.opening.clone()));
            if let Some((prompt, opening)) = base {
                settings.knowledge_base = Some(prompt);
                kb_opening = Some(opening).filter(|o| !o.trim().is_empty());
            }
        }
        if let Some(token) = &caller.token {
            let reused = registry.token(token).is_some_and(|t| t.used_by.is_some());
            if reused && !config.allow_token_reuse {
                return Err(ApiError::with_detail(
                    ErrorKind::Unauthorized,
                    "this session token already created a session; mint one per session",
                ));
            }
        }
        if config.concurrency_limit > 0
            && registry.live_sessions_of(&caller.api_key) >= config.concurrency_limit
        {
            return Err(ApiError::new(ErrorKind::ConcurrentLimit));
        }
        if let Some(record) = caller.token.as_ref().and_then(|t| registry.token_mut(t)) {
            record.used_by = Some(session_id.clone());
        }
        let seq = registry.next_seq();
        let spec = SessionSpec {
            id: session_id.clone(),
            seq,
            owner: caller,
            settings,
            limits: SessionLimits {
                duration_limit: clock.to_wall(config.session_duration_limit),
                idle_timeout: idle_timeout.map(|idle| clock.to_wall(idle)),
            },
            speech_model: config.speech_model(),
            latency: state.latency_profile(),
            clock,
        };
        let mut session = Session::new(spec, Instant::now(), state.shutdown_token());
        // The knowledge base's opening line, said when the session connects.
        session.opening = kb_opening;
        let ended = session.ended.clone();
        let delay = session.answer_delay(Phase::New);
        registry.insert_session(session);
        (ended, delay)
    };
    state.spawn_watchdog(session_id.clone(), ended.clone());
    // The session's first viewer will want its loops: make them now, in the background.
    state.media().warm(quality, video_encoding);
    let raw_offer = match protocol {
        Protocol::V1 => {
            let dtls = DtlsSetup::for_client(config.offer_dtls_role, is_browser(&headers));
            Some(open_raw_peer(&state, &session_id, video_encoding, dtls, ended).await?)
        }
        Protocol::V2 => None,
    };
    // A slow profile answers late; the session exists meanwhile, as it would on a busy service.
    crate::latency::pause(delay).await;

    if let Some(offer) = raw_offer {
        let ice_servers = stun_server(&state, &headers).into_iter().collect();
        return Ok(Json(ApiEnvelope::success(NewSessionData::v1(
            session_id,
            offer,
            ice_servers,
        ))));
    }
    let base = websocket_base(&headers, &uri, scheme.map(|Extension(s)| s));
    Ok(Json(ApiEnvelope::success(NewSessionData {
        realtime_endpoint: Some(format!(
            "{base}/v2-alpha/interactive-avatar/session/{session_id}"
        )),
        session_id,
        url: Some(base),
        access_token: Some(access_token),
        livekit_agent_token: Some(agent_token),
        is_paid: Some(config.is_paid),
        session_duration_limit: Some(config.session_duration_limit.as_secs()),
        sdp: None,
        ice_servers: None,
        ice_servers2: None,
    })))
}

/// The mock's own STUN responder as an `RTCIceServer`, at the address the client reached the
/// mock by when the responder listens on every interface.
fn stun_server(state: &AppState, headers: &HeaderMap) -> Option<IceServer> {
    let addr = state.stun_addr()?;
    let host = if addr.ip().is_unspecified() {
        let dialled = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<http::uri::Authority>().ok())
            .map(|a| a.host().to_owned());
        dialled.unwrap_or_else(|| "127.0.0.1".to_owned())
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    Some(IceServer {
        urls: vec![format!("stun:{host}:{}", addr.port())],
        username: None,
        credential: None,
        credential_type: None,
    })
}

/// Whether a v1 `streaming.new` came from a browser (SDK 1.x calls it from the page, and
/// every browser's User-Agent starts `Mozilla/`): its offer is then made for a browser's
/// peer connection to answer.
fn is_browser(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok())
        .is_some_and(|ua| ua.starts_with("Mozilla/"))
}

/// Makes a v1 session's peer connection and keeps the way to it on the session; returns the
/// offer. A session whose peer cannot be made is closed again, so no half-made session stays.
async fn open_raw_peer(
    state: &AppState,
    session_id: &str,
    encoding: VideoEncoding,
    dtls: DtlsSetup,
    ended: tokio_util::sync::CancellationToken,
) -> Result<String, ApiError> {
    match raw_webrtc::open(state, session_id, encoding, dtls, ended).await {
        Ok((offer, handle)) => {
            if let Some(session) = state.registry().session_mut(session_id) {
                session.raw_peer = Some(handle);
            }
            Ok(offer)
        }
        Err(e) => {
            tracing::error!(%session_id, %e, "could not make the v1 peer connection");
            state.close_session(session_id, CloseReason::ServerReset);
            Err(ApiError::new(ErrorKind::Internal))
        }
    }
}

fn settings_from(
    state: &AppState,
    request: &NewSessionRequest,
) -> Result<SessionSettings, ApiError> {
    let avatar_id = request.avatar().unwrap_or("default").to_owned();
    let avatars = state.avatars();
    if avatars.contains(&avatar_id) && !avatars.is_usable(&avatar_id) {
        return Err(ApiError::new(ErrorKind::AvatarNotAllowed));
    }
    if state.config().strict_avatars && !avatars.contains(&avatar_id) {
        return Err(ApiError::new(ErrorKind::AvatarNotFound));
    }
    let voice = request.voice.clone().unwrap_or_default();
    let voice_rate = voice.rate.unwrap_or(1.0);
    if !(voice_rate.is_finite() && voice_rate > 0.0) {
        return Err(ApiError::invalid_params(
            "voice.rate must be a positive number",
        ));
    }
    Ok(SessionSettings {
        avatar_id,
        voice_id: voice.voice_id,
        voice_rate,
        quality: request.quality.unwrap_or_default(),
        video_encoding: request.video_encoding.unwrap_or_default(),
        knowledge_base: request.knowledge_base.clone(),
        knowledge_base_id: request.knowledge_base_ref().map(str::to_owned),
        language: request.language.clone(),
        silence_response: request.silence_response.unwrap_or(false),
        livekit_transport: request.ia_is_livekit_transport.unwrap_or(false),
        protocol: request.protocol(),
    })
}

fn idle_timeout_from(
    state: &AppState,
    request: &NewSessionRequest,
) -> Result<Option<Duration>, ApiError> {
    if request.disable_idle_timeout == Some(true) {
        return Ok(None);
    }
    match request.activity_idle_timeout {
        None => Ok(Some(state.config().default_idle_timeout)),
        Some(secs) if IDLE_TIMEOUT_RANGE.contains(&secs) => Ok(Some(Duration::from_secs(secs))),
        Some(secs) => Err(ApiError::invalid_params(format!(
            "activity_idle_timeout must be between 30 and 3600 seconds, got {secs}"
        ))),
    }
}

/// `new -> connecting`. A v2 session becomes `connected` when its client joins the LiveKit
/// room, a v1 session when its peer connection does (the answer in this call), or either at
/// once with `connect_on_start`.
pub async fn start_session(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<StartSessionRequest>,
) -> Result<Status, ApiError> {
    let connect_now = state.config().connect_on_start;
    let (delay, raw_peer) = state.act_on(
        &caller,
        &request.session_id,
        Operation::Start,
        |session, now| {
            // v1 needs the answer: without it, the observed 400006 (§3.3), state unchanged.
            let raw_peer = match (session.settings.protocol, &request.sdp) {
                (Protocol::V1, None) => {
                    return Err(ApiError::invalid_params(
                        "sdp: a v1 session starts with the client's SDP answer",
                    ));
                }
                (Protocol::V1, Some(_)) => session.raw_peer.clone(),
                (Protocol::V2, _) => None,
            };
            session.touch(now);
            if connect_now {
                session.connect(now);
            } else {
                session.set_state(SessionState::Connecting);
            }
            Ok((session.answer_delay(Phase::Start), raw_peer))
        },
    )??;
    if let (Some(peer), Some(answer)) = (raw_peer, request.sdp) {
        let refused = match answer.kind.as_str() {
            "answer" => peer.answer(answer.sdp).await.err().map(|e| e.to_string()),
            other => Some(format!("an SDP of type {other:?} is not an answer")),
        };
        if let Some(why) = refused {
            // The observed message, word for word; the reason goes to the log. The session
            // stays startable: a client may fix its answer and try again.
            tracing::info!(session_id = %request.session_id, %why, "v1 answer refused");
            state.unstart(&request.session_id);
            return Err(ApiError::new(ErrorKind::PeerStartFailed));
        }
    }
    crate::latency::pause(delay).await;
    Ok(Json(ApiEnvelope::success(SessionStatusData::success())))
}

/// Trickled candidates are accepted in every live state, since the SDK sends them racing
/// `start` (§3.4): a v1 session's peer uses them (once it has the answer); v2 sessions have no
/// use for them and ignore them.
pub async fn ice(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<IceRequest>,
) -> Result<Empty, ApiError> {
    let raw_peer = state.act_on(
        &caller,
        &request.session_id,
        Operation::Ice,
        |session, _| session.raw_peer.clone(),
    )?;
    let Some(peer) = raw_peer else {
        return Ok(Json(ApiEnvelope::empty()));
    };
    let candidate = &request.candidate.candidate;
    // An empty candidate is the end-of-candidates mark a browser may send.
    if candidate.is_empty() {
        return Ok(Json(ApiEnvelope::empty()));
    }
    if !candidate.starts_with("candidate:") {
        return Err(ApiError::invalid_params(
            "candidate.candidate must be an ICE candidate line (\"candidate:...\")",
        ));
    }
    match serde_json::to_string(&request.candidate) {
        Ok(json) => peer.candidate(json),
        Err(e) => tracing::debug!(%e, "candidate not encoded"),
    }
    Ok(Json(ApiEnvelope::empty()))
}

/// Resets the idle timer (§3.8).
pub async fn keep_alive(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<SessionIdRequest>,
) -> Result<Empty, ApiError> {
    state.act_on(
        &caller,
        &request.session_id,
        Operation::KeepAlive,
        |session, now| session.touch(now),
    )?;
    Ok(Json(ApiEnvelope::empty()))
}

/// Closes the session from any live state. A session that has ended, or that the caller
/// cannot see, answers the observed `400004 Session does not exist. SessionID: <id>` (§3.9).
pub async fn stop_session(
    State(state): State<AppState>,
    caller: Caller,
    HeyJson(request): HeyJson<SessionIdRequest>,
) -> Result<Status, ApiError> {
    if state.stop_session(&caller, &request.session_id) {
        Ok(Json(ApiEnvelope::success(SessionStatusData::success())))
    } else {
        Err(ApiError::with_detail(
            ErrorKind::SessionDoesNotExist,
            request.session_id,
        ))
    }
}
