//! The way from REST handlers to a v1 session's raw peer connection (`crate::raw_webrtc`
//! owns the peer): a command channel kept on the session, so no handler holds the peer across
//! an `.await` and the session needs no WebRTC type.

use tokio::sync::{mpsc, oneshot};

/// What REST handlers ask of a session's peer.
#[derive(Debug)]
pub enum RawCommand {
    /// The client's SDP answer; the reply says whether the peer took it, and if not, why.
    Answer {
        sdp: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// One trickled candidate, `RTCIceCandidate.toJSON()` as JSON.
    Candidate(String),
}

/// Commands queued for the peer's owner; REST calls wait for room, so this only bounds a flood.
pub const RAW_COMMAND_CAPACITY: usize = 64;

/// Kept on a v1 session, cloned by the handlers that need its peer.
#[derive(Debug, Clone)]
pub struct RawPeerHandle {
    commands: mpsc::Sender<RawCommand>,
}

/// Why an answer was not applied.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the peer refused the answer: {0}")]
    Refused(String),
    #[error("the session's peer connection is closed")]
    PeerGone,
}

impl RawPeerHandle {
    /// A handle and the receiver its peer's owner reads.
    pub fn channel() -> (Self, mpsc::Receiver<RawCommand>) {
        let (commands, receiver) = mpsc::channel(RAW_COMMAND_CAPACITY);
        (Self { commands }, receiver)
    }

    /// Applies the client's answer, with any candidates trickled before it.
    ///
    /// # Errors
    /// The peer refused the SDP, or the session has ended and its peer with it.
    pub async fn answer(&self, sdp: String) -> Result<(), AnswerError> {
        let (reply, answered) = oneshot::channel();
        self.commands
            .send(RawCommand::Answer { sdp, reply })
            .await
            .map_err(|_| AnswerError::PeerGone)?;
        answered
            .await
            .map_err(|_| AnswerError::PeerGone)?
            .map_err(AnswerError::Refused)
    }

    /// Hands a trickled candidate to the peer: applied at once after the answer, kept until
    /// then. A candidate the peer cannot use (an mDNS name it does not resolve) is dropped
    /// there; the client's checks reach the peer all the same.
    pub fn candidate(&self, candidate_json: String) {
        if self
            .commands
            .try_send(RawCommand::Candidate(candidate_json))
            .is_err()
        {
            tracing::debug!("candidate dropped: the peer is gone or flooded");
        }
    }
}
