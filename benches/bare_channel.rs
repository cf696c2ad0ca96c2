//! The baseline for event latency: two webrtc-rs peers in one process joined by a data
//! channel on loopback, with nothing of Understudy in between. This is the only module of the
//! bench package that imports webrtc-rs.
//!
//! Two shapes: [`BareChannel::connect`], one message one way between plain data-channel peers
//! (the baseline every ratio is taken against); and [`BareChannel::talk_shaped`], the transport
//! work a LiveKit talk needs with none of the mock's: one message there and a talk's thirteen
//! back, between peers that carry the mock's media stack (codecs and default interceptors), so
//! a report can say how much of a path is the transport and how much Understudy's.

use bytes::BytesMut;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, SettingEngineBuilder,
};

struct Handler {
    gathered: watch::Sender<bool>,
    channels: mpsc::Sender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.channels.send(channel).await;
    }
}

/// The messages that answer the benches' talk ("hello there") up to `avatar_start_talking`:
/// the twelve word and punctuation chunks of the mock's reply on its default seed ("Happy to
/// talk about that. You said: hello there.") and the start. `room_latency` checks the count.
pub const TALK_REPLY_MESSAGES: usize = 13;

/// What the app sends: about the size of a speak's data packet.
const SPEAK: &[u8] = b"{\"type\":\"avatar_start_talking\"}";

/// An answer: about the size of one of the mock's events in its LiveKit user packet.
const EVENT: &[u8] = br#"{"type":"avatar_talking_message","task_id":"0c4a1f6e-d975-11ef-9640-72615a2b266a","message":" there","participant":"avatar"}"#;

async fn peer(
    media_stack: bool,
) -> (
    Arc<dyn PeerConnection>,
    watch::Receiver<bool>,
    mpsc::Receiver<Arc<dyn DataChannel>>,
) {
    let (gathered_tx, gathered) = watch::channel(false);
    let (channels_tx, channels) = mpsc::channel(4);
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .build();
    let builder = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler {
            gathered: gathered_tx,
            channels: channels_tx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()]);
    // The mock's peers carry media: every turn of their drivers also runs the interceptors.
    let builder = if media_stack {
        let mut media = MediaEngine::default();
        media.register_default_codecs().expect("codecs");
        let registry =
            register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
        builder
            .with_media_engine(media)
            .with_interceptor_registry(registry)
    } else {
        builder
    };
    let pc: Arc<dyn PeerConnection> = Arc::new(builder.build().await.expect("peer"));
    (pc, gathered, channels)
}

/// A connected pair: send on `sender`, receive from `received`.
pub struct BareChannel {
    pub sender: Arc<dyn DataChannel>,
    pub received: mpsc::Receiver<BytesMut>,
    /// How many messages answer one sent (1 one way: the message itself).
    answers: usize,
    _peers: (Arc<dyn PeerConnection>, Arc<dyn PeerConnection>),
}

impl std::fmt::Debug for BareChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BareChannel").finish_non_exhaustive()
    }
}

impl BareChannel {
    /// Sends one event-sized message and returns the time until the other peer holds it (one
    /// way), or until this peer holds the last of the answer (talk-shaped).
    ///
    /// # Panics
    /// When the channel has closed.
    pub async fn sample(&mut self) -> Duration {
        let started = std::time::Instant::now();
        self.sender.send(BytesMut::from(SPEAK)).await.expect("send");
        for _ in 0..self.answers {
            self.received.recv().await.expect("message");
        }
        started.elapsed()
    }

    /// Connects two plain data-channel peers and opens one ordered, reliable channel between
    /// them; a sample is one message one way.
    ///
    /// # Panics
    /// When the peers cannot connect on loopback within ten seconds.
    pub async fn connect() -> BareChannel {
        BareChannel::open(false, None).await
    }

    /// As [`BareChannel::connect`], between peers with the mock's media stack, and the other
    /// peer answers each message with [`TALK_REPLY_MESSAGES`] event-sized ones: the transport
    /// share of a LiveKit talk's speak -> `avatar_start_talking`.
    ///
    /// # Panics
    /// As [`BareChannel::connect`].
    pub async fn talk_shaped() -> BareChannel {
        BareChannel::open(true, Some(TALK_REPLY_MESSAGES)).await
    }

    /// `reply`: how many messages the other peer sends back for each one it receives (`None`:
    /// it hands each message to [`BareChannel::received`] instead).
    async fn open(media_stack: bool, reply: Option<usize>) -> BareChannel {
        let (offerer, mut offer_gathered, _) = peer(media_stack).await;
        let (answerer, mut answer_gathered, mut incoming) = peer(media_stack).await;
        let sender = offerer
            .create_data_channel("bench", None)
            .await
            .expect("channel");
        let offer = offerer.create_offer(None).await.expect("offer");
        offerer
            .set_local_description(offer)
            .await
            .expect("local offer");
        offer_gathered.wait_for(|g| *g).await.expect("gathered");
        answerer
            .set_remote_description(offerer.local_description().await.expect("offer"))
            .await
            .expect("remote offer");
        let answer = answerer.create_answer(None).await.expect("answer");
        answerer
            .set_local_description(answer)
            .await
            .expect("local answer");
        answer_gathered.wait_for(|g| *g).await.expect("gathered");
        offerer
            .set_remote_description(answerer.local_description().await.expect("answer"))
            .await
            .expect("remote answer");

        let remote = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
            .await
            .expect("channel in time")
            .expect("channel");
        // Whose messages the sampler reads: the other peer's (one way), or this peer's, the
        // answers (talk-shaped).
        let read_from = match reply {
            None => remote,
            Some(answers) => {
                tokio::spawn(answer_each(remote, answers));
                Arc::clone(&sender)
            }
        };
        let opener = Arc::clone(&sender);
        tokio::time::timeout(Duration::from_secs(10), async move {
            while let Some(event) = opener.poll().await {
                if matches!(event, DataChannelEvent::OnOpen) {
                    return;
                }
            }
        })
        .await
        .expect("channel opens in time");
        // After the open: the wait above reads the sender's events until then.
        let (tx, received) = mpsc::channel(1024);
        tokio::spawn(forward(read_from, tx));
        BareChannel {
            sender,
            received,
            answers: reply.unwrap_or(1),
            _peers: (offerer, answerer),
        }
    }
}

/// Answers every message `channel` receives with `answers` event-sized ones, until it closes.
async fn answer_each(channel: Arc<dyn DataChannel>, answers: usize) {
    while let Some(event) = channel.poll().await {
        if let DataChannelEvent::OnMessage(_) = event {
            for _ in 0..answers {
                if channel.send(BytesMut::from(EVENT)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Hands every message `channel` receives to `to`, until either closes.
async fn forward(channel: Arc<dyn DataChannel>, to: mpsc::Sender<BytesMut>) {
    while let Some(event) = channel.poll().await {
        if let DataChannelEvent::OnMessage(message) = event {
            if to.send(message.data).await.is_err() {
                return;
            }
        }
    }
}
