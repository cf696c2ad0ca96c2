//! RTP packets in, whole encoded frames out: H264 access units (Annex-B) and VP8 frames,
//! reassembled with `rtc`'s depacketizers on the RTP marker bit. A lost packet drops the frame
//! it belonged to (every packet of that timestamp) and every frame after it until the next key
//! frame, as a decoder would need: a frame is never handed out with a piece missing.

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;
use tokio::time::Instant;

/// The largest frame accepted; anything longer is a broken stream, not video we sent.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The avatar's video codec, from the track's negotiated MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    H264,
    Vp8,
}

impl VideoCodec {
    /// From a MIME type such as `video/H264`; `None` for codecs the SDK does not reassemble.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime.to_ascii_lowercase().as_str() {
            "video/h264" => Some(Self::H264),
            "video/vp8" => Some(Self::Vp8),
            _ => None,
        }
    }
}

/// One encoded video frame, whole.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    pub codec: VideoCodec,
    /// H264: an Annex-B access unit (start codes before every NAL unit). VP8: the frame.
    pub data: Bytes,
    /// The RTP timestamp (90 kHz) shared by the frame's packets.
    pub rtp_timestamp: u32,
    /// An IDR (H264) or a key frame (VP8): decodable on its own.
    pub keyframe: bool,
    /// When its last packet arrived.
    pub received_at: Instant,
}

/// One Opus packet of the avatar's audio.
#[derive(Debug, Clone)]
pub struct AudioPacket {
    pub data: Bytes,
    /// The RTP timestamp (48 kHz).
    pub rtp_timestamp: u32,
    pub received_at: Instant,
}

/// What an RTP packet carries that reassembly needs.
#[derive(Debug, Clone)]
pub struct RtpPiece {
    pub sequence_number: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
}

/// Reassembles one video track's frames.
#[derive(Debug)]
pub struct FrameAssembler {
    codec: VideoCodec,
    h264: H264Packet,
    vp8: Vp8Packet,
    current: BytesMut,
    timestamp: Option<u32>,
    last_sequence: Option<u16>,
    /// A packet was lost: drop frames until a key frame.
    broken: bool,
    /// The timestamp of a damaged frame whose remaining packets are dropped.
    skip_timestamp: Option<u32>,
    /// Frames dropped because of loss or damage.
    pub dropped: u64,
}

impl FrameAssembler {
    pub fn new(codec: VideoCodec) -> Self {
        Self {
            codec,
            h264: H264Packet::default(),
            vp8: Vp8Packet::default(),
            current: BytesMut::new(),
            timestamp: None,
            last_sequence: None,
            // Until the first key frame nothing can be decoded.
            broken: true,
            skip_timestamp: None,
            dropped: 0,
        }
    }

    /// Adds one packet; returns a frame when this packet completed one.
    pub fn push(&mut self, piece: &RtpPiece, now: Instant) -> Option<VideoFrame> {
        if let Some(last) = self.last_sequence {
            let expected = last.wrapping_add(1);
            if piece.sequence_number != expected {
                if piece.sequence_number.wrapping_sub(expected) > u16::MAX / 2 {
                    return None; // late or duplicate: already past it
                }
                // Packets were lost: the frame in progress, and the frame this packet belongs
                // to (whose head may be what was lost), are both damaged.
                self.abandon();
                self.skip_timestamp = Some(piece.timestamp);
                self.dropped += 1;
            }
        }
        self.last_sequence = Some(piece.sequence_number);
        if let Some(damaged) = self.skip_timestamp {
            if piece.timestamp == damaged {
                return None;
            }
            self.skip_timestamp = None;
        }
        if self.timestamp.is_some_and(|t| t != piece.timestamp) {
            // A new frame began before the last one's marker: the marker packet was lost.
            self.abandon();
        }
        self.timestamp = Some(piece.timestamp);
        let unpacked = match self.codec {
            VideoCodec::H264 => self.h264.depacketize(&piece.payload),
            VideoCodec::Vp8 => self.vp8.depacketize(&piece.payload),
        };
        match unpacked {
            Ok(bytes) => self.current.extend_from_slice(&bytes),
            Err(_) => {
                self.abandon();
                self.skip_timestamp = Some(piece.timestamp);
                return None;
            }
        }
        if self.current.len() > MAX_FRAME_BYTES {
            self.abandon();
            return None;
        }
        if !piece.marker {
            return None;
        }
        let data = std::mem::take(&mut self.current).freeze();
        self.timestamp = None;
        self.h264 = H264Packet::default();
        if data.is_empty() {
            return None;
        }
        let keyframe = is_keyframe(self.codec, &data);
        if self.broken && !keyframe {
            self.dropped += 1;
            return None;
        }
        self.broken = false;
        Some(VideoFrame {
            codec: self.codec,
            data,
            rtp_timestamp: piece.timestamp,
            keyframe,
            received_at: now,
        })
    }

    fn abandon(&mut self) {
        if !self.current.is_empty() || self.timestamp.is_some() {
            self.dropped += 1;
        }
        self.current.clear();
        self.timestamp = None;
        self.h264 = H264Packet::default();
        self.broken = true;
    }
}

/// Whether a whole frame is decodable on its own.
pub fn is_keyframe(codec: VideoCodec, data: &[u8]) -> bool {
    match codec {
        // An IDR slice (type 5) with its parameter sets (SPS 7, PPS 8), as WebRTC senders put
        // them before every IDR: decodable by a decoder that has seen nothing before.
        VideoCodec::H264 => {
            let (mut idr, mut sps, mut pps) = (false, false, false);
            for t in nal_types(data) {
                idr |= t == 5;
                sps |= t == 7;
                pps |= t == 8;
            }
            idr && sps && pps
        }
        // RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame.
        VideoCodec::Vp8 => data.first().is_some_and(|b| b & 1 == 0),
    }
}

