//! The avatar's side of one client's peer connection: its video and audio tracks and the
//! server-made data channels: LiveKit's `_reliable` / `_lossy` on a room viewer's subscriber
//! connection (`livekit.md` §2.1-§2.4), or the one events channel of a v1 session's raw
//! connection (heygen-api.md §0, §7.1).
//!
//! Invariant: this module, [`super::publisher`] (the client's side) and [`super::key_frames`]
//! (an RTCP interceptor) are the only ones in the server that import webrtc-rs (`webrtc`,
//! `rtc`); nothing webrtc-shaped crosses their APIs.

use super::key_frames::{KeyFrameRequests, asks_for_key_frame};
use super::shaper::{Impairment, Shaper, Verdict};
use crate::config::OfferDtlsRole;
use bytes::{Bytes, BytesMut};
use rtc::data_channel::RTCDataChannelInit;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Registry, Slot};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use understudy_proto::rest::session::VideoEncoding;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, SettingEngineBuilder,
};

/// How long gathering may take before the offer goes out with what it has. Loopback host
/// candidates gather in a millisecond; this only bounds a misbehaving network.
const GATHER_TIMEOUT: Duration = Duration::from_secs(2);

/// Between ICE connectivity checks while connecting. webrtc-rs checks every 200 ms by default
/// and nominates a working pair only on its next check, which added 200 ms to every join; on
/// loopback a check costs microseconds. The same timer sends the DTLS ClientHello: webrtc-rs
/// 0.21 queues it when ICE selects the pair and writes it on its next timeout, which is still
/// this interval's (the ICE state it times by is read before the change). At 10 ms that held
/// every start where the mock dials DTLS (browsers, offered `a=setup:active`) for up to 10 ms
/// more after the nomination, itself up to 10 ms after the browser's first check. Checks stop
/// once connected (then the keep-alive interval rules), and a pair that never answers is given
/// up after webrtc-rs's seven requests, so a short interval costs a few packets a join.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(2);

/// Where [`KeyFrameRequests`] sits in the interceptor chain: application-ward of every slot
/// webrtc-rs's default interceptors use (the highest is 13,000), so they have seen a packet
/// before it is marked for the application.
const KEY_FRAME_REQUESTS_SLOT: usize = 14_000;

/// What the peer reports to its owner. The channel holds a few events; a full channel drops
/// the newest, which only ever repeats a state the owner already knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEvent {
    Connected,
    /// Failed, disconnected or closed: the client is gone.
    Gone,
}

/// Capacity of the peer-event channel; see [`PeerEvent`].
pub const PEER_EVENT_CAPACITY: usize = 8;

/// Which data channels the avatar's side creates; events go on the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarChannels {
    /// LiveKit's `_reliable` (events) and `_lossy`.
    LiveKit,
    /// v1: one reliable channel the client finds through `ondatachannel`. The real label is not
    /// on record; the SDK and the demo never read it (docs/fidelity.md).
    Raw,
}

/// The DTLS role the offer asks the client to take (`a=setup`, RFC 5763 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsSetup {
    /// `actpass`: the client chooses; browsers choose to dial.
    Actpass,
    /// `active`: this side dials. webrtc-rs derives its role from the answer's `passive`, so
    /// only the offer's text changes.
    Active,
}

impl DtlsSetup {
    /// What to offer under `role` a client that is (`browser`) or is not a browser: see
    /// [`OfferDtlsRole`].
    pub fn for_client(role: OfferDtlsRole, browser: bool) -> DtlsSetup {
        match role {
            OfferDtlsRole::Auto if browser => DtlsSetup::Active,
            OfferDtlsRole::Auto | OfferDtlsRole::Actpass => DtlsSetup::Actpass,
        }
    }
}

/// The label of a v1 session's events channel.
pub const RAW_EVENTS_LABEL: &str = "events";

/// Names that tie the tracks to the avatar participant in the client's eyes.
#[derive(Debug, Clone)]
pub struct TrackNames {
    /// The msid stream both tracks share (v1 clients play `event.streams[0]`); in a room,
    /// `<participant sid>|<stream>`, which livekit-client splits at `|`.
    pub stream_id: String,
    pub video_sid: String,
    pub audio_sid: String,
    /// The codec the session asked for; the offer carries only that one.
    pub video_encoding: VideoEncoding,
}

