//! The connection quality the official SDK reports (`CONNECTION_QUALITY_CHANGED`, 2.0.12+):
//! UNKNOWN until the stream is ready, BAD when the room has ended, media has stopped arriving,
//! or the server reports this client's connection poor or lost; GOOD otherwise. The official
//! SDK mixes LiveKit's own quality (the server's `ConnectionQualityUpdate`) with a MOS
//! estimate from WebRTC stats; on a healthy loopback both say GOOD, and both say BAD when
//! media stops, which this judges from the packets themselves.

use crate::events::ConnectionQuality;
use std::time::Duration;

/// Media silent for this long makes the connection BAD. The avatar sends audio every 20 ms
/// and video every 40 ms, idle or talking, so a healthy stream is never silent this long.
pub const MEDIA_SILENCE_BAD: Duration = Duration::from_secs(2);
/// How often the session re-judges.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// What the judgement looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub stream_ready: bool,
    pub room_ended: bool,
    /// Time since media last arrived, `None` before any did.
    pub since_media: Option<Duration>,
    /// The server's last word on this client's connection was poor or lost.
    pub server_says_poor: bool,
}

/// Judges one observation.
pub fn assess(observation: Observation) -> ConnectionQuality {
    if observation.room_ended {
        return ConnectionQuality::Bad;
    }
    if !observation.stream_ready {
        return ConnectionQuality::Unknown;
    }
    if observation.server_says_poor {
        return ConnectionQuality::Bad;
    }
    match observation.since_media {
        Some(silence) if silence < MEDIA_SILENCE_BAD => ConnectionQuality::Good,
        _ => ConnectionQuality::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_follows_the_stream() {
        let base = Observation {
            stream_ready: true,
            room_ended: false,
            since_media: Some(Duration::from_millis(40)),
            server_says_poor: false,
        };
        assert_eq!(assess(base), ConnectionQuality::Good);
        assert_eq!(
            assess(Observation {
                stream_ready: false,
                ..base
            }),
            ConnectionQuality::Unknown
        );
        assert_eq!(
            assess(Observation {
                since_media: Some(Duration::from_secs(3)),
                ..base
            }),
            ConnectionQuality::Bad
        );
        assert_eq!(
            assess(Observation {
                room_ended: true,
                ..base
            }),
            ConnectionQuality::Bad
        );
        assert_eq!(
            assess(Observation {
                server_says_poor: true,
                ..base
            }),
            ConnectionQuality::Bad
        );
    }
}
