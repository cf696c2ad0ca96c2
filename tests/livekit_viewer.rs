//! `Viewer`: a minimal LiveKit client in Rust that joins a session's room the way livekit-client
//! does (`livekit.md` §2): signalling socket, JoinResponse, answer to the subscriber offer, the
//! server's data channels, ping. Tests use it to watch what the avatar sends.
//!
//! This module and `raw_viewer` (the v1 client) are the only ones of the test package that
//! import webrtc-rs.

use futures_util::{SinkExt, StreamExt};
use livekit_protocol as lk;
use prost::Message as _;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use understudy_proto::events::DataChannelEvent;
use webrtc::data_channel::{DataChannel, DataChannelEvent as ChannelEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};

/// How long any single wait in a viewer may take.
pub const VIEWER_TIMEOUT: Duration = Duration::from_secs(15);

/// Counts of RTP packets received per kind, and the video's key frames.
#[derive(Debug, Default)]
pub struct MediaCounts {
    pub video_packets: AtomicU64,
    pub audio_packets: AtomicU64,
    pub video_tracks: AtomicU64,
    pub audio_tracks: AtomicU64,
    /// The RTP timestamps (90 kHz) of the key frames received, in order.
    pub key_frames: Mutex<Vec<u32>>,
    /// The video's SSRC, once a packet came.
    video_ssrc: AtomicU32,
}

impl MediaCounts {
    /// How many key frames have arrived, and the timestamp of the last.
    pub fn key_frames(&self) -> (usize, Option<u32>) {
        let frames = self.key_frames.lock().unwrap();
        (frames.len(), frames.last().copied())
    }
}

/// How a receiver asks the sender for a key frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFrameRequest {
    /// Picture Loss Indication (RFC 4585 §6.3.1), what Chromium sends.
    Pli,
    /// Full Intra Request (RFC 5104 §4.3.1).
    Fir,
}

/// When each step of [`Viewer::join`] finished, from the signalling socket being open.
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinTimings {
    /// The JoinResponse arrived.
    pub join: Duration,
    /// The subscriber offer arrived.
    pub offer: Duration,
    /// Our answer was made (local gathering included) and sent.
    pub answered: Duration,
    /// The peer connection reached connected (ICE and DTLS done).
    pub connected: Duration,
}

pub struct Viewer {
    pub join: lk::JoinResponse,
    /// The subscriber offer as it arrived.
    pub offer: lk::SessionDescription,
    pub timings: JoinTimings,
    pub media: Arc<MediaCounts>,
    events: mpsc::Receiver<DataChannelEvent>,
    /// Every user packet on `_reliable`, with its topic (LiveAvatar's events are not
    /// `DataChannelEvent`s).
    packets: mpsc::Receiver<UserData>,
    leave: watch::Receiver<Option<i32>>,
    connected: watch::Receiver<bool>,
    /// Requests for the signalling loop to send.
    requests: mpsc::Sender<Vec<u8>>,
    /// Responses other than `leave` (answers, `trackPublished`, pongs).
    responses: mpsc::Receiver<lk::signal_response::Message>,
    /// The avatar's video track, once it arrived.
    video: Arc<std::sync::OnceLock<Arc<dyn TrackRemote>>>,
    _pc: Arc<dyn PeerConnection>,
}

/// A user packet the avatar's side sent: its topic and payload.
#[derive(Debug, Clone)]
pub struct UserData {
    pub topic: Option<String>,
    pub payload: Vec<u8>,
}

/// User packets kept for [`Viewer::next_packet`]; past this many unread ones, newer are
/// dropped (a test that never reads them must not stall the events).
const PACKETS_KEPT: usize = 512;

/// The client's publisher connection with its `_reliable` channel: what HeyGen's LiveKit
/// transport uses to send text and push-to-talk.
pub struct PublisherChannel {
    channel: Arc<dyn DataChannel>,
    _pc: Arc<dyn PeerConnection>,
    /// The server's answer to the publisher offer, as it came.
    pub answer_sdp: String,
    /// The server's first candidate for this connection, as trickled (`candidate_init`).
    pub server_candidate: String,
}

impl std::fmt::Debug for PublisherChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublisherChannel").finish_non_exhaustive()
    }
}

