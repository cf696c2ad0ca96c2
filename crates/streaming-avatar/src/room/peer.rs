//! The SDK's two peer connections, as livekit-client has them (`livekit.md` §2): the
//! subscriber, which answers the server's offers and receives the avatar's tracks and data, and
//! the publisher, which the client offers when it first sends data or a microphone.
//!
//! Invariant: this is the only module of the SDK that imports webrtc-rs's connection API
//! (`webrtc`); what crosses its boundary is SDP and candidate JSON strings, bytes and plain
//! events, never a webrtc type.

use super::{PeerSignal, RoomShared, TARGET_PUBLISHER, TARGET_SUBSCRIBER};
use crate::Error;
use crate::events::{EventSource, StreamingEvent};
use crate::media::frames::{AudioPacket, FrameAssembler, RtpPiece, VideoCodec};
use crate::proto::hops;
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt as _;
use livekit_protocol as lk;
use prost::Message as _;
use rtc::data_channel::RTCDataChannelInit;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MediaEngine};
use rtc::peer_connection::transport::RTCIceServer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, SettingEngineBuilder,
};

/// Between ICE checks while connecting, on loopback: webrtc-rs nominates a pair only on its next
/// check, and its 200 ms default would be most of a join. The same timer sends the DTLS
/// ClientHello once ICE connects (the SDK dials DTLS when it answers), so it is short.
const LOOPBACK_ICE_CHECK_INTERVAL: Duration = Duration::from_millis(2);

/// How a peer reaches the server.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerSettings {
    /// The room's host is a loopback address: bind 127.0.0.1 and offer loopback candidates
    /// (webrtc-rs skips loopback on a wildcard bind), check often.
    pub loopback: bool,
    /// STUN/TURN servers from the JoinResponse.
    pub ice_servers: Vec<lk::IceServer>,
    /// How long an answer waits for local candidates to ride inline (the rest trickle).
    pub answer_gathering_wait: Duration,
}

fn err(what: &'static str) -> impl Fn(webrtc::error::Error) -> Error {
    move |e| Error::Room(format!("{what}: {e}"))
}

async fn build_peer(
    settings: &PeerSettings,
    mut media: MediaEngine,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, Error> {
    media
        .register_default_codecs()
        .map_err(|e| Error::Room(format!("codecs: {e}")))?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|e| Error::Room(format!("interceptors: {e}")))?;
    let mut engine =
        SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    let bind = if settings.loopback {
        engine = engine
            .with_include_loopback_candidate(true)
            .with_ice_connection_attempts(Some(LOOPBACK_ICE_CHECK_INTERVAL), None);
        "127.0.0.1:0"
    } else {
        "0.0.0.0:0"
    };
    let ice_servers = settings
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(ice_servers)
                .build(),
        )
        .with_media_engine(media)
        .with_setting_engine(engine.build())
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![bind.to_owned()])
        .build()
        .await
        .map_err(err("peer connection"))?;
    Ok(Arc::new(pc))
}

/// Candidates and connection states go to the signalling task; data and tracks to the room's
/// hubs, each read on a tracked task of its own.
struct Handler {
    target: i32,
    signals: mpsc::Sender<PeerSignal>,
    state: watch::Sender<RTCPeerConnectionState>,
    gathered: watch::Sender<bool>,
    shared: Arc<RoomShared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let Ok(json) = serde_json::to_string(&init) else {
            return;
        };
        let _ = self
            .signals
            .send(PeerSignal::Candidate {
                target: self.target,
                json,
            })
            .await;
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.gathered
            .send_replace(state == RTCIceGatheringState::Complete);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
        let _ = self.signals.try_send(PeerSignal::StateChanged);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let shared = Arc::clone(&self.shared);
        self.shared
            .tasks
            .spawn(read_server_channel(channel, shared));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.shared);
        self.shared.tasks.spawn(read_track(track, shared));
    }
}

