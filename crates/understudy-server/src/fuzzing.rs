//! Entry points for the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz): the mock's
//! decoders of what clients send, each as the server runs it. Not a stable API.

use livekit_protocol as lk;
use prost::Message as _;

pub use crate::livekit::publisher::user_payload;
pub use crate::voice::ClientMessage;
pub use crate::voice::frames::{ClientFrame, read_frame};

/// Reads a `/rtc` signalling frame as the server does before acting on it: the protobuf, then
/// the SDP of an offer or answer and the JSON of a trickled candidate. Returns whether every
/// step accepted its input; it must never panic.
pub fn read_signal_request(bytes: &[u8]) -> bool {
    use lk::signal_request::Message as Req;
    let Ok(request) = lk::SignalRequest::decode(bytes) else {
        return false;
    };
    match request.message {
        Some(Req::Offer(offer)) => crate::livekit::peer::read_description(false, offer.sdp).is_ok(),
        Some(Req::Answer(answer)) => {
            crate::livekit::peer::read_description(true, answer.sdp).is_ok()
        }
        Some(Req::Trickle(trickle)) => {
            crate::livekit::peer::read_candidate(&trickle.candidate_init).is_ok()
        }
        _ => true,
    }
}

/// A server's state with its own shutdown token and task tracker, for driving the router in
/// process (`app(state).oneshot(request)`).
pub fn state(config: crate::ServerConfig) -> crate::AppState {
    crate::AppState::new(
        config,
        tokio_util::sync::CancellationToken::new(),
        tokio_util::task::TaskTracker::new(),
    )
}