impl PublisherChannel {
    /// Sends raw bytes on `_reliable`, as livekit-client's `publishData` does with an encoded
    /// `DataPacket`.
    ///
    /// # Panics
    /// When the channel is closed.
    pub async fn send_raw(&self, bytes: &[u8]) {
        self.channel
            .send(bytes::BytesMut::from(bytes))
            .await
            .expect("publisher channel open");
    }

    /// Sends `payload` as a user packet, as `publishData(payload, {reliable: true})` does.
    pub async fn publish(&self, payload: &[u8]) {
        self.publish_on(None, payload).await;
    }

    /// Sends `payload` as a user packet on `topic`, as `publishData(payload, {topic})` does.
    pub async fn publish_on(&self, topic: Option<&str>, payload: &[u8]) {
        let packet = lk::DataPacket {
            value: Some(lk::data_packet::Value::User(lk::UserPacket {
                payload: payload.to_vec(),
                topic: topic.map(str::to_owned),
                ..Default::default()
            })),
            ..Default::default()
        };
        self.send_raw(&packet.encode_to_vec()).await;
    }
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("join", &self.join)
            .finish_non_exhaustive()
    }
}

struct Handler {
    events: mpsc::Sender<DataChannelEvent>,
    packets: mpsc::Sender<UserData>,
    media: Arc<MediaCounts>,
    video: Arc<std::sync::OnceLock<Arc<dyn TrackRemote>>>,
    connected: watch::Sender<bool>,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            self.connected.send_replace(true);
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let events = self.events.clone();
        let packets = self.packets.clone();
        tokio::spawn(async move {
            let reliable = channel.label().await.is_ok_and(|l| l == "_reliable");
            while let Some(event) = channel.poll().await {
                let ChannelEvent::OnMessage(message) = event else {
                    continue;
                };
                if !reliable || message.is_string {
                    continue;
                }
                let Ok(packet) = lk::DataPacket::decode(&message.data[..]) else {
                    continue;
                };
                let Some(lk::data_packet::Value::User(user)) = packet.value else {
                    continue;
                };
                let _ = packets.try_send(UserData {
                    topic: user.topic.clone(),
                    payload: user.payload.clone(),
                });
                if let Ok(event) = serde_json::from_slice(&user.payload) {
                    let _ = events.send(event).await;
                }
            }
        });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let media = Arc::clone(&self.media);
        let video_slot = Arc::clone(&self.video);
        tokio::spawn(async move {
            let mut vp8 = None;
            let video = track.kind().await == RtpCodecKind::Video;
            if video {
                let _ = video_slot.set(Arc::clone(&track));
            }
            let (tracks, packets) = if video {
                (&media.video_tracks, &media.video_packets)
            } else {
                (&media.audio_tracks, &media.audio_packets)
            };
            tracks.fetch_add(1, Ordering::Relaxed);
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    packets.fetch_add(1, Ordering::Relaxed);
                    if video {
                        media
                            .video_ssrc
                            .store(packet.header.ssrc, Ordering::Relaxed);
                        if vp8.is_none() {
                            let codec = track.codec(packet.header.ssrc).await;
                            vp8 =
                                Some(codec.is_some_and(|c| {
                                    c.mime_type.eq_ignore_ascii_case("video/vp8")
                                }));
                        }
                        if starts_key_frame(&packet.payload, vp8 == Some(true)) {
                            let mut frames = media.key_frames.lock().unwrap();
                            if frames.last() != Some(&packet.header.timestamp) {
                                frames.push(packet.header.timestamp);
                            }
                        }
                    }
                }
            }
        });
    }
}

