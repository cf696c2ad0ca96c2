//! The avatar's encoded media, made once and shared: per quality and codec (H264 through
//! openh264, VP8 through libvpx), an idle and a talking loop, each starting on a key frame so a
//! stream can switch loops on any frame; and Opus packets for silence and for a speech-like
//! talking loop.
//!
//! Nothing is encoded until it is needed: a session's (quality, codec) starts encoding in the
//! background when `streaming.new` creates it ([`MediaLibrary::warm`]), and a viewer that
//! arrives first waits for it. A REST-only server never encodes. With a cache directory the
//! loops are read from disk when a previous process left them there (`disk`), and written
//! there after encoding. Every viewer only packetises the shared frames: no per-session
//! encoder.
//!
//! - `encode`: the encoders.
//! - `disk`: the cache files.
//! - [`clip`]: a client's own speech (the realtime endpoint), encoded as it arrives.

pub mod clip;
mod disk;
mod encode;

use bytes::Bytes;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use understudy_proto::rest::session::{Quality, VideoEncoding};

/// Video frames a second.
pub const FPS: usize = 25;
/// Frames in each loop: one second.
pub const LOOP_FRAMES: usize = FPS;
/// Opus frames are 20 ms at 48 kHz stereo.
pub const AUDIO_FRAME_SAMPLES: usize = 960;
pub(crate) const SAMPLE_RATE: usize = 48_000;
/// Packets in the talking audio loop: one second.
pub(crate) const AUDIO_LOOP_PACKETS: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("media: {0}")]
pub struct MediaError(pub(crate) String);

/// Why [`MediaError`] says an encoding was cut short.
const CUT_SHORT: &str = "the runtime shut down before the encoding finished";

impl MediaError {
    /// The runtime shut down mid-encoding (a server stopping): nothing went wrong.
    pub fn is_cut_short(&self) -> bool {
        self.0 == CUT_SHORT
    }
}

/// Size and bitrate per quality, as HeyGen's docs give them.
pub fn dimensions(quality: Quality) -> (usize, usize, u32) {
    match quality {
        Quality::High => (1280, 720, 2_000_000),
        Quality::Medium => (854, 480, 1_000_000),
        Quality::Low => (640, 360, 500_000),
    }
}

/// The two video loops of one quality. Frame 0 of each is an IDR with SPS and PPS.
#[derive(Debug)]
pub struct VideoLoops {
    pub idle: Vec<Bytes>,
    pub talking: Vec<Bytes>,
}

/// Silence and the talking loop, as Opus packets.
#[derive(Debug)]
pub struct AudioLoops {
    pub silence: Bytes,
    pub talking: Vec<Bytes>,
}

/// One quality's loops, or why they could not be encoded, filled once.
type VideoSlot = OnceLock<Result<Arc<VideoLoops>, String>>;

/// The encoded media of one cache directory (or of none). Encoding is deterministic, so one
/// library per directory serves every server in the process ([`MediaLibrary::for_cache`]).
#[derive(Debug, Default)]
pub struct MediaLibrary {
    cache: Option<PathBuf>,
    video: Mutex<HashMap<(Quality, VideoEncoding), Arc<VideoSlot>>>,
    audio: OnceLock<Result<Arc<AudioLoops>, String>>,
}

type Libraries = Mutex<HashMap<Option<PathBuf>, Arc<MediaLibrary>>>;
static LIBRARIES: OnceLock<Libraries> = OnceLock::new();

