//! What a running mock is told: limits, auth policy, speaking rate. Validated before any I/O.

use crate::clock::TimeScale;
use crate::latency::{LatencyError, LatencyProfile};
use crate::voice::vad::VadConfig;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Which API keys the mock accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthPolicy {
    /// Any non-empty key works and names its own account, like a fresh trial key would.
    #[default]
    AnyKey,
    /// Only these keys; anything else gets 401 `400112 Unauthorized`.
    Keys(BTreeSet<String>),
}

impl AuthPolicy {
    pub fn accepts(&self, key: &str) -> bool {
        match self {
            AuthPolicy::AnyKey => !key.trim().is_empty(),
            AuthPolicy::Keys(keys) => keys.contains(key),
        }
    }
}

/// When a task's text (`avatar_talking_message`) goes out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventTimeline {
    /// As observed on the real service (heygen-api.md §7.2): the text when the task is queued,
    /// before `avatar_start_talking`; a `repeat` task's as one message, a `talk` reply's in
    /// word and punctuation chunks.
    #[default]
    Observed,
    /// The text in chunks as it is said, after `avatar_start_talking` (what Understudy did
    /// first, and the order HeyGen's SDK docs suggest).
    Progressive,
}

/// How the observed timeline sends a `talk` reply's text. Both have been seen on the real
/// service (heygen-api.md §7.2), so an app's transcript code should cope with either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TalkReplyText {
    /// Word and punctuation chunks, each word with the space before it (Jan 2025 observation
    /// of LLM answers).
    #[default]
    Words,
    /// The whole reply in one `avatar_talking_message` (May 2025 observation).
    Whole,
}

/// Which DTLS role the avatar's offer asks the client to take (`a=setup`, RFC 5763 §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OfferDtlsRole {
    /// `active` (the mock dials DTLS) for browsers (`sdk=js` on `/rtc`; a v1 `streaming.new`
    /// whose User-Agent starts `Mozilla/`), `actpass` for every other client. A browser answering `actpass` dials, and its first ClientHello often
    /// arrives before webrtc-rs has chosen its ICE pair, which drops it: the handshake then
    /// waits out Chromium's 50 ms retransmission. Dialling ourselves cannot race.
    #[default]
    Auto,
    /// `actpass`, as a LiveKit server offers, to every client (webrtc-rs answerers need it:
    /// they answer `active` whatever the offer says).
    Actpass,
}