impl Viewer {
    /// Joins the room at `url` (the `url` from `streaming.new`) with `access_token`, answers the
    /// subscriber offer, and returns once the peer connection is up.
    ///
    /// # Panics
    /// When any step fails or times out: this is a test helper.
    pub async fn join(url: &str, access_token: &str) -> Viewer {
        let rtc_url =
            format!("{url}/rtc?access_token={access_token}&auto_subscribe=1&sdk=rust&protocol=15");
        let (mut socket, _) = tokio::time::timeout(
            VIEWER_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(rtc_url, None, true),
        )
        .await
        .expect("signalling connects in time")
        .expect("signalling upgrade");

        let started = std::time::Instant::now();
        let join = match next_response(&mut socket).await {
            Some(lk::signal_response::Message::Join(join)) => join,
            other => panic!("the first signalling message must be join, got {other:?}"),
        };
        let join_at = started.elapsed();
        let offer = match next_response(&mut socket).await {
            Some(lk::signal_response::Message::Offer(offer)) => offer,
            other => panic!("expected the subscriber offer, got {other:?}"),
        };

        let (events_tx, events) = mpsc::channel(1024);
        let (packets_tx, packets) = mpsc::channel(PACKETS_KEPT);
        let (connected_tx, connected) = watch::channel(false);
        let (gathered_tx, mut gathered) = watch::channel(false);
        let media = Arc::new(MediaCounts::default());
        let video = Arc::new(std::sync::OnceLock::new());
        let pc = loopback_peer(Arc::new(Handler {
            events: events_tx,
            packets: packets_tx,
            media: Arc::clone(&media),
            video: Arc::clone(&video),
            connected: connected_tx,
            gathered: gathered_tx,
        }))
        .await;
        pc.set_remote_description(
            RTCSessionDescription::offer(offer.sdp.clone()).expect("offer SDP"),
        )
        .await
        .expect("apply offer");
        let answer = pc.create_answer(None).await.expect("answer");
        pc.set_local_description(answer)
            .await
            .expect("apply answer");
        let _ = tokio::time::timeout(VIEWER_TIMEOUT, gathered.wait_for(|g| *g)).await;
        let local = pc.local_description().await.expect("local description");
        let answer = lk::SessionDescription {
            r#type: "answer".into(),
            sdp: local.sdp,
            ..Default::default()
        };
        let offer_at = started.elapsed();
        send(&mut socket, lk::signal_request::Message::Answer(answer)).await;
        let answered_at = started.elapsed();

        let (leave_tx, leave) = watch::channel(None);
        let (requests, requests_rx) = mpsc::channel(16);
        let (responses_tx, responses) = mpsc::channel(64);
        tokio::spawn(signal_loop(
            socket,
            Arc::clone(&pc),
            leave_tx,
            requests_rx,
            responses_tx,
        ));

        let mut up = connected.clone();
        tokio::time::timeout(VIEWER_TIMEOUT, up.wait_for(|c| *c))
            .await
            .expect("peer connects in time")
            .expect("peer");
        Viewer {
            join,
            offer,
            timings: JoinTimings {
                join: join_at,
                offer: offer_at,
                answered: answered_at,
                connected: started.elapsed(),
            },
            media,
            events,
            packets,
            leave,
            connected,
            requests,
            responses,
            video,
            _pc: pc,
        }
    }

