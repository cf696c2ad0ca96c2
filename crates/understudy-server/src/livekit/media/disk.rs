//! Encoded video loops on disk, so a fresh process serves its first viewer without encoding.
//!
//! One file per (quality, codec), named by a digest of everything the bytes depend on: the
//! codec and quality, the encoder settings, the frame rate and loop length, this crate's
//! version, and the first and last drawn pictures of each loop (so a change to the drawing
//! misses the cache even within one version). A file holds a magic, the two frame counts, each
//! frame length-prefixed, and a SHA-256 of all that; anything that does not check out is
//! ignored and encoded afresh.

use super::encode::ENCODER_SETTINGS;
use super::{FPS, LOOP_FRAMES, VideoLoops, dimensions};
use crate::livekit::picture;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use understudy_proto::rest::session::{Quality, VideoEncoding};

const MAGIC: &[u8; 8] = b"USMEDIA1";
/// No loop frame comes near this; a length past it means the file is damaged.
const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The cache file for `quality` in `codec` under `dir`.
pub fn path(dir: &Path, quality: Quality, codec: VideoEncoding) -> PathBuf {
    let (width, height, bps) = dimensions(quality);
    let mut key = Sha256::new();
    key.update(
        format!(
            "{codec:?} {quality:?} {width}x{height} {bps}bps {FPS}fps {LOOP_FRAMES} frames; \
             {ENCODER_SETTINGS}; understudy-server {}",
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    );
    for (talking, index) in [
        (false, 0),
        (false, LOOP_FRAMES - 1),
        (true, 0),
        (true, LOOP_FRAMES - 1),
    ] {
        key.update(picture::draw(width, height, talking, index).rgb);
    }
    let digest = key.finalize();
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let codec = match codec {
        VideoEncoding::H264 => "h264",
        VideoEncoding::VP8 => "vp8",
    };
    let quality = format!("{quality:?}").to_lowercase();
    dir.join(format!("{codec}-{quality}-{short}.loops"))
}

/// The loops in `file`, if it exists and checks out.
pub fn read(file: &Path) -> Option<VideoLoops> {
    let bytes = std::fs::read(file).ok()?;
    let loops = decode(&bytes);
    if loops.is_none() {
        tracing::warn!(file = %file.display(), "ignoring a damaged media cache file");
    }
    loops
}

/// Writes `loops` to `file` whole or not at all (a temporary file renamed into place), so a
/// reader never sees half a file and two writers cannot interleave.
pub fn write(file: &Path, loops: &VideoLoops) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = file.with_extension(format!("tmp{}", std::process::id()));
    let mut out = std::fs::File::create(&temporary)?;
    out.write_all(&encode(loops))?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

fn encode(loops: &VideoLoops) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for frames in [&loops.idle, &loops.talking] {
        out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    }
    for frame in loops.idle.iter().chain(&loops.talking) {
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn decode(bytes: &[u8]) -> Option<VideoLoops> {
    let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if Sha256::digest(body)[..] != *digest {
        return None;
    }
    let mut rest = body.strip_prefix(MAGIC)?;
    let take_u32 = |rest: &mut &[u8]| -> Option<usize> {
        let (head, tail) = rest.split_first_chunk::<4>()?;
        *rest = tail;
        usize::try_from(u32::from_le_bytes(*head)).ok()
    };
    let idle_count = take_u32(&mut rest)?;
    let talking_count = take_u32(&mut rest)?;
    if idle_count != LOOP_FRAMES || talking_count != LOOP_FRAMES {
        return None;
    }
    let mut frames = Vec::with_capacity(idle_count + talking_count);
    for _ in 0..idle_count + talking_count {
        let len = take_u32(&mut rest)?;
        if len == 0 || len > MAX_FRAME_BYTES || len > rest.len() {
            return None;
        }
        let (frame, tail) = rest.split_at(len);
        frames.push(Bytes::copy_from_slice(frame));
        rest = tail;
    }
    if !rest.is_empty() {
        return None;
    }
    let talking = frames.split_off(idle_count);
    Some(VideoLoops {
        idle: frames,
        talking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loops() -> VideoLoops {
        let frame = |i: usize| Bytes::from(vec![i as u8 + 1; i + 1]);
        VideoLoops {
            idle: (0..LOOP_FRAMES).map(frame).collect(),
            talking: (0..LOOP_FRAMES).map(|i| frame(i + 7)).collect(),
        }
    }

    #[test]
    fn loops_round_trip_through_a_file() {
        let dir = std::env::temp_dir().join(format!("understudy-media-{}", std::process::id()));
        let file = path(&dir, Quality::Low, VideoEncoding::H264);
        write(&file, &loops()).unwrap();
        let back = read(&file).expect("a readable file");
        assert_eq!(back.idle, loops().idle);
        assert_eq!(back.talking, loops().talking);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_damage_is_refused() {
        let good = encode(&loops());
        assert!(decode(&good).is_some());
        for cut in [0, 1, 8, 12, good.len() / 2, good.len() - 1] {
            assert!(decode(&good[..cut]).is_none(), "cut at {cut}");
        }
        for flip in [0, 9, 20, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[flip] ^= 0x40;
            assert!(decode(&bad).is_none(), "flipped byte {flip}");
        }
    }

    #[test]
    fn the_name_tells_codecs_and_qualities_apart() {
        let dir = Path::new("/cache");
        let names: std::collections::HashSet<PathBuf> =
            [Quality::Low, Quality::Medium, Quality::High]
                .into_iter()
                .flat_map(|q| [VideoEncoding::H264, VideoEncoding::VP8].map(|c| path(dir, q, c)))
                .collect();
        assert_eq!(names.len(), 6);
        assert_eq!(
            path(dir, Quality::Low, VideoEncoding::VP8),
            path(dir, Quality::Low, VideoEncoding::VP8)
        );
    }
}
