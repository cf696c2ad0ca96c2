//! The session's LiveKit room, joined the way livekit-client joins it (`livekit.md` §1-§2): the
//! `/rtc` signalling socket (owned by one task, `signal`), a subscriber peer that receives the
//! avatar's tracks and events, and a publisher peer made on first need for data and the
//! microphone (`peer`). `quality` judges the connection as the official SDK reports it.
//!
//! Written against the LiveKit protocol, not the mock's habits: candidates may come inline or
//! trickled, offers may repeat, the server's ping interval and timeout are honoured, and the
//! server may send anything, which is counted and dropped, never a panic.

mod peer;
pub(crate) mod quality;
mod signal;

use crate::Error;
use crate::events::{DisconnectReason, EventHub, EventSource, StreamingEvent};
use crate::media::MediaHub;
use livekit_protocol as lk;
use prost::Message as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use peer::PeerSettings;

/// `SignalTarget.PUBLISHER` (proto3's default, absent on the wire) and `SUBSCRIBER`.
pub(crate) const TARGET_PUBLISHER: i32 = 0;
pub(crate) const TARGET_SUBSCRIBER: i32 = 1;

/// The protocol version the SDK speaks: livekit-client 2.5-2.11's (`livekit.md` §5).
pub const PROTOCOL_VERSION: u32 = 15;

/// Commands queued for the signalling task: a handful at a time (a publisher negotiation, a
/// track, a leave); senders wait when it is full.
const COMMAND_CAPACITY: usize = 16;
/// Candidates and state changes from the peers: a few dozen per connection at most.
const SIGNAL_CAPACITY: usize = 64;
/// How long a publisher negotiation, a track publication or a channel opening may take, as
/// livekit-client allows (`livekit.md` §6).
const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(15);

/// How to join.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Longest wait for the signalling socket, the JoinResponse and the subscriber's connection
    /// (livekit-client's 15 s).
    pub connect_timeout: Duration,
    /// Caps the server's `ping_timeout`, to notice a vanished server sooner than it asks.
    pub max_ping_timeout: Option<Duration>,
    /// How long the subscriber's answer waits for local candidates so they ride inline in the
    /// SDP; every candidate is trickled as well. Zero: answer at once and trickle only, as
    /// browsers do. Inline candidates let the server start its checks as soon as it has the
    /// answer: on loopback against `understudy serve` that took the join from about 80 ms to
    /// about 13 ms (`sdk_latency` bench).
    pub answer_gathering_wait: Duration,
}

impl Default for RoomOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            max_ping_timeout: None,
            answer_gathering_wait: Duration::from_millis(200),
        }
    }
}

/// What the server said about us and the room when we joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinInfo {
    pub room_name: String,
    pub room_sid: String,
    pub participant_sid: String,
    pub participant_identity: String,
    /// The other participants at join: the avatar, with its tracks.
    pub others: Vec<RemoteParticipant>,
    /// The server offers the subscriber connection first (what HeyGen's rooms do).
    pub subscriber_primary: bool,
    pub server_version: String,
    pub server_protocol: i32,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
}

/// A participant the JoinResponse announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteParticipant {
    pub sid: String,
    pub identity: String,
    /// Its published tracks' sids (`TR_…`), video and audio.
    pub track_sids: Vec<String>,
    /// Its tracks' MIME types, in the same order (`video/H264`, `audio/opus`).
    pub track_mime_types: Vec<String>,
}

/// When each step of joining finished, counted from the moment the socket was dialled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinTimings {
    /// The signalling socket is open.
    pub socket_open: Duration,
    /// The JoinResponse arrived.
    pub joined: Duration,
    /// The first subscriber offer arrived.
    pub offer: Duration,
    /// Our answer went out.
    pub answered: Duration,
    /// The subscriber peer connected (ICE and DTLS done).
    pub connected: Duration,
}

