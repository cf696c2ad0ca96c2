//! What a bench run does.

use std::time::Duration;

/// The path a speak takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakPathChoice {
    /// `POST /v1/streaming.task` (repeat, async): the answer is timed too.
    Http,
    /// A text frame on the chat socket (talk).
    Socket,
    /// JSON text as LiveKit data (talk).
    Livekit,
}

impl std::fmt::Display for SpeakPathChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Http => "http",
            Self::Socket => "socket",
            Self::Livekit => "livekit",
        })
    }
}

impl std::str::FromStr for SpeakPathChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "http" => Ok(Self::Http),
            "socket" => Ok(Self::Socket),
            "livekit" => Ok(Self::Livekit),
            other => Err(format!("`{other}`: http, socket or livekit")),
        }
    }
}

/// Which API the bench speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// HeyGen's Streaming API: `create_token`, `new`, `start`, a speak on the plan's path.
    #[default]
    Streaming,
    /// LiveAvatar (FULL): `/v1/sessions/token`, `start`, and each speak an
    /// `avatar.speak_text` command on `agent-control`, timed to its `avatar.speak_started`.
    LiveAvatar,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Streaming => "streaming",
            Self::LiveAvatar => "liveavatar",
        })
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "streaming" => Ok(Self::Streaming),
            "liveavatar" => Ok(Self::LiveAvatar),
            other => Err(format!("`{other}`: streaming or liveavatar")),
        }
    }
}

/// The level at which the avatar's audio counts as talking: well above the mock's digital
/// silence and a real service's noise floor, well below speech.
pub const DEFAULT_AUDIO_THRESHOLD_DBFS: f64 = -45.0;

/// A bench run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The API's base URL.
    pub target: String,
    pub api_key: String,
    /// Concurrent sessions.
    pub sessions: usize,
    /// Speaks each session makes after warm-up (unless `duration` is given).
    pub speaks: usize,
    /// Speak for this long after warm-up instead of a number of speaks.
    pub duration: Option<Duration>,
    /// Speaks each session makes first, not counted.
    pub warmup: usize,
    pub path: SpeakPathChoice,
    /// The API spoken; under LiveAvatar `path` does not apply (a speak is a command in the
    /// room).
    pub dialect: Dialect,
    /// Open loop: speaks per second per session, on a schedule. `None`: closed loop.
    pub rate: Option<f64>,
    /// What each speak says (short: the avatar's talking time is not what is measured).
    pub text: String,
    /// Longest wait for any one event.
    pub timeout: Duration,
    /// Time `talking_frame`: ask for H264 and decode every frame to read the synthetic
    /// avatar's marker (a mock target; a frame costs a decode, so keep sessions few).
    pub video_marker: bool,
    /// Sessions setting up at once; the others wait their turn, so hundreds of sessions do
    /// not all handshake in the same instant (their set-up phases would time the bench's own
    /// queueing).
    pub setup_concurrency: usize,
    /// Sessions only `create_token`, `new` and `start` over REST (no room, no speaks), wait
    /// for each other, then stop: what an idle session costs the target.
    pub rest_only: bool,
    /// Time `talking_audio`: the first audio packet at or above this level (dBFS) after a
    /// speak. `None` decodes no audio (cheaper at large scale).
    pub audio_threshold_dbfs: Option<f64>,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            target: String::new(),
            api_key: String::new(),
            sessions: 1,
            speaks: 20,
            duration: None,
            warmup: 2,
            path: SpeakPathChoice::Http,
            dialect: Dialect::Streaming,
            rate: None,
            text: "hi".into(),
            timeout: Duration::from_secs(30),
            audio_threshold_dbfs: Some(DEFAULT_AUDIO_THRESHOLD_DBFS),
            rest_only: false,
            video_marker: false,
            setup_concurrency: 32,
        }
    }
}