#[derive(Debug, thiserror::Error)]
#[error("webrtc: {0}")]
pub struct PeerError(pub(crate) String);

pub(super) fn err(e: impl std::fmt::Display) -> PeerError {
    PeerError(e.to_string())
}

/// A track and the writer parameters fixed at negotiation.
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    /// `(ssrc, payload type)`, known once the answer is applied.
    writer: std::sync::OnceLock<(u32, u8)>,
    /// Network trouble a fault rule put on this track.
    shaper: std::sync::Mutex<Option<Shaper>>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

pub struct AvatarPeer {
    pc: Arc<dyn PeerConnection>,
    video: Outgoing,
    audio: Outgoing,
    reliable: Arc<dyn DataChannel>,
    reliable_open: watch::Receiver<bool>,
    gathered: watch::Receiver<bool>,
    /// Whether candidates are trickled rather than inline in the offer.
    trickles: bool,
    /// Set when the client asks for a key frame (PLI or FIR); the stage takes it.
    key_frame_wanted: Arc<AtomicBool>,
    /// Whether the task watching the video track's RTCP has started (once, at the answer).
    watching_rtcp: AtomicBool,
    tasks: tokio_util::task::TaskTracker,
    /// Fault rules: no more video frames (a frozen avatar), no more audio packets.
    video_frozen: AtomicBool,
    audio_muted: AtomicBool,
}

impl std::fmt::Debug for AvatarPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvatarPeer").finish_non_exhaustive()
    }
}

/// Called the moment the peer connects, before anything else happens on it.
pub type OnConnected = Box<dyn Fn() + Send + Sync>;

pub(super) struct Handler {
    pub(super) events: mpsc::Sender<PeerEvent>,
    pub(super) gathered: watch::Sender<bool>,
    /// Where local candidates go as `RTCIceCandidate.toJSON()` JSON when they are trickled.
    pub(super) trickle: Option<mpsc::Sender<String>>,
    /// Runs inside the connection-state callback, so it is done before the data channels can
    /// open: a client that sees `_reliable` open can rely on it.
    pub(super) on_connected: Option<OnConnected>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Some(trickle) = &self.trickle {
            trickle_candidate(trickle, &event);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let event = match state {
            RTCPeerConnectionState::Connected => {
                if let Some(on_connected) = &self.on_connected {
                    on_connected();
                }
                PeerEvent::Connected
            }
            RTCPeerConnectionState::Failed
            | RTCPeerConnectionState::Disconnected
            | RTCPeerConnectionState::Closed => PeerEvent::Gone,
            _ => return,
        };
        let _ = self.events.try_send(event);
    }
}

fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: vec![],
    }
}

fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

async fn outgoing(
    pc: &Arc<dyn PeerConnection>,
    names: &TrackNames,
    sid: &str,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> Result<Outgoing, PeerError> {
    let ssrc = rand::random::<u32>();
    let track = Arc::new(
        TrackLocalStaticSample::new(
            std::time::Instant::now(),
            MediaStreamTrack::new(
                names.stream_id.clone(),
                sid.to_owned(),
                sid.to_owned(),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            ),
        )
        .map_err(err)?,
    );
    let sender = pc
        .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
        .await
        .map_err(err)?;
    Ok(Outgoing {
        track,
        sender,
        writer: std::sync::OnceLock::new(),
        shaper: std::sync::Mutex::new(None),
    })
}

/// A peer connection on 127.0.0.1 only: mDNS off, loopback candidates on, DTLS server when
/// answering, the default interceptors (NACK, reports) over `media`'s codecs, and key-frame
/// requests let through to the application.
pub(super) async fn loopback_peer_connection(
    mut media: MediaEngine,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, PeerError> {
    let registry = Registry::new().with(
        Slot::from(KEY_FRAME_REQUESTS_SLOT),
        KeyFrameRequests::default(),
    );
    let registry = register_default_interceptors(registry, &mut media).map_err(err)?;
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        // Answering (the client's publisher offers) as DTLS server makes us the SCTP server, so
        // the association the browser opens for its data channels is accepted: as DTLS client
        // webrtc-rs only dials, and refuses the browser's INIT.
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), None)
        // Chromium's own candidates are mDNS names, which this peer does not resolve: it learns
        // the browser's address from the browser's first check, as a peer-reflexive candidate.
        // webrtc-rs waits a second before nominating one (hoping for a better pair), which held
        // DTLS back and made a browser's start bimodal (0.4 s or 2 s). On loopback there is
        // no better pair to wait for.
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .build();
    Ok(Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await
            .map_err(err)?,
    ))
}

