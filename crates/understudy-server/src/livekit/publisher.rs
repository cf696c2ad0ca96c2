//! The server's side of a client's *publisher* peer connection (`livekit.md` §2.9): the client
//! offers, we answer. It carries what the client sends: LiveKit data packets on the client's
//! `_reliable` / `_lossy` channels (text for the avatar, push-to-talk), and the microphone track
//! of HeyGen's LiveKit voice transport, whose Opus is decoded here to 48 kHz mono PCM.
//!
//! What arrives is reported on a bounded channel as [`FromClient`]; when the owner is slow the
//! newest audio is dropped (a flood cannot grow memory), data packets wait for room.

use super::peer::{PeerError, err, loopback_peer_connection, trickle_candidate};
use livekit_protocol as lk;
use prost::Message as _;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MediaEngine};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use understudy_proto::hops;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent,
};

/// The sample rate of decoded microphone audio (Opus always decodes at 48 kHz here).
pub const MIC_SAMPLE_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_OPUS_SAMPLES: usize = 5760;
/// How often a microphone that sends nothing is reported as quiet (the listener decides when
/// that is long enough to end a turn).
const MIC_QUIET_CHECK: Duration = Duration::from_millis(250);
/// A timestamp jump past this (10 s) is a discontinuity, not silence.
const MAX_SKIPPED_SAMPLES: usize = 10 * MIC_SAMPLE_RATE as usize;
/// Capacity of the channel to the owner: about two seconds of 20 ms audio packets.
pub const FROM_CLIENT_CAPACITY: usize = 128;

/// What the client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum FromClient {
    /// A `UserPacket` (a channel's label is not trusted: both carry users).
    User(UserData),
    /// A packet of decoded microphone audio at [`MIC_SAMPLE_RATE`], mono.
    Microphone(Vec<i16>),
    /// The microphone's RTP timestamps jumped past its audio by this much: the sender's own
    /// clock says this time carried no audio (Opus DTX skipping silence).
    MicrophoneGap(Duration),
    /// No packet at all has arrived for this long, on the wall clock.
    MicrophoneQuiet(Duration),
    /// The microphone track ended.
    MicrophoneEnded,
}

struct Handler {
    from_client: mpsc::Sender<FromClient>,
    /// Where the server's candidates go, to be trickled (target PUBLISHER).
    trickle: mpsc::Sender<String>,
    /// The server's tracker: the channel and microphone readers end with the connection, and
    /// shutdown waits for them.
    tasks: tokio_util::task::TaskTracker,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        trickle_candidate(&self.trickle, &event);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        self.tasks
            .spawn(read_channel(channel, self.from_client.clone()));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.tasks
            .spawn(read_microphone(track, self.from_client.clone()));
    }
}

/// The client's publisher connection, as the server sees it.
pub struct ClientPublisher {
    pc: Arc<dyn PeerConnection>,
}

impl std::fmt::Debug for ClientPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientPublisher").finish_non_exhaustive()
    }
}

impl ClientPublisher {
    /// Builds the answering side on 127.0.0.1; it accepts Opus audio and data channels. Its
    /// candidates go to `trickle` as they are gathered, as a LiveKit server trickles them.
    ///
    /// # Errors
    /// When webrtc-rs cannot bind a UDP port or refuses the configuration.
    pub async fn new(
        from_client: mpsc::Sender<FromClient>,
        trickle: mpsc::Sender<String>,
        tasks: tokio_util::task::TaskTracker,
    ) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        let opus = RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        };
        media
            .register_codec(opus, RtpCodecKind::Audio)
            .map_err(err)?;
        let handler = Arc::new(Handler {
            from_client,
            trickle,
            tasks,
        });
        let pc = loopback_peer_connection(media, handler).await?;
        Ok(Self { pc })
    }

    /// Answers one client offer (the first, or a renegotiation) at once: the candidates
    /// follow as they are gathered, through the `trickle` channel.
    ///
    /// # Errors
    /// An offer that does not parse or cannot be answered.
    pub async fn answer(&self, offer_sdp: String) -> Result<String, PeerError> {
        let offer = super::peer::read_description(false, offer_sdp)?;
        self.pc.set_remote_description(offer).await.map_err(err)?;
        let answer = self.pc.create_answer(None).await.map_err(err)?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await.map_err(err)?;
        Ok(sdp)
    }

    /// Adds a candidate the client trickled for its publisher connection.
    ///
    /// # Errors
    /// JSON that is not a candidate, or a candidate webrtc-rs refuses.
    pub async fn add_remote_candidate(&self, candidate_json: &str) -> Result<(), PeerError> {
        let init = super::peer::read_candidate(candidate_json)?;
        self.pc.add_ice_candidate(init).await.map_err(err)
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// What a client's user packet carries: its payload, and the topic it was published on
/// (LiveAvatar's commands come on `agent-control`; the Streaming API's SDK sets none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub payload: Vec<u8>,
    pub topic: Option<String>,
}

/// The payload of a client's data message if it is a LiveKit user packet (what `publishData`
/// sends); anything else, garbage included, is `None`.
pub fn user_payload(message: &[u8]) -> Option<Vec<u8>> {
    user_data(message).map(|data| data.payload)
}