impl MediaLibrary {
    /// The process's library for `cache` (a directory for encoded loops, or none).
    pub fn for_cache(cache: Option<&Path>) -> Arc<MediaLibrary> {
        let cache = cache.map(Path::to_path_buf);
        let mut libraries = LIBRARIES
            .get_or_init(Libraries::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Arc::clone(libraries.entry(cache.clone()).or_insert_with(|| {
            Arc::new(MediaLibrary {
                cache,
                ..MediaLibrary::default()
            })
        }))
    }

    /// Starts making the audio and the loops for `quality` in `codec` in the background, so
    /// the session's first viewer does not wait for them. Returns at once; a second call for
    /// the same loops does nothing new.
    ///
    /// The task is detached on purpose: the library outlives any one server, so no server's
    /// shutdown should wait for (or cut) an encoding another server may be waiting on.
    pub fn warm(self: &Arc<Self>, quality: Quality, codec: VideoEncoding) {
        let library = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = library.audio() {
                tracing::error!(%e, "could not encode the avatar's audio");
            }
            match library.video(quality, codec).await {
                Err(e) if !e.is_cut_short() => {
                    tracing::error!(%e, ?quality, ?codec, "could not encode the avatar's video");
                }
                _ => {}
            }
        });
    }

    /// The loops for `quality` in `codec`: from memory, else from the disk cache, else encoded
    /// (on a blocking thread) and written to the cache.
    ///
    /// # Errors
    /// When the encoder cannot be created or refuses a frame.
    pub async fn video(
        &self,
        quality: Quality,
        codec: VideoEncoding,
    ) -> Result<Arc<VideoLoops>, MediaError> {
        let cell = Arc::clone(
            self.video
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((quality, codec))
                .or_default(),
        );
        if let Some(made) = cell.get() {
            return made.clone().map_err(MediaError);
        }
        let cache = self.cache.clone();
        let made = tokio::task::spawn_blocking(move || {
            cell.get_or_init(|| {
                load_or_encode(cache.as_deref(), quality, codec)
                    .map(Arc::new)
                    .map_err(|e| e.0)
            })
            .clone()
        })
        .await
        .map_err(|e| {
            if e.is_cancelled() {
                MediaError(CUT_SHORT.to_owned())
            } else {
                MediaError(e.to_string())
            }
        })?;
        made.map_err(MediaError)
    }

    /// The audio loops, encoded the first time (a few milliseconds: never cached on disk).
    ///
    /// # Errors
    /// When the Opus encoder refuses its configuration.
    pub fn audio(&self) -> Result<Arc<AudioLoops>, MediaError> {
        self.audio
            .get_or_init(|| encode::encode_audio().map(Arc::new).map_err(|e| e.0))
            .clone()
            .map_err(MediaError)
    }
}

fn load_or_encode(
    cache: Option<&Path>,
    quality: Quality,
    codec: VideoEncoding,
) -> Result<VideoLoops, MediaError> {
    let file = cache.map(|dir| disk::path(dir, quality, codec));
    if let Some(loops) = file.as_deref().and_then(disk::read) {
        tracing::debug!(?quality, ?codec, "video loops read from the media cache");
        return Ok(loops);
    }
    let loops = encode::encode_video(quality, codec)?;
    if let Some(file) = file {
        if let Err(e) = disk::write(&file, &loops) {
            tracing::warn!(file = %file.display(), %e, "could not write the media cache");
        }
    }
    Ok(loops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_library_on_the_same_directory_reads_what_the_first_encoded() {
        let dir = std::env::temp_dir().join(format!("understudy-library-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_encode(Some(&dir), Quality::Low, VideoEncoding::H264).unwrap();
        let file = disk::path(&dir, Quality::Low, VideoEncoding::H264);
        assert!(file.exists(), "the encoder wrote {}", file.display());
        let read = disk::read(&file).expect("the cache file reads back");
        assert_eq!(read.idle, first.idle);
        assert_eq!(read.talking, first.talking);
        // A damaged file is replaced by a fresh encoding.
        std::fs::write(&file, b"garbage").unwrap();
        let again = load_or_encode(Some(&dir), Quality::Low, VideoEncoding::H264).unwrap();
        assert_eq!(again.idle, first.idle);
        assert!(disk::read(&file).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn libraries_are_shared_per_directory() {
        let a = MediaLibrary::for_cache(None);
        let b = MediaLibrary::for_cache(None);
        assert!(Arc::ptr_eq(&a, &b));
        let c = MediaLibrary::for_cache(Some(Path::new("/nonexistent/understudy")));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