/// Everything that shapes the mock's behaviour. `Default` is what `understudy serve` uses with no
/// flags, and each default is the real service's figure where one is known (`heygen-api.md` §4).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub auth: AuthPolicy,
    /// Live sessions (new, connecting, connected) one API key may hold; 0 means no limit.
    /// Default 3, the trial limit.
    pub concurrency_limit: usize,
    /// Hard cap on a session's life, reported as `session_duration_limit`. Default 600 s.
    pub session_duration_limit: Duration,
    /// Idle timeout when `streaming.new` gives no `activity_idle_timeout`. Default 120 s.
    pub default_idle_timeout: Duration,
    /// A LiveAvatar session's idle timeout. Default 5 minutes, the documented figure
    /// (`liveavatar.md` §2.2).
    pub liveavatar_idle_timeout: Duration,
    /// A LiveAvatar sandbox session's limit. Default 1 minute, as documented.
    pub liveavatar_sandbox_limit: Duration,
    /// Speaking rate at `voice.rate = 1`, in words per minute. Default 150.
    pub words_per_minute: f64,
    /// How long a session token from `create_token` is honoured. Default 1 h, as observed.
    pub token_ttl: Duration,
    /// Whether one token may create more than one session. The docs say each session needs a
    /// fresh token; default false (a second `streaming.new` with it gets 401) [INF].
    pub allow_token_reuse: bool,
    /// Whether a second `/rtc` join with an identity already in the room is let in beside the
    /// first. Default false: as a LiveKit server does, the newcomer joins and the earlier
    /// connection is told `leave{DUPLICATE_IDENTITY}` (every client of a session joins as
    /// `client`, so a reloaded page or a second SDK on the same session replaces the first).
    pub allow_duplicate_identity: bool,
    /// Whether `streaming.new` rejects avatar ids missing from `avatar.list` with 10012.
    /// Default false: real accounts have private avatars the mock cannot know.
    pub strict_avatars: bool,
    /// `is_paid` in `streaming.new`. Default false, like a trial key.
    pub is_paid: bool,
    /// Requests kept in the journal; the oldest go first. Default 10,000.
    pub journal_capacity: usize,
    /// The secret the admin API (`/__understudy`) asks for, as `Authorization: Bearer` or
    /// `x-understudy-admin-token`. Without one (the default) the admin API answers only
    /// clients on loopback, since it can end any session and read every request.
    pub admin_token: Option<String>,
    /// Closed sessions kept for `/v2/streaming.list` and for 10005 answers. Default 10,000.
    pub history_capacity: usize,
    /// Seed of the deterministic replies to `talk` tasks.
    pub reply_seed: u64,
    /// Whether `streaming.start` connects a v2 session at once. Default false: it stays
    /// `connecting` until a client joins the LiveKit room, as on the real service, where a
    /// task before that gets 400006. True suits REST-only clients that never join.
    pub connect_on_start: bool,
    /// The voice-activity detector's thresholds (see `voice::vad`).
    pub vad: VadConfig,
    /// Whether the user starting to speak cuts the avatar, as voice assistants do. Default
    /// true [INF: HeyGen's barge-in behaviour is not documented].
    pub barge_in: bool,
    /// Quiet time before a `user_silence` prompt when the chat socket asked for
    /// `silence_response=true`. Default 15 s [INF].
    pub silence_prompt_after: Duration,
    /// Prompts per silence before the server stops prompting. Default 3 [INF].
    pub silence_prompts: u32,
    /// How far ahead of the wall clock a client's audio may run before frames are dropped
    /// (floods are held to real time). Default 2 s; raise it to feed recorded audio faster
    /// than real time.
    pub max_audio_ahead: Duration,
    /// A directory for the encoded video loops, so a fresh process reads them instead of
    /// encoding (about a CPU-second for every quality and codec). Default none: a library
    /// embedded in tests writes nothing to disk; `understudy serve` uses the user's cache
    /// directory.
    pub media_cache: Option<std::path::PathBuf>,
    /// How slow the mock is at each phase (`latency`). Default `instant`: no delays.
    pub latency: Arc<LatencyProfile>,
    /// When a task's text goes out. Default observed.
    pub event_timeline: EventTimeline,
    /// How the observed timeline sends a `talk` reply's text. Default words.
    pub talk_reply_text: TalkReplyText,
    /// The DTLS role the avatar's LiveKit offer asks for. Default auto.
    pub offer_dtls_role: OfferDtlsRole,
    /// How many times faster than real time the mock's timers run (see `clock`): speech,
    /// idle timeout, duration limit, token lifetime, silence prompts, latency profiles, user
    /// turns injected through the admin API. Default 1.
    pub time_scale: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            auth: AuthPolicy::AnyKey,
            concurrency_limit: 3,
            session_duration_limit: Duration::from_secs(600),
            default_idle_timeout: Duration::from_secs(120),
            liveavatar_idle_timeout: Duration::from_secs(300),
            liveavatar_sandbox_limit: Duration::from_secs(60),
            words_per_minute: 150.0,
            token_ttl: Duration::from_secs(3600),
            allow_token_reuse: false,
            allow_duplicate_identity: false,
            strict_avatars: false,
            is_paid: false,
            journal_capacity: 10_000,
            admin_token: None,
            history_capacity: 10_000,
            reply_seed: 0,
            connect_on_start: false,
            vad: VadConfig::default(),
            barge_in: true,
            silence_prompt_after: Duration::from_secs(15),
            silence_prompts: 3,
            max_audio_ahead: Duration::from_secs(2),
            media_cache: None,
            latency: Arc::new(LatencyProfile::instant()),
            time_scale: 1.0,
            event_timeline: EventTimeline::Observed,
            talk_reply_text: TalkReplyText::Words,
            offer_dtls_role: OfferDtlsRole::Auto,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("words per minute must be a positive number, got {0}")]
    SpeakingRate(f64),
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    #[error("the VAD threshold must be a level in dBFS at or below 0, got {0}")]
    VadThreshold(f64),
    #[error("the VAD {0} must be between 0 and 1, got {1}")]
    VadFraction(&'static str, f32),
    #[error("latency profile: {0}")]
    Latency(#[from] LatencyError),
    #[error("the time scale must be a number above 0, got {0}")]
    TimeScale(f64),
}

impl ServerConfig {
    /// The time scale (see `clock`); real time if the configured one cannot be used.
    pub fn clock(&self) -> TimeScale {
        TimeScale::new(self.time_scale).unwrap_or_default()
    }

    /// The speech model sessions are created with.
    pub fn speech_model(&self) -> crate::speech::SpeechModel {
        crate::speech::SpeechModel {
            words_per_minute: self.words_per_minute,
            reply_seed: self.reply_seed,
        }
    }

    /// Checks the values that would make the mock misbehave rather than fail loudly.
    ///
    /// # Errors
    /// A non-positive speaking rate; a zero duration limit, idle timeout, token lifetime,
    /// silence delay or VAD hangover; a VAD threshold above 0 dBFS; a VAD speech score or
    /// tonality limit outside 0..=1; a latency profile that
    /// cannot be drawn from; a time scale at or below zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.latency.validate()?;
        if TimeScale::new(self.time_scale).is_none() {
            return Err(ConfigError::TimeScale(self.time_scale));
        }
        if !(self.words_per_minute.is_finite() && self.words_per_minute > 0.0) {
            return Err(ConfigError::SpeakingRate(self.words_per_minute));
        }
        if !(self.vad.threshold_dbfs.is_finite() && self.vad.threshold_dbfs <= 0.0) {
            return Err(ConfigError::VadThreshold(self.vad.threshold_dbfs));
        }
        for (name, value) in [
            ("speech score", self.vad.speech_score),
            ("tonality limit", self.vad.max_tonality),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::VadFraction(name, value));
            }
        }
        for (name, value) in [
            ("session duration limit", self.session_duration_limit),
            ("idle timeout", self.default_idle_timeout),
            ("LiveAvatar idle timeout", self.liveavatar_idle_timeout),
            ("LiveAvatar sandbox limit", self.liveavatar_sandbox_limit),
            ("token lifetime", self.token_ttl),
            ("silence prompt delay", self.silence_prompt_after),
            ("VAD hangover", self.vad.hangover),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        Ok(())
    }
}