/// Counts a caller can read at any time.
#[derive(Debug, Default)]
pub(crate) struct RoomStats {
    pub video_packets: AtomicU64,
    pub audio_packets: AtomicU64,
    /// Data-channel messages that were not events.
    pub garbage_data: AtomicU64,
    /// Signalling frames that were not `SignalResponse`s.
    pub garbage_signal: AtomicU64,
    /// Milliseconds since `base` when media last arrived.
    last_media_ms: AtomicU64,
    /// The server's last `ConnectionQualityUpdate` for this client said poor or lost.
    server_says_poor: AtomicBool,
    base: std::sync::OnceLock<Instant>,
}

impl RoomStats {
    pub(crate) fn set_server_says_poor(&self, poor: bool) {
        self.server_says_poor.store(poor, Ordering::Relaxed);
    }

    pub(crate) fn server_says_poor(&self) -> bool {
        self.server_says_poor.load(Ordering::Relaxed)
    }

    pub(crate) fn media_seen(&self, video: bool) {
        let counter = if video {
            &self.video_packets
        } else {
            &self.audio_packets
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let base = *self.base.get_or_init(Instant::now);
        self.last_media_ms
            .store(base.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    }

    /// How long since media last arrived; `None` before any did.
    pub(crate) fn since_media(&self) -> Option<Duration> {
        let base = *self.base.get()?;
        let last = self.last_media_ms.load(Ordering::Relaxed);
        (last > 0).then(|| {
            base.elapsed()
                .saturating_sub(Duration::from_millis(last - 1))
        })
    }
}

/// What the room's tasks share: where events and media go, the counts, and the stop signal.
#[derive(Debug)]
pub(crate) struct RoomShared {
    pub events: EventHub,
    pub media: MediaHub,
    pub stats: RoomStats,
    pub tasks: TaskTracker,
    /// Cancelled when the room ends, for whatever reason.
    pub closed: CancellationToken,
    video_track: AtomicBool,
    audio_track: AtomicBool,
    ready: AtomicBool,
    ready_at: Mutex<Option<Instant>>,
    /// The server's `_reliable` channel is open: events can flow.
    pub reliable_open: watch::Sender<bool>,
}

impl RoomShared {
    pub(crate) fn new(
        events: EventHub,
        media: MediaHub,
        tasks: TaskTracker,
        closed: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            events,
            media,
            stats: RoomStats::default(),
            tasks,
            closed,
            video_track: AtomicBool::new(false),
            audio_track: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            ready_at: Mutex::new(None),
            reliable_open: watch::channel(false).0,
        })
    }

