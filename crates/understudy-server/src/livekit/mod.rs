//! A LiveKit-compatible room per session (`livekit.md`): the `/rtc` signalling socket, the
//! avatar participant's peer connection, and the stage that turns the speech schedule into
//! avatar events and talking media.

mod media;
mod narrator;
pub(crate) mod peer;
pub mod picture;
pub(crate) mod publisher;
mod signal;
mod stage;

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