/// Applies our local description and returns it once ICE gathering is done (or after
/// [`GATHER_TIMEOUT`]), so every candidate is inline in the SDP.
pub(super) async fn local_sdp_when_gathered(
    pc: &Arc<dyn PeerConnection>,
    description: RTCSessionDescription,
    gathered: &watch::Receiver<bool>,
) -> Result<String, PeerError> {
    pc.set_local_description(description).await.map_err(err)?;
    let mut gathered = gathered.clone();
    let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|done| *done)).await;
    let local = pc
        .local_description()
        .await
        .ok_or_else(|| PeerError("no local description".into()))?;
    Ok(local.sdp)
}

/// Hands a local candidate to the signalling as `RTCIceCandidate.toJSON()` JSON, to go out
/// in a `trickle`.
pub(super) fn trickle_candidate(trickle: &mpsc::Sender<String>, event: &RTCPeerConnectionIceEvent) {
    let Ok(mut init) = event.candidate.to_json() else {
        return;
    };
    // webrtc-rs leaves the mid empty; pion, a LiveKit server's stack, names the first m-line's
    // ("0", as webrtc-rs numbers them), and some clients look candidates up by mid.
    if init.sdp_mid.as_deref().is_none_or(str::is_empty) {
        init.sdp_mid = Some("0".to_owned());
        init.sdp_mline_index = Some(0);
    }
    if let Ok(json) = serde_json::to_string(&init) {
        // A full channel means the signalling is gone; the candidates die with it.
        let _ = trickle.try_send(json);
    }
}

