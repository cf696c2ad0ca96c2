//! LiveAvatar's session routes (`liveavatar.md` §1.3, §2): `token` makes a session (state
//! `new`) and its JWT-shaped session token; `start` (Bearer only, 201) connects it, since on
//! LiveAvatar the avatar joins the room it makes at start, and hands out the room (and LITE's
//! WebSocket); `stop`, `DELETE /v1/sessions` and `keep-alive` take either credential; the
//! account's list, reads and transcripts take the API key.
//!
//! A LiveAvatar session is a session like any other (schedule, room, voice, limits, faults,
//! admin API); what differs is kept in its `LiveAvatarState`.

use super::{Scheme, websocket_base};
use crate::latency::Phase;
use crate::liveavatar::error::LiveAvatarError;
use crate::liveavatar::extract::{AccountKey, EitherCredential, LiveAvatarJson, SessionToken};
use crate::registry::TokenRecord;
use crate::session::{
    Caller, CloseReason, LiveAvatarState, Protocol, Session, SessionLimits, SessionSettings,
    SessionSpec,
};
use crate::state::AppState;
use crate::{ids, livekit_token};
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::SessionState;
use understudy_proto::liveavatar::rest::{
    Interactivity, KeepAliveRequest, Page, SessionEntry, SessionTokenData, SessionTokenRequest,
    StartSessionData, StopSessionRequest, Transcript, TranscriptLine, VideoCodec, VideoQuality,
};
use understudy_proto::liveavatar::{LiveAvatarEnvelope, SessionMode};
use understudy_proto::rest::session::{Quality, VideoEncoding};

type Answer<T> = Result<Json<LiveAvatarEnvelope<T>>, LiveAvatarError>;

/// The identity `livekit_client_token` joins as. [INF] Not public (§7.7).
const CLIENT_IDENTITY: &str = "liveavatar-user";
/// The identity of LITE's `livekit_agent_token`, for the client's own agent. [INF]
const LITE_AGENT_IDENTITY: &str = "liveavatar-client-agent";
/// Credits per minute (§2.2).
const FULL_CREDITS_PER_MINUTE: f64 = 2.0;
const LITE_CREDITS_PER_MINUTE: f64 = 1.0;
/// Largest page of the session list.
const MAX_PAGE_SIZE: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 20;

