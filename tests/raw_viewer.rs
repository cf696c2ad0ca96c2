//! `RawViewer`: a v1 client in Rust that does what SDK 1.x's `createStartAvatar` does
//! (heygen-api.md §3.2-§3.4, §9): apply the server's offer from `streaming.new`, answer, trickle
//! its own candidates through `streaming.ice` as they are gathered (racing `start`), send the
//! answer in `streaming.start`, and read the avatar's events as binary JSON from the data
//! channel the server made.

use crate::TestEnv;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use understudy_proto::events::DataChannelEvent;
use webrtc::data_channel::{DataChannel, DataChannelEvent as ChannelEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidate, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};

/// How long any single wait may take.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(15);

/// What arrived on the server's data channel.
#[derive(Debug, Clone, PartialEq)]
pub enum RawMessage {
    /// A binary message that parsed as an avatar event.
    Event(DataChannelEvent),
    /// Anything else: a text message, or bytes that are not an event.
    Other { is_string: bool, bytes: Vec<u8> },
}

#[derive(Debug, Default)]
pub struct RawMedia {
    pub video_packets: AtomicU64,
    pub audio_packets: AtomicU64,
    /// The codec of each remote track, as negotiated (`video/VP8`, `audio/opus`).
    pub codecs: std::sync::Mutex<Vec<String>>,
}

pub struct RawViewer {
    pub session_id: String,
    /// `data` of the `streaming.new` answer.
    pub new_data: Value,
    pub media: Arc<RawMedia>,
    /// The labels of the channels the server opened.
    pub channel_labels: watch::Receiver<Vec<String>>,
    /// Each `streaming.ice` call's HTTP status, as the candidates went out.
    pub ice_statuses: watch::Receiver<Vec<u16>>,
    messages: mpsc::Receiver<RawMessage>,
    state: watch::Receiver<RTCPeerConnectionState>,
    pc: Arc<dyn PeerConnection>,
}

impl std::fmt::Debug for RawViewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawViewer")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