    /// One of the avatar's tracks is subscribed; the second makes `StreamReady`, once, as the
    /// official SDK emits it when its MediaStream has a video and an audio track.
    pub(crate) fn track_subscribed(&self, video: bool) {
        let flag = if video {
            &self.video_track
        } else {
            &self.audio_track
        };
        flag.store(true, Ordering::SeqCst);
        if self.video_track.load(Ordering::SeqCst)
            && self.audio_track.load(Ordering::SeqCst)
            && !self.ready.swap(true, Ordering::SeqCst)
        {
            let now = Instant::now();
            *self.ready_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
            self.events
                .emit_at(now, EventSource::Sdk, StreamingEvent::StreamReady);
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub(crate) fn ready_at(&self) -> Option<Instant> {
        *self.ready_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the peers tell the signalling task.
#[derive(Debug)]
pub(crate) enum PeerSignal {
    /// A local candidate to trickle to the server.
    Candidate { target: i32, json: String },
    /// A peer's connection state changed.
    StateChanged,
}

/// What the room handle asks of the signalling task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a publisher offer; the server's answer comes back.
    PublisherOffer {
        sdp: String,
        reply: oneshot::Sender<String>,
    },
    /// Ask to publish a track; the server's `TrackInfo` comes back.
    AddTrack {
        request: lk::AddTrackRequest,
        reply: oneshot::Sender<lk::TrackInfo>,
    },
    /// Send a request that needs no answer (mute).
    Send(lk::signal_request::Message),
}

/// A joined room. Dropping it leaves (through the session's stop signal).
#[derive(Debug)]
pub(crate) struct Room {
    pub join: JoinInfo,
    pub timings: JoinTimings,
    commands: mpsc::Sender<Command>,
    shared: Arc<RoomShared>,
    settings: PeerSettings,
    signals: mpsc::Sender<PeerSignal>,
    publisher: Arc<Mutex<Option<Arc<peer::Publisher>>>>,
    negotiation: tokio::sync::Mutex<()>,
    ended: watch::Receiver<Option<DisconnectReason>>,
}

impl Room {
    /// Joins the room at `url` (the `url` from `streaming.new`) with its `access_token`, and
    /// returns once the subscriber peer is connected, as `room.connect()` resolves.
    pub(crate) async fn connect(
        url: &str,
        access_token: &str,
        options: &RoomOptions,
        tls: Option<Arc<rustls::ClientConfig>>,
        shared: Arc<RoomShared>,
    ) -> Result<Room, Error> {
        signal::join(url, access_token, options, tls, shared).await
    }

    /// Whether the room has ended, and why.
    pub(crate) fn ended(&self) -> Option<DisconnectReason> {
        *self.ended.borrow()
    }

    /// Waits until the room ends; returns why.
    pub(crate) async fn wait_ended(&self, timeout: Duration) -> Option<DisconnectReason> {
        let mut ended = self.ended.clone();
        let waited = tokio::time::timeout(timeout, ended.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(reason)) => *reason,
            _ => self.ended(),
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        match self.ended() {
            Some(reason) => Err(Error::Disconnected(reason)),
            None => Ok(()),
        }
    }

    /// Sends `payload` as a reliable user packet from this participant, as
    /// `localParticipant.publishData(payload, {reliable: true})` does; the first call opens the
    /// publisher connection.
    pub(crate) async fn publish_data(&self, payload: &[u8]) -> Result<(), Error> {
        self.publish_data_on(None, payload).await
    }

    /// As [`Room::publish_data`], on `topic` (`publishData(payload, {reliable, topic})`).
    pub(crate) async fn publish_data_on(
        &self,
        topic: Option<&str>,
        payload: &[u8],
    ) -> Result<(), Error> {
        let publisher = self.publisher().await?;
        let packet = lk::DataPacket {
            participant_identity: self.join.participant_identity.clone(),
            value: Some(lk::data_packet::Value::User(lk::UserPacket {
                payload: payload.to_vec(),
                topic: topic.map(str::to_owned),
                ..Default::default()
            })),
            ..Default::default()
        };
        publisher.send_reliable(&packet.encode_to_vec()).await
    }

    /// Publishes a microphone track (`addTrack`, `trackPublished`, renegotiation), as
    /// `localParticipant.publishTrack(createLocalAudioTrack())` does. Idempotent.
    pub(crate) async fn publish_microphone(&self, muted: bool) -> Result<String, Error> {
        let publisher = self.publisher().await?;
        let _one_at_a_time = self.negotiation.lock().await;
        let cid = format!("TR_rust_mic_{}", rand::random::<u32>());
        let (reply, published) = oneshot::channel();
        let request = lk::AddTrackRequest {
            cid: cid.clone(),
            name: "microphone".to_owned(),
            r#type: lk::TrackType::Audio as i32,
            source: lk::TrackSource::Microphone as i32,
            muted,
            ..Default::default()
        };
        self.command(Command::AddTrack { request, reply }).await?;
        let track = self
            .await_reply(published, "the server's trackPublished")
            .await?;
        let stream_id = format!("{}|{}", self.join.participant_sid, track.sid);
        publisher.add_microphone(&stream_id, &track.sid).await?;
        self.negotiate(&publisher).await?;
        Ok(track.sid)
    }

    /// A handle for a task that writes the microphone.
    pub(crate) fn writer(&self) -> RoomWriter {
        RoomWriter {
            commands: self.commands.clone(),
            publisher: Arc::clone(&self.publisher),
            ended: self.ended.clone(),
        }
    }

    async fn command(&self, command: Command) -> Result<(), Error> {
        self.check_open()?;
        self.commands
            .send(command)
            .await
            .map_err(|_| Error::Disconnected(self.ended().unwrap_or(DisconnectReason::SignalLost)))
    }

    async fn await_reply<T>(
        &self,
        reply: oneshot::Receiver<T>,
        what: &'static str,
    ) -> Result<T, Error> {
        match tokio::time::timeout(NEGOTIATION_TIMEOUT, reply).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(Error::Disconnected(
                self.ended().unwrap_or(DisconnectReason::SignalLost),
            )),
            Err(_) => Err(Error::Timeout(what)),
        }
    }

    /// The publisher, negotiated and with `_reliable` open, made on first use.
    async fn publisher(&self) -> Result<Arc<peer::Publisher>, Error> {
        self.check_open()?;
        if let Some(publisher) = self.current_publisher() {
            return Ok(publisher);
        }
        let _one_at_a_time = self.negotiation.lock().await;
        if let Some(publisher) = self.current_publisher() {
            return Ok(publisher);
        }
        let publisher = Arc::new(
            peer::Publisher::new(
                &self.settings,
                self.signals.clone(),
                Arc::clone(&self.shared),
            )
            .await?,
        );
        // In the slot before negotiating: the server may trickle candidates for it meanwhile.
        *self.publisher.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&publisher));
        let ready = async {
            self.negotiate(&publisher).await?;
            publisher.wait_open(NEGOTIATION_TIMEOUT).await
        };
        if let Err(e) = ready.await {
            // A failed publisher is not kept: the next send tries afresh.
            self.publisher
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            publisher.close().await;
            return Err(e);
        }
        Ok(publisher)
    }

