//! A LiveKit-compatible room per session (`livekit.md`): the `/rtc` signalling socket, the
//! avatar participant's peer connection, and the stage that turns the speech schedule into
//! avatar events and talking media.

mod key_frames;
pub(crate) mod media;
pub(crate) mod narrator;
pub(crate) mod peer;
pub mod picture;
pub(crate) mod publisher;
pub(crate) mod shaper;
mod signal;
pub(crate) mod stage;

pub use media::MediaLibrary;
pub use signal::rtc;

/// The avatar participant as every client of a room sees it.
#[derive(Debug, Clone)]
pub struct RoomNames {
    pub room_sid: String,
    pub avatar_sid: String,
    pub avatar_identity: String,
    pub video_sid: String,
    pub audio_sid: String,
}

/// The avatar participant's LiveKit identity in every room.
pub const AVATAR_IDENTITY: &str = "heygen";

/// Whether a client may join a session's room in `state` (`None`: no such session), and if not,
/// why, in the words a LiveKit client shows. One rule for `/rtc` and `/rtc/validate`, so a
/// client that validates after a refused join is told the same.
pub fn may_join(state: Option<understudy_proto::SessionState>) -> Result<(), &'static str> {
    use understudy_proto::SessionState::{Connected, Connecting, New};
    match state {
        Some(Connecting | Connected) => Ok(()),
        Some(New) => Err("the session has not been started"),
        _ => Err("requested room has ended"),
    }
}

impl RoomNames {
    /// Stable names derived from the session id, so every viewer of a room agrees.
    pub fn for_session(session_id: &str) -> Self {
        let tail: String = session_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        Self {
            room_sid: format!("RM_{tail}"),
            avatar_sid: format!("PA_avatar{tail}"),
            // Pipecat's HeyGen transport treats every participant but `heygen` as the user
            // (docs/fidelity.md), so the avatar must be `heygen` for it to tell them apart.
            avatar_identity: AVATAR_IDENTITY.to_owned(),
            video_sid: format!("TR_video{tail}"),
            audio_sid: format!("TR_audio{tail}"),
        }
    }

    /// `PA_…|camera`: one stream id for both tracks, so the browser lip-syncs them.
    pub fn stream_id(&self) -> String {
        format!("{}|camera", self.avatar_sid)
    }
}
