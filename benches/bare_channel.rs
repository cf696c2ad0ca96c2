//! The baseline for event latency: two webrtc-rs peers in one process joined by a data
//! channel on loopback, with nothing of Understudy in between. This is the only module of the
//! bench package that imports webrtc-rs.

use bytes::BytesMut;
use rtc::ice::mdns::MulticastDnsMode;
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

async fn peer() -> (
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
    let pc: Arc<dyn PeerConnection> = Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                channels: channels_tx,
            }))
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await
            .expect("peer"),
    );
    (pc, gathered, channels)
}

/// A connected pair: send on `sender`, receive from `received`.
pub struct BareChannel {
    pub sender: Arc<dyn DataChannel>,
    pub received: mpsc::Receiver<BytesMut>,
    _peers: (Arc<dyn PeerConnection>, Arc<dyn PeerConnection>),
}

impl std::fmt::Debug for BareChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BareChannel").finish_non_exhaustive()
    }
}

impl BareChannel {
    /// Sends one event-sized message and returns the time until the other peer holds it.
    ///
    /// # Panics
    /// When the channel has closed.
    pub async fn sample(&mut self) -> Duration {
        let started = std::time::Instant::now();
        self.sender
            .send(BytesMut::from(&b"{\"type\":\"avatar_start_talking\"}"[..]))
            .await
            .expect("send");
        self.received.recv().await.expect("message");
        started.elapsed()
    }

    /// Connects two peers and opens one ordered, reliable channel between them.
    ///
    /// # Panics
    /// When the peers cannot connect on loopback within ten seconds.
    pub async fn connect() -> BareChannel {
        let (offerer, mut offer_gathered, _) = peer().await;
        let (answerer, mut answer_gathered, mut incoming) = peer().await;
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
        let (tx, received) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(event) = remote.poll().await {
                if let DataChannelEvent::OnMessage(message) = event {
                    if tx.send(message.data).await.is_err() {
                        return;
                    }
                }
            }
        });
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
        BareChannel {
            sender,
            received,
            _peers: (offerer, answerer),
        }
    }
}
