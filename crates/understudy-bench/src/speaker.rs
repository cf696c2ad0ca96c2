//! The session a bench speaks through, in either dialect: the Streaming API's (`new`, `start`,
//! a speak on the plan's path) or LiveAvatar's (`/v1/sessions/token`, `start`, then
//! `avatar.speak_text` on `agent-control`). The run's loop times both the same way; only what
//! a speak is, and which events are its own, differ.

use crate::plan::{Dialect, Plan, SpeakPathChoice};
use streaming_avatar::liveavatar::{LiveAvatar, LiveAvatarSession};
use streaming_avatar::media::MediaStream;
use streaming_avatar::media::frames::{AudioPacket, VideoFrame};
use streaming_avatar::proto::liveavatar::AgentEventKind;
use streaming_avatar::proto::liveavatar::rest::{SessionTokenRequest, VideoQuality, VideoSettings};
use streaming_avatar::{Error, EventStream, Session, SpeakPath, SpeakRequest, StreamingEvent};

/// The account-level client of the plan's dialect.
#[derive(Debug, Clone)]
pub enum Backend {
    Streaming(streaming_avatar::StreamingAvatar),
    LiveAvatar(LiveAvatar),
}

impl Backend {
    /// # Errors
    /// An unusable target URL.
    pub fn new(plan: &Plan) -> Result<Self, Error> {
        Ok(match plan.dialect {
            Dialect::Streaming => Backend::Streaming(
                streaming_avatar::StreamingAvatar::builder()
                    .base_path(&plan.target)
                    .api_key(&plan.api_key)
                    .timeout(plan.timeout)
                    .build()?,
            ),
            Dialect::LiveAvatar => Backend::LiveAvatar(
                LiveAvatar::builder()
                    .base_path(&plan.target)
                    .api_key(&plan.api_key)
                    .timeout(plan.timeout)
                    .build()?,
            ),
        })
    }
}

/// A session that exists but has not joined its room yet.
#[derive(Debug)]
pub enum Speaker {
    Streaming(Box<Session>),
    LiveAvatar(Box<LiveAvatarSession>),
}

/// What a speak said to look for: the id its events carry, if the path gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken {
    pub id: Option<String>,
}

impl Speaker {
    pub fn events(&self) -> EventStream {
        match self {
            Speaker::Streaming(s) => s.events(),
            Speaker::LiveAvatar(s) => s.events(),
        }
    }

    pub fn video(&self) -> MediaStream<VideoFrame> {
        match self {
            Speaker::Streaming(s) => s.video(),
            Speaker::LiveAvatar(s) => s.video(),
        }
    }

    pub fn audio(&self) -> MediaStream<AudioPacket> {
        match self {
            Speaker::Streaming(s) => s.audio(),
            Speaker::LiveAvatar(s) => s.audio(),
        }
    }

    /// Joins the room: the Streaming API's `start` (REST, then the room), or LiveAvatar's
    /// room after its REST `start` (made in set-up, which has the session only then).
    ///
    /// # Errors
    /// The API's or the room's.
    pub async fn connect(&mut self) -> Result<(), Error> {
        match self {
            Speaker::Streaming(s) => s.start().await,
            Speaker::LiveAvatar(s) => s.connect().await,
        }
    }

    /// One speak on the plan's path: `Ok` with the id its events name (`None` when the path
    /// answers nothing and the events name the server's task) and whether the answer is an
    /// HTTP reply worth timing.
    ///
    /// # Errors
    /// The API's or the room's.
    pub async fn speak(&self, plan: &Plan) -> Result<(Spoken, bool), Error> {
        match self {
            Speaker::Streaming(session) => {
                let (path, request) = match plan.path {
                    SpeakPathChoice::Http => {
                        (SpeakPath::Http, SpeakRequest::repeat(plan.text.clone()))
                    }
                    SpeakPathChoice::Socket => {
                        (SpeakPath::ChatSocket, SpeakRequest::talk(plan.text.clone()))
                    }
                    SpeakPathChoice::Livekit => {
                        (SpeakPath::LiveKit, SpeakRequest::talk(plan.text.clone()))
                    }
                };
                let answer = session.speak_via(path, &request).await?;
                let id = answer.map(|a| a.task_id);
                Ok((Spoken { id }, path == SpeakPath::Http))
            }
            Speaker::LiveAvatar(session) => {
                let id = session.repeat(&plan.text).await?;
                Ok((Spoken { id: Some(id) }, false))
            }
        }
    }

    /// Whether `event` is the start (`true`) or stop of a speak whose events name `id`.
    pub fn is_own(&self, event: &StreamingEvent, id: Option<&str>, start: bool) -> bool {
        match self {
            Speaker::Streaming(_) => {
                let name = if start {
                    "avatar_start_talking"
                } else {
                    "avatar_stop_talking"
                };
                event.name() == name && id.is_none_or(|t| event.task_id() == Some(t))
            }
            Speaker::LiveAvatar(_) => {
                let kind = if start {
                    AgentEventKind::AvatarSpeakStarted
                } else {
                    AgentEventKind::AvatarSpeakEnded
                };
                matches!(event, StreamingEvent::LiveAvatar(e)
                    if e.kind == kind && id.is_none_or(|i| e.source_event_id.as_deref() == Some(i)))
            }
        }
    }

    /// The id a speak's stop names: the server's task id from its start event (Streaming API),
    /// or the command's `event_id` (LiveAvatar).
    pub fn own_id(&self, started: &StreamingEvent, spoken: &Spoken) -> Option<String> {
        match self {
            Speaker::Streaming(_) => started.task_id().map(str::to_owned),
            Speaker::LiveAvatar(_) => spoken.id.clone(),
        }
    }

    /// Ends the session, as an app would.
    pub async fn stop(self) {
        match self {
            Speaker::Streaming(mut s) => drop(s.stop().await),
            Speaker::LiveAvatar(s) => drop((*s).stop().await),
        }
    }
}

/// LiveAvatar's set-up: a FULL session token with the API key (timed as `create_token`:
/// LiveAvatar makes the session there), then `POST /v1/sessions/start` with it; the room
/// follows in [`Speaker::connect`].
///
/// # Errors
/// The API's, with the phase it failed in (`true`: the token).
pub async fn liveavatar_set_up(
    backend: &LiveAvatar,
    token_done: impl FnOnce(),
) -> Result<Speaker, (bool, Error)> {
    let request = SessionTokenRequest {
        avatar_id: "default".into(),
        video_settings: Some(VideoSettings {
            quality: VideoQuality::Low,
            // H264, LiveAvatar's default: the SDK decodes it for `--video-marker`.
            encoding: Default::default(),
        }),
        ..SessionTokenRequest::default()
    };
    let token = backend
        .create_session_token(&request)
        .await
        .map_err(|e| (true, e))?;
    token_done();
    let session = backend
        .start_session(&token.session_token)
        .await
        .map_err(|e| (false, e))?;
    Ok(Speaker::LiveAvatar(Box::new(session)))
}