    /// Asks the avatar's side for a key frame, as a decoder that lost its reference does.
    ///
    /// # Panics
    /// Before any video has arrived, or when the request cannot be sent.
    pub async fn request_key_frame(&self, how: KeyFrameRequest) {
        let track = self.video.get().expect("the video track arrived");
        let media_ssrc = self.media.video_ssrc.load(Ordering::Relaxed);
        let packet: Box<dyn rtc::rtcp::Packet> = match how {
            KeyFrameRequest::Pli => Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            }),
            KeyFrameRequest::Fir => Box::new(FullIntraRequest {
                sender_ssrc: 0,
                media_ssrc,
                fir: vec![FirEntry {
                    ssrc: media_ssrc,
                    sequence_number: 1,
                }],
            }),
        };
        track.write_rtcp(vec![packet]).await.expect("RTCP sent");
    }

    /// Sends one signalling request.
    ///
    /// # Panics
    /// When the signalling socket has closed.
    pub async fn signal(&self, message: lk::signal_request::Message) {
        let request = lk::SignalRequest {
            message: Some(message),
        };
        self.signal_raw(request.encode_to_vec()).await;
    }

    /// Sends any bytes as one binary signalling frame.
    ///
    /// # Panics
    /// When the signalling socket has closed.
    pub async fn signal_raw(&self, bytes: Vec<u8>) {
        self.requests
            .send(bytes)
            .await
            .expect("signalling loop running");
    }

    /// The next signalling response other than `leave`.
    ///
    /// # Panics
    /// When none arrives within [`VIEWER_TIMEOUT`].
    pub async fn next_response(&mut self) -> lk::signal_response::Message {
        tokio::time::timeout(VIEWER_TIMEOUT, self.responses.recv())
            .await
            .expect("a signalling response in time")
            .expect("signalling open")
    }

    /// Opens a publisher connection the way livekit-client does on its first `publishData`:
    /// creates `_reliable`, offers (numbered `offer_id`), waits for the answer, applies the
    /// server's first trickled candidate for it (target PUBLISHER), and waits for the channel.
    ///
    /// # Panics
    /// When any step fails, the answer does not echo `offer_id`, no candidate is trickled,
    /// or a wait times out.
    pub async fn open_publisher(&mut self, offer_id: u32) -> PublisherChannel {
        let (gathered_tx, mut gathered) = watch::channel(false);
        let (connected_tx, _connected) = watch::channel(false);
        let (events_tx, _events) = mpsc::channel(1);
        let (packets_tx, _packets) = mpsc::channel(1);
        let pc = loopback_peer(Arc::new(Handler {
            events: events_tx,
            packets: packets_tx,
            media: Arc::new(MediaCounts::default()),
            video: Arc::default(),
            connected: connected_tx,
            gathered: gathered_tx,
        }))
        .await;
        let channel = pc
            .create_data_channel("_reliable", None)
            .await
            .expect("_reliable");
        let offer = pc.create_offer(None).await.expect("offer");
        pc.set_local_description(offer).await.expect("apply offer");
        let _ = tokio::time::timeout(VIEWER_TIMEOUT, gathered.wait_for(|g| *g)).await;
        let local = pc.local_description().await.expect("local description");
        self.signal(lk::signal_request::Message::Offer(lk::SessionDescription {
            r#type: "offer".into(),
            sdp: local.sdp,
            id: offer_id,
            ..Default::default()
        }))
        .await;
        let answer = loop {
            match self.next_response().await {
                lk::signal_response::Message::Answer(answer) => break answer,
                _ => continue,
            }
        };
        assert_eq!(answer.id, offer_id, "the answer names the offer it answers");
        pc.set_remote_description(
            RTCSessionDescription::answer(answer.sdp.clone()).expect("answer SDP"),
        )
        .await
        .expect("apply answer");
        let server_candidate = loop {
            match self.next_response().await {
                lk::signal_response::Message::Trickle(trickle) if trickle.target == 0 => {
                    break trickle.candidate_init;
                }
                _ => continue,
            }
        };
        let init = serde_json::from_str(&server_candidate).expect("candidate JSON");
        pc.add_ice_candidate(init)
            .await
            .expect("apply the candidate");
        let (open_tx, mut open) = watch::channel(false);
        let poller = Arc::clone(&channel);
        tokio::spawn(async move {
            while let Some(event) = poller.poll().await {
                if let ChannelEvent::OnOpen = event {
                    open_tx.send_replace(true);
                }
            }
        });
        tokio::time::timeout(VIEWER_TIMEOUT, open.wait_for(|o| *o))
            .await
            .expect("publisher channel opens in time")
            .expect("channel");
        PublisherChannel {
            channel,
            _pc: pc,
            answer_sdp: answer.sdp,
            server_candidate,
        }
    }

    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// The next user packet from the avatar's side, whatever its payload, waiting for it.
    ///
    /// # Panics
    /// When none comes within [`VIEWER_TIMEOUT`].
    pub async fn next_packet(&mut self) -> UserData {
        tokio::time::timeout(VIEWER_TIMEOUT, self.packets.recv())
            .await
            .expect("a user packet in time")
            .expect("packet stream open")
    }

    /// An avatar event from `_reliable` that has already arrived, if any.
    pub fn try_next_event(&mut self) -> Option<DataChannelEvent> {
        self.events.try_recv().ok()
    }

    /// The next avatar event, waiting for it.
    ///
    /// # Panics
    /// When none comes within [`VIEWER_TIMEOUT`].
    pub async fn next_event(&mut self) -> DataChannelEvent {
        tokio::time::timeout(VIEWER_TIMEOUT, self.events.recv())
            .await
            .expect("an avatar event in time")
            .expect("event stream open")
    }

    /// The `leave` reason the server sent, waiting for it.
    ///
    /// # Panics
    /// When no `leave` arrives within [`VIEWER_TIMEOUT`].
    pub async fn left(&mut self) -> i32 {
        let reason = tokio::time::timeout(VIEWER_TIMEOUT, self.leave.wait_for(Option::is_some))
            .await
            .expect("leave in time")
            .expect("signalling open");
        reason.unwrap_or_default()
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, message: lk::signal_request::Message) {
    let bytes = lk::SignalRequest {
        message: Some(message),
    }
    .encode_to_vec();
    socket
        .send(Message::Binary(bytes.into()))
        .await
        .expect("signalling send");
}