impl AvatarPeer {
    /// Builds the peer on 127.0.0.1 (mDNS off, loopback candidates on) with both tracks and
    /// `channels`, ready to offer. With `trickle`, its candidates go there as they are
    /// gathered (a LiveKit server trickles them) and the offer does not wait for them;
    /// without, they are inline in the offer (v1's server did that).
    ///
    /// # Errors
    /// When webrtc-rs cannot bind a UDP port or refuses the configuration.
    pub async fn new(
        names: &TrackNames,
        channels: AvatarChannels,
        trickle: Option<mpsc::Sender<String>>,
        events: mpsc::Sender<PeerEvent>,
        on_connected: OnConnected,
        tasks: &tokio_util::task::TaskTracker,
    ) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        let (video_rtp, video_pt) = match names.video_encoding {
            VideoEncoding::H264 => (h264(), 102),
            VideoEncoding::VP8 => (vp8(), 96),
        };
        let video_codec = RTCRtpCodecParameters {
            rtp_codec: video_rtp.clone(),
            payload_type: video_pt,
        };
        let audio_codec = RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: 111,
        };
        media
            .register_codec(video_codec, RtpCodecKind::Video)
            .map_err(err)?;
        media
            .register_codec(audio_codec, RtpCodecKind::Audio)
            .map_err(err)?;
        // `nack` and `nack pli` come with the default interceptors; FIR is the older request.
        media.register_feedback(
            RTCPFeedback {
                typ: "ccm".to_owned(),
                parameter: "fir".to_owned(),
            },
            RtpCodecKind::Video,
        );
        let (gathered_tx, gathered) = watch::channel(false);
        let trickles = trickle.is_some();
        let handler = Arc::new(Handler {
            events,
            gathered: gathered_tx,
            trickle,
            on_connected: Some(on_connected),
        });
        let pc = loopback_peer_connection(media, handler).await?;

        let video = outgoing(&pc, names, &names.video_sid, RtpCodecKind::Video, video_rtp).await?;
        let audio = outgoing(&pc, names, &names.audio_sid, RtpCodecKind::Audio, opus()).await?;
        let label = match channels {
            AvatarChannels::LiveKit => "_reliable",
            AvatarChannels::Raw => RAW_EVENTS_LABEL,
        };
        let reliable = pc
            .create_data_channel(
                label,
                Some(RTCDataChannelInit {
                    ordered: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(err)?;
        if channels == AvatarChannels::LiveKit {
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
                .map_err(err)?;
            tasks.spawn(drain_channel(lossy, None));
        }
        let (open_tx, reliable_open) = watch::channel(false);
        tasks.spawn(drain_channel(Arc::clone(&reliable), Some(open_tx)));
        Ok(Self {
            pc,
            video,
            audio,
            reliable,
            reliable_open,
            gathered,
            trickles,
            key_frame_wanted: Arc::new(AtomicBool::new(false)),
            watching_rtcp: AtomicBool::new(false),
            tasks: tasks.clone(),
            video_frozen: AtomicBool::new(false),
            audio_muted: AtomicBool::new(false),
        })
    }

    /// Whether the client has asked for a key frame since the last call: the next video frame
    /// should then be one.
    pub fn take_key_frame_request(&self) -> bool {
        self.key_frame_wanted.swap(false, Ordering::Relaxed)
    }

    /// From now on no video frame goes out (a fault: the avatar freezes on its last frame).
    pub fn freeze_video(&self) {
        self.video_frozen.store(true, Ordering::Relaxed);
    }

    /// From now on the media goes out with `impairment` (a fault), drawn from `seed`.
    pub fn impair(&self, impairment: Impairment, seed: u64) {
        let now = tokio::time::Instant::now();
        for (out, salt) in [(&self.video, 0), (&self.audio, 1)] {
            *out.shaper.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Shaper::new(impairment, seed ^ salt, now));
        }
    }

    /// From now on no audio packet goes out (a fault).
    pub fn mute_audio(&self) {
        self.audio_muted.store(true, Ordering::Relaxed);
    }

    /// Creates the offer and returns its SDP asking for `setup`: at once when candidates are
    /// trickled, else once gathering is done, with every candidate inline.
    ///
    /// # Errors
    /// When webrtc-rs cannot create or apply the offer.
    pub async fn offer(&self, setup: DtlsSetup) -> Result<String, PeerError> {
        let offer = self.pc.create_offer(None).await.map_err(err)?;
        let sdp = if self.trickles {
            let sdp = offer.sdp.clone();
            self.pc.set_local_description(offer).await.map_err(err)?;
            sdp
        } else {
            local_sdp_when_gathered(&self.pc, offer, &self.gathered).await?
        };
        Ok(match setup {
            DtlsSetup::Actpass => sdp,
            DtlsSetup::Active => sdp.replace("a=setup:actpass", "a=setup:active"),
        })
    }

    /// Applies the client's answer and fixes the negotiated payload types.
    ///
    /// # Errors
    /// An answer that does not parse or does not fit the offer.
    pub async fn accept_answer(&self, sdp: String) -> Result<(), PeerError> {
        let answer = read_description(true, sdp)?;
        self.pc.set_remote_description(answer).await.map_err(err)?;
        for out in [&self.video, &self.audio] {
            let params = out.sender.get_parameters().await.map_err(err)?;
            let pt = params.rtp_parameters.codecs.first().map(|c| c.payload_type);
            let ssrc = out.track.ssrcs().await.first().copied();
            if let (Some(pt), Some(ssrc)) = (pt, ssrc) {
                let _ = out.writer.set((ssrc, pt));
            }
        }
        // The track's RTCP only flows once it is bound, which applying the answer does.
        if !self.watching_rtcp.swap(true, Ordering::Relaxed) {
            self.tasks.spawn(watch_key_frame_requests(
                Arc::clone(&self.video.track),
                Arc::clone(&self.key_frame_wanted),
            ));
        }
        Ok(())
    }

    /// Adds a candidate the client trickled (`RTCIceCandidate.toJSON()` as JSON).
    ///
    /// # Errors
    /// JSON that is not a candidate, or a candidate webrtc-rs refuses.
    pub async fn add_remote_candidate(&self, candidate_json: &str) -> Result<(), PeerError> {
        let init = read_candidate(candidate_json)?;
        self.pc.add_ice_candidate(init).await.map_err(err)
    }

    /// Whether the client has opened the events channel (`_reliable`) yet.
    pub fn is_reliable_open(&self) -> bool {
        *self.reliable_open.borrow()
    }

    /// Sends one binary message on the events channel (`_reliable`).
    ///
    /// # Errors
    /// When the channel is closed.
    pub async fn send_reliable(&self, bytes: &[u8]) -> Result<(), PeerError> {
        self.reliable.send(BytesMut::from(bytes)).await.map_err(err)
    }

    /// Writes one encoded video frame (an Annex-B access unit).
    ///
    /// # Errors
    /// When the track can no longer send; before negotiation the frame is skipped.
    pub async fn write_video(&self, frame: Bytes, duration: Duration) -> Result<(), PeerError> {
        if self.video_frozen.load(Ordering::Relaxed) {
            return Ok(());
        }
        write(&self.video, frame, duration).await
    }

    /// Writes one encoded audio packet.
    ///
    /// # Errors
    /// When the track can no longer send; before negotiation the packet is skipped.
    pub async fn write_audio(&self, packet: Bytes, duration: Duration) -> Result<(), PeerError> {
        if self.audio_muted.load(Ordering::Relaxed) {
            return Ok(());
        }
        write(&self.audio, packet, duration).await
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

async fn write(out: &Outgoing, data: Bytes, duration: Duration) -> Result<(), PeerError> {
    let Some(&(ssrc, pt)) = out.writer.get() else {
        return Ok(());
    };
    let verdict = out
        .shaper
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .map(|shaper| shaper.judge(data.len(), tokio::time::Instant::now()));
    let prev_dropped_packets = match verdict {
        None => 0,
        Some(Verdict::Drop) => return Ok(()),
        Some(Verdict::Send { hold, dropped }) => {
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
            }
            dropped
        }
    };
    out.track
        .sample_writer(ssrc, pt)
        .write_sample(&Sample {
            data,
            duration,
            prev_dropped_packets,
            ..Sample::new(std::time::Instant::now())
        })
        .await
        .map_err(err)
}

/// Raises `wanted` whenever the client's RTCP for `track` asks for a key frame; ends with the
/// connection.
async fn watch_key_frame_requests(track: Arc<TrackLocalStaticSample>, wanted: Arc<AtomicBool>) {
    while let Some(event) = track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        if packets.iter().any(|p| asks_for_key_frame(p.as_ref())) {
            wanted.store(true, Ordering::Relaxed);
        }
    }
}

/// Keeps a channel's event queue moving and reports when it opens. Messages arriving on the
/// subscriber channels are not expected (clients send on their publisher PC) and are dropped.
async fn drain_channel(channel: Arc<dyn DataChannel>, open: Option<watch::Sender<bool>>) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                if let Some(open) = &open {
                    open.send_replace(true);
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

/// A client's session description as webrtc-rs reads it (`answer` or `offer`): the first step
/// of applying one, and the one that sees the client's bytes.
///
/// # Errors
/// When webrtc-rs refuses the SDP.
pub fn read_description(answer: bool, sdp: String) -> Result<RTCSessionDescription, PeerError> {
    if answer {
        RTCSessionDescription::answer(sdp).map_err(err)
    } else {
        RTCSessionDescription::offer(sdp).map_err(err)
    }
}

/// A trickled candidate (`RTCIceCandidate.toJSON()` as JSON) as read before it is applied.
///
/// # Errors
/// When it is not a candidate's JSON.
pub fn read_candidate(candidate_json: &str) -> Result<RTCIceCandidateInit, PeerError> {
    serde_json::from_str(candidate_json).map_err(err)
}