struct Handler {
    messages: mpsc::Sender<RawMessage>,
    media: Arc<RawMedia>,
    state: watch::Sender<RTCPeerConnectionState>,
    labels: watch::Sender<Vec<String>>,
    candidates: mpsc::UnboundedSender<RTCIceCandidate>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let _ = self.candidates.send(event.candidate);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let messages = self.messages.clone();
        if let Ok(label) = channel.label().await {
            self.labels.send_modify(|labels| labels.push(label));
        }
        tokio::spawn(async move {
            while let Some(event) = channel.poll().await {
                let ChannelEvent::OnMessage(message) = event else {
                    continue;
                };
                let parsed = (!message.is_string)
                    .then(|| serde_json::from_slice(&message.data).ok())
                    .flatten();
                let message = match parsed {
                    Some(event) => RawMessage::Event(event),
                    None => RawMessage::Other {
                        is_string: message.is_string,
                        bytes: message.data.to_vec(),
                    },
                };
                let _ = messages.send(message).await;
            }
        });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let media = Arc::clone(&self.media);
        tokio::spawn(async move {
            let counter = if track.kind().await == RtpCodecKind::Video {
                &media.video_packets
            } else {
                &media.audio_packets
            };
            let mut first = true;
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    if std::mem::take(&mut first) {
                        let codec = track.codec(packet.header.ssrc).await;
                        let mime = codec.map(|c| c.mime_type).unwrap_or_default();
                        media.codecs.lock().unwrap().push(mime);
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

impl RawViewer {
    /// `streaming.new` with `body` (no `version`: v1), then the SDK's steps up to an answered
    /// `streaming.start`. Returns once `start` has answered 200; the peer may still be
    /// connecting.
    ///
    /// # Panics
    /// When any step fails: this is a test helper.
    pub async fn start(env: &TestEnv, token: &str, body: Value) -> RawViewer {
        let (status, new) = env.post("/v1/streaming.new", token, body).await;
        assert_eq!(status, 200, "v1 new: {new}");
        let data = new["data"].clone();
        let viewer = Self::answer(env, token, data).await;
        let (status, body) = viewer.send_answer(env, token).await;
        assert_eq!(status, 200, "v1 start: {body}");
        viewer
    }

    /// Applies the offer in `new_data`, makes the answer and starts trickling candidates to
    /// `streaming.ice`, without calling `start`.
    ///
    /// # Panics
    /// When the offer does not apply or no answer can be made.
    pub async fn answer(env: &TestEnv, token: &str, new_data: Value) -> RawViewer {
        let session_id = new_data["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned();
        let offer = new_data["sdp"]["sdp"].as_str().expect("an SDP offer");
        assert_eq!(new_data["sdp"]["type"], "offer");
        let (messages_tx, messages) = mpsc::channel(1024);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (labels_tx, channel_labels) = watch::channel(Vec::new());
        let (candidates_tx, mut candidates) = mpsc::unbounded_channel();
        let media = Arc::new(RawMedia::default());
        let pc = crate::livekit_viewer::loopback_peer(Arc::new(Handler {
            messages: messages_tx,
            media: Arc::clone(&media),
            state: state_tx,
            labels: labels_tx,
            candidates: candidates_tx,
        }))
        .await;
        pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned()).expect("SDP"))
            .await
            .expect("apply the server's offer");
        let answer = pc.create_answer(None).await.expect("answer");
        pc.set_local_description(answer)
            .await
            .expect("apply answer");

        // Each candidate goes to `streaming.ice` as it is found, fire and forget, as the SDK
        // does: they race `start`.
        let (ice_tx, ice_statuses) = watch::channel(Vec::new());
        let (http, base, token_owned, id) = (
            env.http.clone(),
            env.server.uri(),
            token.to_owned(),
            session_id.clone(),
        );
        tokio::spawn(async move {
            while let Some(candidate) = candidates.recv().await {
                let Ok(init) = candidate.to_json() else {
                    continue;
                };
                let body = json!({
                    "session_id": id,
                    "candidate": {
                        "candidate": init.candidate,
                        "sdpMid": init.sdp_mid,
                        "sdpMLineIndex": init.sdp_mline_index,
                        "usernameFragment": init.username_fragment,
                    },
                });
                let status = http
                    .post(format!("{base}/v1/streaming.ice"))
                    .bearer_auth(&token_owned)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                ice_tx.send_modify(|s| s.push(status));
            }
        });
        RawViewer {
            session_id,
            new_data,
            media,
            channel_labels,
            ice_statuses,
            messages,
            state,
            pc,
        }
    }

    /// `streaming.start` with this client's answer, as the SDK sends it; the status and body.
    pub async fn send_answer(&self, env: &TestEnv, token: &str) -> (u16, Value) {
        let answer = self.local_answer().await;
        env.post(
            "/v1/streaming.start",
            token,
            json!({"session_id": self.session_id, "sdp": {"type": "answer", "sdp": answer}}),
        )
        .await
    }

    /// The answer as it stands (candidates are trickled, not waited for).
    pub async fn local_answer(&self) -> String {
        self.pc.local_description().await.expect("local answer").sdp
    }

    /// Waits until the peer connection is connected.
    ///
    /// # Panics
    /// When it does not connect within [`RAW_TIMEOUT`].
    pub async fn connected(&self) {
        let mut state = self.state.clone();
        tokio::time::timeout(
            RAW_TIMEOUT,
            state.wait_for(|s| *s == RTCPeerConnectionState::Connected),
        )
        .await
        .expect("the v1 peer connects in time")
        .expect("peer state");
    }

    /// Waits until the peer connection has left the connected state (the server closed it).
    ///
    /// # Panics
    /// When it stays up for [`RAW_TIMEOUT`].
    pub async fn closed(&self) {
        let mut state = self.state.clone();
        tokio::time::timeout(
            RAW_TIMEOUT,
            state.wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Disconnected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            }),
        )
        .await
        .expect("the server closes the v1 peer in time")
        .expect("peer state");
    }

    /// The next message on the server's data channel.
    ///
    /// # Panics
    /// When none comes within [`RAW_TIMEOUT`].
    pub async fn next_message(&mut self) -> RawMessage {
        tokio::time::timeout(RAW_TIMEOUT, self.messages.recv())
            .await
            .expect("a data-channel message in time")
            .expect("channel open")
    }

    /// The next avatar event; fails on anything else.
    ///
    /// # Panics
    /// When the next message is not a binary JSON event, or none comes in time.
    pub async fn next_event(&mut self) -> DataChannelEvent {
        match self.next_message().await {
            RawMessage::Event(event) => event,
            other => panic!("expected a binary JSON event, got {other:?}"),
        }
    }

    /// Closes the client's side, as SDK 1.x's `stopAvatar` does before it calls `stop`.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