/// Reads the server's data channels: on `_reliable`, binary `DataPacket`s whose user payload
/// is an event's JSON (`livekit.md` §2.8). Anything else is counted as garbage and dropped.
///
/// Messages that arrived together (a talk reply's text chunks, then `avatar_start_talking`)
/// are read and decoded together and then published in one burst, each stamped when it was
/// read: a reader of the event stream is woken once for the burst instead of once a message,
/// which on a two-core machine saved about 30 µs of a talk's start.
async fn read_server_channel(channel: Arc<dyn DataChannel>, shared: Arc<RoomShared>) {
    let label = channel.label().await.unwrap_or_default();
    // Announced means opened by the server (in-band DCEP): events may follow at once.
    if label == "_reliable" {
        shared.reliable_open.send_replace(true);
    }
    let events_channel = label == "_reliable" || label == "_lossy";
    let mut burst = Vec::with_capacity(MAX_BURST);
    loop {
        let mut next = tokio::select! {
            () = shared.closed.cancelled() => return,
            event = channel.poll() => event,
        };
        let open = loop {
            match next {
                Some(DataChannelEvent::OnMessage(message)) if events_channel => {
                    let at = Instant::now();
                    tracing::trace!(target: hops::TARGET, hop = hops::SDK_EVENT_RECEIVED);
                    match decode_event(&message.data, message.is_string) {
                        Some(event) => burst.push((at, event)),
                        None => {
                            shared.stats.garbage_data.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Some(DataChannelEvent::OnClose) | None => break false,
                Some(_) => {}
            }
            if burst.len() == MAX_BURST {
                break true;
            }
            // Whatever else is already there, without waiting (`poll` is cancel-safe).
            match channel.poll().now_or_never() {
                Some(event) => next = event,
                None => break true,
            }
        };
        for (at, event) in burst.drain(..) {
            shared.events.emit_at(at, EventSource::Room, event);
            tracing::trace!(target: hops::TARGET, hop = hops::SDK_EVENT_EMITTED);
        }
        if !open {
            return;
        }
    }
}

/// The most events [`read_server_channel`] holds back to publish together.
const MAX_BURST: usize = 64;

/// A server data message as an event; `None` for text frames (livekit-client drops them too),
/// bytes that are not a `DataPacket`, packets that are not user packets, and payloads that are
/// not an event's JSON. On LiveAvatar's `agent-response` topic the payload is one of its
/// events.
fn decode_event(data: &[u8], is_string: bool) -> Option<StreamingEvent> {
    if is_string {
        return None;
    }
    let packet = lk::DataPacket::decode(data).ok()?;
    match packet.value? {
        lk::data_packet::Value::User(user)
            if user.topic.as_deref() == Some(understudy_proto::liveavatar::RESPONSE_TOPIC) =>
        {
            StreamingEvent::from_agent_response(&user.payload)
        }
        lk::data_packet::Value::User(user) => StreamingEvent::from_room_payload(&user.payload),
        _ => None,
    }
}

/// Reads one of the avatar's tracks: video becomes whole frames, audio Opus packets. Both
/// kinds subscribed makes the session's `StreamReady`.
async fn read_track(track: Arc<dyn TrackRemote>, shared: Arc<RoomShared>) {
    let video = track.kind().await == RtpCodecKind::Video;
    shared.track_subscribed(video);
    let mut assembler: Option<FrameAssembler> = None;
    loop {
        let event = tokio::select! {
            () = shared.closed.cancelled() => return,
            event = track.poll() => event,
        };
        let Some(event) = event else { return };
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let now = Instant::now();
        shared.stats.media_seen(video);
        if !video {
            let _ = shared.media.audio.send(AudioPacket {
                data: packet.payload,
                rtp_timestamp: packet.header.timestamp,
                received_at: now,
            });
            continue;
        }
        if assembler.is_none() {
            let codec = track
                .codec(packet.header.ssrc)
                .await
                .and_then(|c| VideoCodec::from_mime(&c.mime_type));
            match codec {
                Some(codec) => assembler = Some(FrameAssembler::new(codec)),
                None => continue,
            }
        }
        let Some(assembler) = assembler.as_mut() else {
            continue;
        };
        let piece = RtpPiece {
            sequence_number: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            marker: packet.header.marker,
            payload: packet.payload,
        };
        if let Some(frame) = assembler.push(&piece, now) {
            let _ = shared.media.video.send(frame);
        }
    }
}

/// The peer that receives the avatar: answers the server's offers.
pub(crate) struct Subscriber {
    pc: Arc<dyn PeerConnection>,
    pub(crate) state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<bool>,
    gathering_wait: Duration,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").finish_non_exhaustive()
    }
}

impl Subscriber {
    pub(crate) async fn new(
        settings: &PeerSettings,
        signals: mpsc::Sender<PeerSignal>,
        shared: Arc<RoomShared>,
    ) -> Result<Self, Error> {
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, gathered) = watch::channel(false);
        let handler = Arc::new(Handler {
            target: TARGET_SUBSCRIBER,
            signals,
            state: state_tx,
            gathered: gathered_tx,
            shared,
        });
        let pc = build_peer(settings, MediaEngine::default(), handler).await?;
        Ok(Self {
            pc,
            state,
            gathered,
            gathering_wait: settings.answer_gathering_wait,
        })
    }

    /// Applies a server offer and returns the answer's SDP, with the local candidates gathered
    /// within `answer_gathering_wait` inline; every candidate is also trickled, as browsers do.
    pub(crate) async fn answer(&self, offer_sdp: String) -> Result<String, Error> {
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(err("offer SDP"))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(err("apply the offer"))?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(err("create the answer"))?;
        let sdp = answer.sdp.clone();
        self.pc
            .set_local_description(answer)
            .await
            .map_err(err("apply the answer"))?;
        if self.gathering_wait.is_zero() {
            return Ok(sdp);
        }
        let mut gathered = self.gathered.clone();
        let _ = tokio::time::timeout(self.gathering_wait, gathered.wait_for(|g| *g)).await;
        Ok(self.pc.local_description().await.map_or(sdp, |d| d.sdp))
    }

    pub(crate) async fn add_remote_candidate(&self, json: &str) -> Result<(), Error> {
        add_candidate(&self.pc, json).await
    }

    pub(crate) async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

async fn add_candidate(pc: &Arc<dyn PeerConnection>, json: &str) -> Result<(), Error> {
    let init: RTCIceCandidateInit =
        serde_json::from_str(json).map_err(|e| Error::Room(format!("trickled candidate: {e}")))?;
    pc.add_ice_candidate(init)
        .await
        .map_err(err("trickled candidate"))
}

/// The microphone track: Opus, 48 kHz, written packet by packet.
struct Microphone {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    /// `(ssrc, payload type)` once negotiated.
    writer: std::sync::OnceLock<(u32, u8)>,
}

/// The peer the client publishes on: `_reliable` and `_lossy` for data, and a microphone track
/// when voice chat runs over LiveKit.
pub(crate) struct Publisher {
    pc: Arc<dyn PeerConnection>,
    reliable: Arc<dyn DataChannel>,
    reliable_open: watch::Receiver<bool>,
    microphone: tokio::sync::Mutex<Option<Microphone>>,
    /// Candidates the server trickled before its first answer was applied; `None` once it is.
    /// The answer goes to the negotiating task while the signalling reads on, so the trickle
    /// that follows an answer can be read first, and webrtc-rs refuses a candidate until it
    /// has a remote description (livekit-client queues them the same way).
    early_candidates: tokio::sync::Mutex<Option<Vec<String>>>,
    /// Keeps the handler's state channel open.
    _state: watch::Receiver<RTCPeerConnectionState>,
}

/// The most candidates kept for a publisher whose answer has not been applied; more are
/// dropped (a server trickles one per local address).
const MAX_EARLY_CANDIDATES: usize = 32;

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

impl Publisher {
    /// Builds the peer with both data channels, ready to offer.
    pub(crate) async fn new(
        settings: &PeerSettings,
        signals: mpsc::Sender<PeerSignal>,
        shared: Arc<RoomShared>,
    ) -> Result<Self, Error> {
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, _) = watch::channel(false);
        let handler = Arc::new(Handler {
            target: TARGET_PUBLISHER,
            signals,
            state: state_tx,
            gathered: gathered_tx,
            shared: Arc::clone(&shared),
        });
        let pc = build_peer(settings, MediaEngine::default(), handler).await?;
        let lossy = pc
            .create_data_channel(
                "_lossy",
                Some(RTCDataChannelInit {
                    ordered: true,
                    max_retransmits: Some(0),
                    ..Default::default()
                }),
            )
            .await
            .map_err(err("_lossy"))?;
        let reliable = pc
            .create_data_channel(
                "_reliable",
                Some(RTCDataChannelInit {
                    ordered: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(err("_reliable"))?;
        let (open_tx, reliable_open) = watch::channel(false);
        shared.tasks.spawn(drain_own_channel(
            Arc::clone(&reliable),
            Some(open_tx),
            Arc::clone(&shared),
        ));
        let tasks = shared.tasks.clone();
        tasks.spawn(drain_own_channel(lossy, None, shared));
        Ok(Self {
            pc,
            reliable,
            reliable_open,
            microphone: tokio::sync::Mutex::new(None),
            early_candidates: tokio::sync::Mutex::new(Some(Vec::new())),
            _state: state,
        })
    }

    /// Creates an offer for what the peer has now and returns its SDP.
    pub(crate) async fn offer(&self) -> Result<String, Error> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(err("create the offer"))?;
        let sdp = offer.sdp.clone();
        self.pc
            .set_local_description(offer)
            .await
            .map_err(err("apply the offer"))?;
        Ok(sdp)
    }

    /// Applies the server's answer; fixes the microphone's writer once negotiated.
    pub(crate) async fn accept_answer(&self, sdp: String) -> Result<(), Error> {
        let answer = RTCSessionDescription::answer(sdp).map_err(err("answer SDP"))?;
        let mut early = self.early_candidates.lock().await;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(err("apply the answer"))?;
        for json in early.take().unwrap_or_default() {
            if let Err(e) = add_candidate(&self.pc, &json).await {
                tracing::debug!(%e, "a trickled candidate was refused");
            }
        }
        drop(early);
        if let Some(mic) = self.microphone.lock().await.as_ref() {
            let params = mic.sender.get_parameters().await.map_err(err("sender"))?;
            let pt = params.rtp_parameters.codecs.first().map(|c| c.payload_type);
            let ssrc = mic.track.ssrcs().await.first().copied();
            if let (Some(pt), Some(ssrc)) = (pt, ssrc) {
                let _ = mic.writer.set((ssrc, pt));
            }
        }
        Ok(())
    }

    /// Waits until `_reliable` is open.
    pub(crate) async fn wait_open(&self, timeout: Duration) -> Result<(), Error> {
        let mut open = self.reliable_open.clone();
        match tokio::time::timeout(timeout, open.wait_for(|o| *o)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(Error::Room("the publisher's channel closed".into())),
            Err(_) => Err(Error::Timeout("the publisher's data channel to open")),
        }
    }

    /// Sends one binary message on `_reliable`.
    pub(crate) async fn send_reliable(&self, bytes: &[u8]) -> Result<(), Error> {
        self.reliable
            .send(BytesMut::from(bytes))
            .await
            .map_err(err("send on _reliable"))
    }

    /// Adds the microphone track (`track_sid` from the server's `trackPublished`); the caller
    /// renegotiates.
    pub(crate) async fn add_microphone(
        &self,
        stream_id: &str,
        track_id: &str,
    ) -> Result<(), Error> {
        let mut slot = self.microphone.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let track = Arc::new(
            TrackLocalStaticSample::new(
                std::time::Instant::now(),
                MediaStreamTrack::new(
                    stream_id.to_owned(),
                    track_id.to_owned(),
                    "microphone".to_owned(),
                    RtpCodecKind::Audio,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(rand::random::<u32>()),
                            ..Default::default()
                        },
                        codec: opus_codec(),
                        ..Default::default()
                    }],
                ),
            )
            .map_err(err("microphone track"))?,
        );
        let sender = self
            .pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(err("add the microphone"))?;
        *slot = Some(Microphone {
            track,
            sender,
            writer: std::sync::OnceLock::new(),
        });
        Ok(())
    }

    /// Writes one Opus packet of `duration` to the microphone; skipped until negotiated.
    pub(crate) async fn write_microphone(
        &self,
        packet: Bytes,
        duration: Duration,
    ) -> Result<(), Error> {
        let slot = self.microphone.lock().await;
        let Some(mic) = slot.as_ref() else {
            return Err(Error::NotReady("no microphone track is published"));
        };
        let Some(&(ssrc, pt)) = mic.writer.get() else {
            return Ok(());
        };
        mic.track
            .sample_writer(ssrc, pt)
            .write_sample(&Sample {
                data: packet,
                duration,
                ..Sample::new(std::time::Instant::now())
            })
            .await
            .map_err(err("write the microphone"))
    }

    /// Adds a candidate the server trickled, or keeps it until the first answer is applied.
    pub(crate) async fn add_remote_candidate(&self, json: &str) -> Result<(), Error> {
        if let Some(early) = self.early_candidates.lock().await.as_mut() {
            if early.len() < MAX_EARLY_CANDIDATES {
                early.push(json.to_owned());
            } else {
                tracing::debug!("a trickled candidate dropped: too many before the answer");
            }
            return Ok(());
        }
        add_candidate(&self.pc, json).await
    }

    pub(crate) async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// Keeps one of our own channels' event queue moving and reports when it opens. The server may
/// send on these too (old servers did); such messages are read as events.
async fn drain_own_channel(
    channel: Arc<dyn DataChannel>,
    open: Option<watch::Sender<bool>>,
    shared: Arc<RoomShared>,
) {
    loop {
        let event = tokio::select! {
            () = shared.closed.cancelled() => return,
            event = channel.poll() => event,
        };
        match event {
            Some(DataChannelEvent::OnOpen) => {
                if let Some(open) = &open {
                    open.send_replace(true);
                }
            }
            Some(DataChannelEvent::OnMessage(message)) => {
                if let Some(event) = decode_event(&message.data, message.is_string) {
                    shared.events.emit(EventSource::Room, event);
                }
            }
            Some(DataChannelEvent::OnClose) | None => return,
            _ => {}
        }
    }
}

/// The states in which a peer will not come back by itself.
pub(crate) fn is_gone(state: RTCPeerConnectionState) -> bool {
    matches!(
        state,
        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
    )
}

pub(crate) fn is_connected(state: RTCPeerConnectionState) -> bool {
    state == RTCPeerConnectionState::Connected
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_packets_become_events_and_the_rest_is_dropped() {
        let packet = lk::DataPacket {
            value: Some(lk::data_packet::Value::User(lk::UserPacket {
                payload: br#"{"type":"avatar_start_talking","task_id":"t"}"#.to_vec(),
                ..Default::default()
            })),
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(
            decode_event(&packet, false),
            Some(StreamingEvent::AvatarStartTalking {
                task_id: "t".into()
            })
        );
        assert_eq!(decode_event(&packet, true), None, "text frames are dropped");
        assert_eq!(decode_event(b"\x01\x02garbage", false), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_event(&bytes, false);
        }
    }
}