async fn next_response(socket: &mut Socket) -> Option<lk::signal_response::Message> {
    loop {
        let frame = tokio::time::timeout(VIEWER_TIMEOUT, socket.next())
            .await
            .expect("signalling message in time")?;
        if let Ok(Message::Binary(bytes)) = frame {
            return lk::SignalResponse::decode(&bytes[..])
                .expect("a SignalResponse")
                .message;
        }
    }
}

/// Whether an RTP payload holds the start of a key frame: for H264 (RFC 6184) an IDR slice or
/// an SPS, alone, in a STAP-A or at the start of an FU-A; for VP8 (RFC 7741) the first
/// partition's start with the frame tag's key-frame bit (0).
fn starts_key_frame(payload: &[u8], vp8: bool) -> bool {
    if vp8 {
        return vp8_key_frame(payload).unwrap_or(false);
    }
    let is_key = |nal_type: u8| nal_type == 5 || nal_type == 7;
    match payload.first().map(|b| b & 0x1f) {
        Some(24) => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                if rest.get(2).is_some_and(|h| is_key(h & 0x1f)) {
                    return true;
                }
                rest = rest.get(2 + size..).unwrap_or_default();
            }
            false
        }
        Some(28) => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && is_key(fu & 0x1f)),
        Some(nal_type) => is_key(nal_type),
        None => false,
    }
}

fn vp8_key_frame(payload: &[u8]) -> Option<bool> {
    let first = *payload.first()?;
    let (start, partition) = (first & 0x10 != 0, first & 0x07);
    let mut at = 1;
    if first & 0x80 != 0 {
        let flags = *payload.get(at)?;
        at += 1;
        if flags & 0x80 != 0 {
            at += if payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if flags & 0x40 != 0 {
            at += 1;
        }
        if flags & 0x30 != 0 {
            at += 1;
        }
    }
    Some(start && partition == 0 && payload.get(at)? & 0x01 == 0)
}

/// Records `leave`, hands other responses to the viewer, sends the viewer's requests; pings
/// keep the server's view of the client alive.
async fn signal_loop(
    mut socket: Socket,
    subscriber: Arc<dyn PeerConnection>,
    leave: watch::Sender<Option<i32>>,
    mut requests: mpsc::Receiver<Vec<u8>>,
    responses: mpsc::Sender<lk::signal_response::Message>,
) {
    let mut ping = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = ping.tick() => send(&mut socket, lk::signal_request::Message::Ping(0)).await,
            Some(request) = requests.recv() => {
                if socket.send(Message::Binary(request.into())).await.is_err() {
                    return;
                }
            }
            frame = socket.next() => match frame {
                Some(Ok(Message::Binary(bytes))) => match lk::SignalResponse::decode(&bytes[..]) {
                    Ok(lk::SignalResponse { message: Some(lk::signal_response::Message::Leave(l)) }) => {
                        leave.send_replace(Some(l.reason));
                    }
                    Ok(lk::SignalResponse { message: Some(lk::signal_response::Message::Pong(_)) }) => {}
                    // The server's candidates for the subscriber connection, as livekit-client
                    // applies them; handed on too, for tests that look at them.
                    Ok(lk::SignalResponse { message: Some(lk::signal_response::Message::Trickle(trickle)) }) => {
                        if trickle.target == 1 {
                            if let Ok(init) = serde_json::from_str(&trickle.candidate_init) {
                                let _ = subscriber.add_ice_candidate(init).await;
                            }
                        }
                        let _ = responses.try_send(lk::signal_response::Message::Trickle(trickle));
                    }
                    Ok(lk::SignalResponse { message: Some(other) }) => {
                        let _ = responses.try_send(other);
                    }
                    _ => {}
                },
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// A webrtc-rs peer on 127.0.0.1 as a browser would be on loopback: default codecs and
/// interceptors, no mDNS, loopback candidates, and ICE checks every 10 ms while connecting
/// (webrtc-rs's default 200 ms would be most of a join).
pub(crate) async fn loopback_peer(
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Arc<dyn PeerConnection> {
    let mut media_engine = MediaEngine::default();
    media_engine.register_default_codecs().expect("codecs");
    let registry =
        register_default_interceptors(Registry::new(), &mut media_engine).expect("interceptors");
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .with_ice_connection_attempts(Some(Duration::from_millis(10)), None)
        .build();
    Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media_engine)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await
            .expect("loopback peer"),
    )
}