/// `POST /v1/sessions/token`.
pub async fn create_token(
    State(state): State<AppState>,
    AccountKey(api_key): AccountKey,
    LiveAvatarJson(request): LiveAvatarJson<SessionTokenRequest>,
) -> Answer<SessionTokenData> {
    if request.avatar_id.trim().is_empty() {
        return Err(LiveAvatarError::invalid(
            &["body", "avatar_id"],
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    let config = state.config();
    let sandbox = request.is_sandbox.unwrap_or(false);
    let account_limit = config.session_duration_limit.as_secs();
    let limit = match request.max_session_duration {
        Some(0) => {
            return Err(LiveAvatarError::invalid(
                &["body", "max_session_duration"],
                "Input should be greater than 0",
                "greater_than",
            ));
        }
        Some(asked) if asked > account_limit => {
            return Err(LiveAvatarError::invalid(
                &["body", "max_session_duration"],
                format!("must be <= the limit of your plan, {account_limit} seconds"),
                "less_than_equal",
            ));
        }
        Some(asked) => asked,
        None => account_limit,
    };
    // A sandbox session ends after a minute, whatever it asked for (§2.2).
    let limit = if sandbox {
        limit.min(config.liveavatar_sandbox_limit.as_secs().max(1))
    } else {
        limit
    };
    let clock = config.clock();
    let session_id = uuid::Uuid::new_v4().to_string();
    let now_unix = ids::unix_now();
    let token = session_token(&state, &session_id, &request, now_unix)?;
    let settings = settings_from(&request);
    let push_to_talk = request.interactivity_type == Some(Interactivity::PushToTalk);
    let delay = {
        let mut registry = state.registry();
        if config.concurrency_limit > 0
            && registry.live_sessions_of(&api_key) >= config.concurrency_limit
        {
            return Err(LiveAvatarError::TooManySessions);
        }
        let owner = Caller {
            api_key: api_key.clone(),
            token: Some(token.clone()),
        };
        let spec = SessionSpec {
            id: session_id.clone(),
            seq: registry.next_seq(),
            owner,
            settings,
            limits: SessionLimits {
                duration_limit: clock.to_wall(Duration::from_secs(limit)),
                idle_timeout: Some(clock.to_wall(config.liveavatar_idle_timeout)),
            },
            speech_model: config.speech_model(),
            latency: state.latency_profile(),
            clock,
        };
        let mut session = Session::new(spec, Instant::now(), state.shutdown_token());
        session.liveavatar = Some(Box::new(LiveAvatarState::new(
            request.mode,
            sandbox,
            token.clone(),
            limit,
        )));
        // LiveAvatar reports the user's speech in the room, and push-to-talk is chosen here.
        session.voice.user_events_in_room = true;
        session.voice.push_to_talk = push_to_talk;
        let delay = session.answer_delay(Phase::New);
        let ended = session.ended.clone();
        registry.insert_token(
            token.clone(),
            TokenRecord {
                api_key,
                issued_at: Instant::now(),
                used_by: Some(session_id.clone()),
            },
            clock.to_wall(config.token_ttl),
        );
        registry.insert_session(session);
        drop(registry);
        state.spawn_watchdog(session_id.clone(), ended);
        delay
    };
    let (quality, encoding) = state.session_video(&session_id).unwrap_or_default();
    state.media().warm(quality, encoding);
    crate::latency::pause(delay).await;
    Ok(Json(LiveAvatarEnvelope::success(SessionTokenData {
        session_id,
        session_token: token,
    })))
}

/// The session token: a JWT whose payload's `start_session_data` is the request, as the web
/// SDK reads its mode from it (§1.1), signed with the mock's LiveKit secret.
fn session_token(
    state: &AppState,
    session_id: &str,
    request: &SessionTokenRequest,
    now_unix: i64,
) -> Result<String, LiveAvatarError> {
    #[derive(Serialize)]
    struct Claims<'a> {
        sub: &'a str,
        session_id: &'a str,
        iat: i64,
        exp: i64,
        start_session_data: &'a SessionTokenRequest,
    }
    let ttl = state.config().token_ttl.as_secs() as i64;
    let claims = Claims {
        sub: session_id,
        session_id,
        iat: now_unix,
        exp: now_unix + ttl,
        start_session_data: request,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(state.livekit_secret()),
    )
    .map_err(|_| LiveAvatarError::Internal)
}

fn settings_from(request: &SessionTokenRequest) -> SessionSettings {
    let video = request.video_settings.clone().unwrap_or_default();
    let persona = request.avatar_persona.clone().unwrap_or_default();
    SessionSettings {
        avatar_id: request.avatar_id.clone(),
        voice_id: persona.voice_id,
        voice_rate: 1.0,
        // The room's loops come in three sizes; very_high is drawn as high.
        quality: match video.quality {
            VideoQuality::VeryHigh | VideoQuality::High => Quality::High,
            VideoQuality::Medium => Quality::Medium,
            VideoQuality::Low => Quality::Low,
        },
        video_encoding: match video.encoding {
            VideoCodec::H264 => VideoEncoding::H264,
            VideoCodec::VP8 => VideoEncoding::VP8,
        },
        knowledge_base: None,
        knowledge_base_id: persona.context_id,
        language: persona.language,
        silence_response: false,
        livekit_transport: true,
        protocol: Protocol::V2,
    }
}

/// `POST /v1/sessions/start`: `new -> connected`, 201.
pub async fn start(
    State(state): State<AppState>,
    token: SessionToken,
    scheme: Option<Extension<Scheme>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<(StatusCode, Json<LiveAvatarEnvelope<StartSessionData>>), LiveAvatarError> {
    let (mode, limit, delay) = {
        let mut registry = state.registry();
        let session = registry
            .session_mut(&token.session_id)
            .ok_or(LiveAvatarError::NotFound)?;
        match session.state {
            SessionState::New => {}
            SessionState::Closing | SessionState::Closed => {
                return Err(LiveAvatarError::BadRequest(
                    "Session has already ended".to_owned(),
                ));
            }
            SessionState::Connecting | SessionState::Connected => {
                return Err(LiveAvatarError::BadRequest(
                    "Session has already been started".to_owned(),
                ));
            }
        }
        let now = Instant::now();
        session.touch(now);
        session.connect(now);
        let delay = session.answer_delay(Phase::Start);
        let la = session
            .liveavatar
            .as_mut()
            .ok_or(LiveAvatarError::NotFound)?;
        la.started_unix = Some(ids::unix_now());
        (la.mode, la.max_session_duration, delay)
    };
    let sign = |identity: &str| {
        livekit_token::mint(
            state.livekit_secret(),
            &token.session_id,
            identity,
            ids::unix_now(),
        )
        .map_err(|_| LiveAvatarError::Internal)
    };
    let base = websocket_base(&headers, &uri, scheme.map(|Extension(s)| s));
    let lite = mode == SessionMode::Lite;
    let data = StartSessionData {
        session_id: token.session_id.clone(),
        livekit_url: base.clone(),
        livekit_client_token: sign(CLIENT_IDENTITY)?,
        livekit_agent_token: if lite {
            Some(sign(LITE_AGENT_IDENTITY)?)
        } else {
            None
        },
        max_session_duration: limit,
        // FULL must not have one: the web SDK would send its commands there (§1.3).
        ws_url: lite.then(|| format!("{base}/v1/sessions/{}/ws", token.session_id)),
    };
    crate::latency::pause(delay).await;
    Ok((StatusCode::CREATED, Json(LiveAvatarEnvelope::success(data))))
}

/// The session a `stop` or `keep-alive` is about: the token's, or, with an API key, the body's
/// `session_id` among the account's LiveAvatar sessions.
fn session_of(
    state: &AppState,
    credential: &EitherCredential,
    session_id: Option<&str>,
) -> Result<String, LiveAvatarError> {
    match credential {
        EitherCredential::Session(token) => Ok(token.session_id.clone()),
        EitherCredential::Account(api_key) => {
            let id = session_id.ok_or_else(|| {
                LiveAvatarError::invalid(
                    &["body", "session_id"],
                    "session_id is required with an API key",
                    "missing",
                )
            })?;
            let registry = state.registry();
            registry
                .session(id)
                .filter(|s| s.owner.api_key == *api_key && s.liveavatar.is_some())
                .map(|s| s.id.clone())
                .ok_or(LiveAvatarError::NotFound)
        }
    }
}

/// `POST /v1/sessions/stop` and `DELETE /v1/sessions`. A session that has already ended
/// answers success too: the web SDK stops on every teardown, one the server began included.
pub async fn stop(
    State(state): State<AppState>,
    credential: EitherCredential,
    LiveAvatarJson(request): LiveAvatarJson<StopSessionRequest>,
) -> Answer<()> {
    let session_id = session_of(&state, &credential, request.session_id.as_deref())?;
    let live = {
        let mut registry = state.registry();
        match registry.session_mut(&session_id) {
            Some(session) if session.state.is_live() => {
                if let Some(la) = session.liveavatar.as_mut() {
                    la.stop_reason = request.reason;
                }
                true
            }
            _ => false,
        }
    };
    if live {
        state.close_session(&session_id, CloseReason::Stopped);
    }
    Ok(Json(LiveAvatarEnvelope::empty()))
}

/// `POST /v1/sessions/keep-alive`: resets the idle timer.
pub async fn keep_alive(
    State(state): State<AppState>,
    credential: EitherCredential,
    LiveAvatarJson(request): LiveAvatarJson<KeepAliveRequest>,
) -> Answer<()> {
    let session_id = session_of(&state, &credential, request.session_id.as_deref())?;
    let mut registry = state.registry();
    match registry.session_mut(&session_id) {
        Some(session) if session.state.is_live() => {
            session.touch(Instant::now());
            Ok(Json(LiveAvatarEnvelope::empty()))
        }
        Some(_) => Err(LiveAvatarError::BadRequest(
            "Session has already ended".to_owned(),
        )),
        None => Err(LiveAvatarError::NotFound),
    }
}

/// `GET /v1/sessions?type=active|historic&page&page_size`: the account's sessions, newest
/// first.
pub async fn list(
    State(state): State<AppState>,
    AccountKey(api_key): AccountKey,
    Query(query): Query<HashMap<String, String>>,
) -> Answer<Page<SessionEntry>> {
    let active = match query.get("type").map(String::as_str) {
        Some("active") => true,
        Some("historic") => false,
        Some(_) => {
            return Err(LiveAvatarError::invalid(
                &["query", "type"],
                "Input should be 'active' or 'historic'",
                "enum",
            ));
        }
        None => {
            return Err(LiveAvatarError::invalid(
                &["query", "type"],
                "Field required",
                "missing",
            ));
        }
    };
    let number = |name: &str, default: usize, max: usize| match query.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                LiveAvatarError::invalid(
                    &["query", name],
                    format!("Input should be an integer from 1 to {max}"),
                    "int_parsing",
                )
            }),
    };
    let page = number("page", 1, usize::MAX)?;
    let page_size = number("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let avatar = query.get("avatar_id");
    let now = Instant::now();
    let mut sessions: Vec<(u64, SessionEntry)> = {
        let registry = state.registry();
        registry
            .sessions()
            .filter(|s| s.owner.api_key == api_key && s.state.is_live() == active)
            .filter(|s| avatar.is_none_or(|a| *a == s.settings.avatar_id))
            .filter_map(|s| entry(s, now).map(|e| (s.seq, e)))
            .collect()
    };
    sessions.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    let count = sessions.len();
    let kind = if active { "active" } else { "historic" };
    let link = |page: usize| format!("/v1/sessions?type={kind}&page={page}&page_size={page_size}");
    let results = sessions
        .into_iter()
        .skip((page - 1).saturating_mul(page_size))
        .take(page_size)
        .map(|(_, e)| e)
        .collect();
    Ok(Json(LiveAvatarEnvelope::success(Page {
        count,
        next: (page.saturating_mul(page_size) < count).then(|| link(page + 1)),
        previous: (page > 1).then(|| link(page - 1)),
        results,
    })))
}

/// `GET /v1/sessions/{session_id}`.
pub async fn read(
    State(state): State<AppState>,
    AccountKey(api_key): AccountKey,
    Path(session_id): Path<String>,
) -> Answer<SessionEntry> {
    let registry = state.registry();
    registry
        .session(&session_id)
        .filter(|s| s.owner.api_key == api_key)
        .and_then(|s| entry(s, Instant::now()))
        .map(|e| Json(LiveAvatarEnvelope::success(e)))
        .ok_or(LiveAvatarError::NotFound)
}

/// `GET /v1/sessions/{session_id}/transcript?start_timestamp&end_timestamp` (Unix seconds).
pub async fn transcript(
    State(state): State<AppState>,
    AccountKey(api_key): AccountKey,
    Path(session_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer<Transcript> {
    let bound = |name: &str| match query.get(name) {
        None => Ok(None),
        Some(raw) => raw.parse::<f64>().map(Some).map_err(|_| {
            LiveAvatarError::invalid(
                &["query", name],
                "Input should be a number",
                "float_parsing",
            )
        }),
    };
    let (from, to) = (bound("start_timestamp")?, bound("end_timestamp")?);
    let registry = state.registry();
    let session = registry
        .session(&session_id)
        .filter(|s| s.owner.api_key == api_key && s.liveavatar.is_some())
        .ok_or(LiveAvatarError::NotFound)?;
    let transcript_data = session
        .transcript
        .lines()
        .filter(|l| from.is_none_or(|f| l.at_unix >= f) && to.is_none_or(|t| l.at_unix <= t))
        .map(|l| TranscriptLine {
            role: l.speaker,
            transcript: l.text.clone(),
            absolute_timestamp: l.at_unix,
            relative_timestamp: l.since_start.as_secs_f64(),
        })
        .collect();
    Ok(Json(LiveAvatarEnvelope::success(Transcript {
        session_active: session.state.is_live(),
        next_timestamp: None,
        transcript_data,
    })))
}

/// A LiveAvatar session as the list and reads show it; `None` for the Streaming API's.
fn entry(session: &Session, now: Instant) -> Option<SessionEntry> {
    let la = session.liveavatar.as_ref()?;
    let age = session.clock.to_service(session.age(now)).as_secs();
    let created = session.created_unix;
    let ended = session.closed_at.map(|_| created + age as i64);
    let rate = match la.mode {
        SessionMode::Full => FULL_CREDITS_PER_MINUTE,
        SessionMode::Lite => LITE_CREDITS_PER_MINUTE,
    };
    // Charged per started minute from `start`; sandbox sessions are free (§2.2).
    let credits = match la.started_unix {
        Some(_) if !la.sandbox => age.div_ceil(60) as f64 * rate,
        _ => 0.0,
    };
    Some(SessionEntry {
        id: session.id.clone(),
        created_at: iso8601(created),
        updated_at: iso8601(ended.unwrap_or(created + age as i64)),
        duration: age,
        source: "API".to_owned(),
        mode: la.mode,
        is_sandbox: la.sandbox,
        credits_consumed: credits,
        end_at: ended.map(iso8601),
        end_reason: session.close_reason.map(|r| la.end_reason(r)),
    })
}

fn iso8601(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