    fn current_publisher(&self) -> Option<Arc<peer::Publisher>> {
        self.publisher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// One offer/answer round on the publisher. Callers hold `negotiation`.
    async fn negotiate(&self, publisher: &peer::Publisher) -> Result<(), Error> {
        let sdp = publisher.offer().await?;
        let (reply, answer) = oneshot::channel();
        self.command(Command::PublisherOffer { sdp, reply }).await?;
        let answer = self
            .await_reply(answer, "the server's answer to our offer")
            .await?;
        publisher.accept_answer(answer).await
    }
}

/// Whether a room URL's host is a loopback address (then peers bind 127.0.0.1).
pub(crate) fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        None => false,
    }
}

/// What a voice task needs of the room: mute requests and microphone packets.
#[derive(Debug, Clone)]
pub(crate) struct RoomWriter {
    commands: mpsc::Sender<Command>,
    publisher: Arc<Mutex<Option<Arc<peer::Publisher>>>>,
    ended: watch::Receiver<Option<DisconnectReason>>,
}

impl RoomWriter {
    fn gone(&self) -> Error {
        Error::Disconnected(self.ended.borrow().unwrap_or(DisconnectReason::SignalLost))
    }

    /// Mutes or unmutes the published microphone (`mute` request), as `track.mute()` does.
    pub(crate) async fn set_microphone_muted(
        &self,
        track_sid: &str,
        muted: bool,
    ) -> Result<(), Error> {
        let request = lk::signal_request::Message::Mute(lk::MuteTrackRequest {
            sid: track_sid.to_owned(),
            muted,
        });
        self.commands
            .send(Command::Send(request))
            .await
            .map_err(|_| self.gone())
    }

    /// Writes one Opus packet to the microphone.
    pub(crate) async fn write_microphone(
        &self,
        packet: bytes::Bytes,
        duration: Duration,
    ) -> Result<(), Error> {
        if self.ended.borrow().is_some() {
            return Err(self.gone());
        }
        let publisher = self
            .publisher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::NotReady("no microphone track is published"))?;
        publisher.write_microphone(packet, duration).await
    }
}
