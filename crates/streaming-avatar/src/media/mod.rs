//! The avatar's media as the SDK hands it out: whole encoded video frames and Opus packets
//! (`frames`), optionally decoded to RGB and PCM (`decode`), through bounded broadcast streams
//! that drop the oldest for a consumer that falls behind, never slowing the room.

pub mod decode;
pub mod frames;

use crate::events::Lagged;
use tokio::sync::broadcast;

/// Video frames kept for a slow consumer: two seconds at 25 fps.
pub const VIDEO_CAPACITY: usize = 50;
/// Audio packets kept for a slow consumer: two seconds of 20 ms packets.
pub const AUDIO_CAPACITY: usize = 100;

/// One kind of media from the moment the stream was made.
///
/// Cancel safety: [`MediaStream::next`] is cancel safe.
#[derive(Debug)]
pub struct MediaStream<T> {
    receiver: broadcast::Receiver<T>,
}

impl<T: Clone> MediaStream<T> {
    pub(crate) fn new(receiver: broadcast::Receiver<T>) -> Self {
        Self { receiver }
    }

    /// The next item; `Err(Lagged(n))` once when this stream fell `n` items behind (a video
    /// decoder then needs a key frame: [`decode::VideoDecoder::gap`]); `None` once the room is
    /// gone.
    pub async fn next(&mut self) -> Option<Result<T, Lagged>> {
        match self.receiver.recv().await {
            Ok(item) => Some(Ok(item)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Err(Lagged(n))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The senders behind the media streams, shared by the room's track readers.
#[derive(Debug, Clone)]
pub(crate) struct MediaHub {
    pub(crate) video: broadcast::Sender<frames::VideoFrame>,
    pub(crate) audio: broadcast::Sender<frames::AudioPacket>,
}

impl MediaHub {
    pub(crate) fn new() -> Self {
        Self {
            video: broadcast::channel(VIDEO_CAPACITY).0,
            audio: broadcast::channel(AUDIO_CAPACITY).0,
        }
    }
}