/// The NAL unit types of an Annex-B access unit (a 4-byte start code contains the 3-byte one).
pub fn nal_types(data: &[u8]) -> impl Iterator<Item = u8> + '_ {
    data.windows(4)
        .filter(|w| w[0] == 0 && w[1] == 0 && w[2] == 1)
        .map(|w| w[3] & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn piece(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPiece {
        RtpPiece {
            sequence_number: seq,
            timestamp: ts,
            marker,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    /// An IDR slice split into FU-A fragments, as a payloader sends it.
    fn fu_a(nal: &[u8], max: usize) -> Vec<Vec<u8>> {
        let header = nal[0];
        let body = &nal[1..];
        let chunks: Vec<_> = body.chunks(max).collect();
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut fu = vec![(header & 0xe0) | 28, header & 0x1f];
                if i == 0 {
                    fu[1] |= 0x80;
                }
                if i == chunks.len() - 1 {
                    fu[1] |= 0x40;
                }
                fu.extend_from_slice(chunk);
                fu
            })
            .collect()
    }

    /// SPS and PPS in one STAP-A, as the payloader sends them before an IDR.
    const PARAMS: [u8; 11] = [0x18, 0, 4, 0x67, 0x42, 0, 0x1f, 0, 2, 0x68, 0xce];

    #[test]
    fn fragments_reassemble_into_one_access_unit() {
        let now = Instant::now();
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000).map(|i| i as u8))
            .collect();
        let mut assembler = FrameAssembler::new(VideoCodec::H264);
        assert!(assembler.push(&piece(1, 90, false, &PARAMS), now).is_none());
        let fragments = fu_a(&idr, 1000);
        let last = fragments.len() - 1;
        let mut frame = None;
        for (i, f) in fragments.iter().enumerate() {
            frame = assembler.push(&piece(2 + i as u16, 90, i == last, f), now);
        }
        let frame = frame.expect("a frame on the marker");
        assert!(frame.keyframe);
        assert_eq!(nal_types(&frame.data).collect::<Vec<_>>(), vec![7, 8, 5]);
        assert!(frame.data.ends_with(&idr[idr.len() - 10..]));
    }

    #[test]
    fn a_lost_packet_drops_frames_until_a_key_frame() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(VideoCodec::H264);
        let p_slice = [0x41, 1, 2, 3];
        let idr = [0x65, 1, 2, 3];
        assert!(assembler.push(&piece(1, 90, false, &PARAMS), now).is_none());
        assert!(assembler.push(&piece(2, 90, true, &idr), now).is_some());
        // Sequence 3 lost; 4 is a P slice: not decodable.
        assert!(
            assembler
                .push(&piece(4, 180, true, &p_slice), now)
                .is_none()
        );
        assert!(
            assembler
                .push(&piece(5, 270, true, &p_slice), now)
                .is_none()
        );
        // An IDR without its parameter sets is not decodable on its own either.
        assert!(assembler.push(&piece(6, 360, true, &idr), now).is_none());
        assert!(
            assembler
                .push(&piece(7, 450, false, &PARAMS), now)
                .is_none()
        );
        assert!(assembler.push(&piece(8, 450, true, &idr), now).is_some());
        assert!(
            assembler
                .push(&piece(9, 540, true, &p_slice), now)
                .is_some()
        );
        assert_eq!(assembler.dropped, 3);
    }

    #[test]
    fn the_rest_of_a_damaged_frame_is_dropped() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(VideoCodec::H264);
        let idr: Vec<u8> = std::iter::once(0x65).chain(0..200).collect();
        let fragments = fu_a(&idr, 50);
        let last = fragments.len() - 1;
        assert!(assembler.push(&piece(1, 90, false, &PARAMS), now).is_none());
        // The IDR's first fragment (sequence 2) is lost: its tail must not become a frame.
        for (i, f) in fragments.iter().enumerate().skip(1) {
            let frame = assembler.push(&piece(2 + i as u16, 90, i == last, f), now);
            assert!(frame.is_none());
        }
        let next = 2 + fragments.len() as u16;
        assert!(
            assembler
                .push(&piece(next, 180, false, &PARAMS), now)
                .is_none()
        );
        assert!(
            assembler
                .push(&piece(next + 1, 180, true, &[0x65, 9, 9]), now)
                .is_some()
        );
    }

    #[test]
    fn vp8_key_frames_are_recognised() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(VideoCodec::Vp8);
        // Descriptor: S=1, PID 0; payload starts with a key-frame tag (bit 0 clear).
        let frame = assembler.push(&piece(9, 1, true, &[0x10, 0x50, 0x01, 0x00]), now);
        assert!(frame.expect("a frame").keyframe);
        let inter = assembler.push(&piece(10, 2, true, &[0x10, 0x51, 0x01, 0x00]), now);
        assert!(!inter.expect("a frame").keyframe);
    }

    proptest! {
        /// Garbage in never panics, never yields a frame larger than the limit.
        #[test]
        fn garbage_never_panics(packets in proptest::collection::vec(
            (any::<u16>(), any::<u32>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..64)
        ) {
            let now = Instant::now();
            for codec in [VideoCodec::H264, VideoCodec::Vp8] {
                let mut assembler = FrameAssembler::new(codec);
                for (seq, ts, marker, payload) in &packets {
                    if let Some(frame) = assembler.push(&piece(*seq, *ts, *marker, payload), now) {
                        prop_assert!(frame.data.len() <= MAX_FRAME_BYTES);
                    }
                }
            }
        }
    }
}