/// A client's data message if it is a LiveKit user packet, with its topic.
pub fn user_data(message: &[u8]) -> Option<UserData> {
    match lk::DataPacket::decode(message).ok()?.value {
        Some(lk::data_packet::Value::User(user)) => Some(UserData {
            payload: user.payload,
            topic: user.topic,
        }),
        _ => None,
    }
}

/// Reads DataPackets from one of the client's channels until it closes. Only user packets
/// matter; anything else (or garbage) is dropped.
async fn read_channel(channel: Arc<dyn DataChannel>, to_owner: mpsc::Sender<FromClient>) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnMessage(message) => {
                let Some(data) = user_data(message.data.as_ref()) else {
                    tracing::debug!("dropped a client data message that is not a user packet");
                    continue;
                };
                tracing::trace!(target: hops::TARGET, hop = hops::SERVER_SPEAK_READ);
                if to_owner.send(FromClient::User(data)).await.is_err() {
                    return;
                }
            }
            DataChannelEvent::OnClose => return,
            _ => {}
        }
    }
}

/// Decodes the microphone's Opus packets until the track ends. Two things are reported apart,
/// so late packets can never be counted as silence as well as audio: an RTP timestamp that
/// jumps past the previous packet's audio (Opus DTX sends one packet per 400 ms of silence),
/// measured on the sender's clock; and, every [`MIC_QUIET_CHECK`] without a packet, how long
/// since the last one.
async fn read_microphone(track: Arc<dyn TrackRemote>, to_owner: mpsc::Sender<FromClient>) {
    let mut decoder = match opus_rs::OpusDecoder::new(MIC_SAMPLE_RATE as i32, 1) {
        Ok(decoder) => decoder,
        Err(e) => {
            tracing::error!(%e, "no Opus decoder for the microphone");
            return;
        }
    };
    let mut pcm = vec![0f32; MAX_OPUS_SAMPLES];
    // The previous packet's RTP timestamp and how many samples it decoded to.
    let mut previous: Option<(u32, usize)> = None;
    let mut last_packet = tokio::time::Instant::now();
    loop {
        let event = match tokio::time::timeout(MIC_QUIET_CHECK, track.poll()).await {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(_) => {
                if to_owner
                    .send(FromClient::MicrophoneQuiet(last_packet.elapsed()))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                last_packet = tokio::time::Instant::now();
                // Chromium pads its bandwidth probes as audio packets with no payload. Opus
                // reads an empty packet as a lost one and conceals it with 120 ms of the last
                // sound drawn out: heard, a 20 ms beep becomes a long tone and a pause
                // becomes sound. An empty packet carries no audio; skip it.
                if packet.payload.is_empty() {
                    continue;
                }
                let Ok(n) = decoder.decode(&packet.payload, MAX_OPUS_SAMPLES, &mut pcm) else {
                    continue;
                };
                let timestamp = packet.header.timestamp;
                if let Some((last, last_len)) = previous {
                    let skipped = (timestamp.wrapping_sub(last) as usize).saturating_sub(last_len);
                    if skipped > 0 && skipped <= MAX_SKIPPED_SAMPLES {
                        let gap =
                            Duration::from_secs_f64(skipped as f64 / f64::from(MIC_SAMPLE_RATE));
                        let _ = to_owner.try_send(FromClient::MicrophoneGap(gap));
                    }
                }
                previous = Some((timestamp, n));
                let samples = pcm[..n.min(pcm.len())]
                    .iter()
                    .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
                    .collect();
                match to_owner.try_send(FromClient::Microphone(samples)) {
                    Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    let _ = to_owner.send(FromClient::MicrophoneEnded).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::ClientMessage;
    use proptest::prelude::*;

    fn cases() -> u32 {
        crate::proptest_cases(2_000)
    }

    fn packet() -> impl Strategy<Value = Vec<u8>> {
        let user = (proptest::collection::vec(any::<u8>(), 0..300), ".{0,20}").prop_map(
            |(payload, topic)| {
                lk::DataPacket {
                    value: Some(lk::data_packet::Value::User(lk::UserPacket {
                        payload,
                        topic: Some(topic),
                        ..Default::default()
                    })),
                    ..Default::default()
                }
                .encode_to_vec()
            },
        );
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            user.clone(),
            (user, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut b, at, x)| {
                let i = at.index(b.len().max(1));
                if i < b.len() {
                    b[i] ^= x | 1;
                }
                b
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Any message reads without a panic; a payload is only ever a user packet's, and a
        /// client message only ever a JSON string literal's.
        #[test]
        fn any_data_message_reads_to_its_documented_outcome(bytes in packet()) {
            if let Some(payload) = user_payload(&bytes) {
                let decoded = lk::DataPacket::decode(&bytes[..]).unwrap();
                prop_assert!(matches!(decoded.value, Some(lk::data_packet::Value::User(u)) if u.payload == payload));
                if let Some(ClientMessage::Talk(text)) = ClientMessage::parse(&payload) {
                    prop_assert_eq!(serde_json::from_slice::<String>(&payload).ok(), Some(text.clone()));
                    prop_assert!(!text.trim().is_empty());
                }
            }
        }
    }
}
