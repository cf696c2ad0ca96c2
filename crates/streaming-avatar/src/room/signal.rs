//! The `/rtc` signalling socket, owned by one task: JoinResponse first, then the subscriber's
//! offers answered, candidates trickled both ways, pings on the server's interval with its
//! timeout, the publisher's offers and track publications relayed, and `leave` either way.
//! When the room ends, for any reason, the task emits `StreamDisconnected` with the reason,
//! closes both peers, and cancels the room's tasks.

use super::peer::{self, PeerSettings, Publisher, Subscriber};
use super::{
    COMMAND_CAPACITY, Command, JoinInfo, JoinTimings, PROTOCOL_VERSION, PeerSignal, Room,
    RoomOptions, RoomShared, SIGNAL_CAPACITY, TARGET_SUBSCRIBER,
};
use crate::Error;
use crate::events::{DisconnectReason, EventSource, StreamingEvent};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as lk;
use prost::Message as _;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::websocket::Socket;

/// The largest signalling message accepted; SDPs are a few KiB.
const MAX_SIGNAL_BYTES: usize = 1024 * 1024;
/// `ws(s)://…/rtc` from the room URL, with livekit-client's query (`livekit.md` §1.1).
fn rtc_url(room_url: &str, access_token: &str) -> Result<url::Url, Error> {
    let mut url = url::Url::parse(room_url)
        .map_err(|e| Error::Room(format!("room url {room_url:?}: {e}")))?;
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => return Err(Error::Room(format!("room url scheme {other:?}"))),
    };
    url.set_scheme(scheme)
        .map_err(|()| Error::Room("room url scheme".into()))?;
    let path = format!("{}/rtc", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut()
        .append_pair("access_token", access_token)
        .append_pair("auto_subscribe", "1")
        .append_pair("sdk", "rust")
        .append_pair("version", env!("CARGO_PKG_VERSION"))
        .append_pair("protocol", &PROTOCOL_VERSION.to_string())
        .append_pair("adaptive_stream", "1");
    Ok(url)
}

/// Dials, reads the JoinResponse, starts the signalling task and waits for the subscriber to
/// connect.
pub(super) async fn join(
    room_url: &str,
    access_token: &str,
    options: &RoomOptions,
    tls: Option<Arc<rustls::ClientConfig>>,
    shared: Arc<RoomShared>,
) -> Result<Room, Error> {
    let url = rtc_url(room_url, access_token)?;
    let loopback = super::is_loopback_url(&url);
    let started = Instant::now();
    let deadline = started + options.connect_timeout;
    let dial = crate::websocket::dial(url.as_str(), MAX_SIGNAL_BYTES, tls);
    let mut socket = tokio::time::timeout_at(deadline, dial)
        .await
        .map_err(|_| Error::Timeout("the signalling socket to open"))?
        .map_err(|e| Error::Room(format!("signalling: {}", redact(&e.to_string()))))?;
    let socket_open = started.elapsed();

    let first = tokio::time::timeout_at(deadline, next_response(&mut socket))
        .await
        .map_err(|_| Error::Timeout("the JoinResponse"))??;
    let join = match first {
        lk::signal_response::Message::Join(join) => join,
        lk::signal_response::Message::Leave(leave) => {
            return Err(Error::Disconnected(DisconnectReason::from_livekit(
                leave.reason,
            )));
        }
        other => {
            return Err(Error::Room(format!(
                "the first signalling message must be a JoinResponse, got {}",
                message_name(&other)
            )));
        }
    };
    let info = join_info(&join, options)?;
    let joined = started.elapsed();

    let settings = PeerSettings {
        loopback,
        ice_servers: join.ice_servers.clone(),
        answer_gathering_wait: options.answer_gathering_wait,
    };
    let (commands_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (signals_tx, signals) = mpsc::channel(SIGNAL_CAPACITY);
    let (ended_tx, ended) = watch::channel(None);
    let (timings_tx, mut timings_rx) = watch::channel(JoinTimings {
        socket_open,
        joined,
        ..JoinTimings::default()
    });
    let publisher = Arc::new(Mutex::new(None));
    let task = SignalTask {
        socket,
        shared: Arc::clone(&shared),
        settings: settings.clone(),
        signals_tx: signals_tx.clone(),
        subscriber: None,
        publisher: Arc::clone(&publisher),
        pending_offers: VecDeque::new(),
        pending_tracks: HashMap::new(),
        next_offer_id: 0,
        ended: ended_tx,
        timings: timings_tx,
        started,
        ping_interval: info.ping_interval,
        ping_timeout: info.ping_timeout,
        last_heard: Instant::now(),
        participant_sid: info.participant_sid.clone(),
    };
    shared.tasks.spawn(task.run(commands, signals));

    let connected = tokio::time::timeout_at(
        deadline,
        timings_rx.wait_for(|t| t.connected > Duration::ZERO),
    )
    .await
    // Copied out at once: a held `watch::Ref` would make this future `!Send`.
    .map(|waited| waited.map(|timings| *timings));
    let timings = match connected {
        Ok(Ok(timings)) => timings,
        Ok(Err(_)) => {
            let reason = ended.borrow().unwrap_or(DisconnectReason::SignalLost);
            return Err(Error::Disconnected(reason));
        }
        Err(_) => {
            shared.closed.cancel();
            return Err(Error::Timeout("the subscriber peer to connect"));
        }
    };
    // As livekit-client's connect, plus the server's `_reliable`: a room whose events cannot
    // flow yet is not joined (and the server may still be noting the session connected).
    let mut reliable = shared.reliable_open.subscribe();
    match tokio::time::timeout_at(deadline, reliable.wait_for(|open| *open)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return Err(Error::Disconnected(DisconnectReason::SignalLost)),
        Err(_) => {
            shared.closed.cancel();
            return Err(Error::Timeout(
                "the server's _reliable data channel to open",
            ));
        }
    }
    if let Some(reason) = *ended.borrow() {
        return Err(Error::Disconnected(reason));
    }
    Ok(Room {
        join: info,
        timings,
        commands: commands_tx,
        shared,
        settings,
        signals: signals_tx,
        publisher,
        negotiation: tokio::sync::Mutex::new(()),
        ended,
    })
}

fn join_info(join: &lk::JoinResponse, options: &RoomOptions) -> Result<JoinInfo, Error> {
    let participant = join
        .participant
        .as_ref()
        .ok_or_else(|| Error::Room("the JoinResponse names no local participant".into()))?;
    let server_version = join
        .server_info
        .as_ref()
        .map(|s| s.version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| join.server_version.clone());
    if server_version.is_empty() {
        // livekit-client refuses the same way ("unknown server version").
        return Err(Error::Room("the server sent no version".into()));
    }
    let mut ping_timeout = Duration::from_secs(u64::try_from(join.ping_timeout).unwrap_or(0));
    if let Some(cap) = options.max_ping_timeout {
        if ping_timeout.is_zero() || ping_timeout > cap {
            ping_timeout = cap;
        }
    }
    let ping_interval = Duration::from_secs(u64::try_from(join.ping_interval).unwrap_or(0));
    Ok(JoinInfo {
        room_name: join
            .room
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        room_sid: join
            .room
            .as_ref()
            .map(|r| r.sid.clone())
            .unwrap_or_default(),
        participant_sid: participant.sid.clone(),
        participant_identity: participant.identity.clone(),
        others: join
            .other_participants
            .iter()
            .map(|p| super::RemoteParticipant {
                sid: p.sid.clone(),
                identity: p.identity.clone(),
                track_sids: p.tracks.iter().map(|t| t.sid.clone()).collect(),
                track_mime_types: p.tracks.iter().map(|t| t.mime_type.clone()).collect(),
            })
            .collect(),
        subscriber_primary: join.subscriber_primary,
        server_version,
        server_protocol: join.server_info.as_ref().map_or(0, |s| s.protocol),
        ping_interval: if ping_interval.is_zero() && !ping_timeout.is_zero() {
            ping_timeout / 3
        } else {
            ping_interval
        },
        ping_timeout,
    })
}

/// Tokens in URLs must not reach logs or error messages.
fn redact(text: &str) -> String {
    match text.find("access_token=") {
        Some(start) => {
            let rest = &text[start + "access_token=".len()..];
            let end = rest.find(['&', ' ', '"']).unwrap_or(rest.len());
            format!("{}access_token=<redacted>{}", &text[..start], &rest[end..])
        }
        None => text.to_owned(),
    }
}

async fn next_response(socket: &mut Socket) -> Result<lk::signal_response::Message, Error> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                let response = lk::SignalResponse::decode(&bytes[..]).map_err(|e| {
                    Error::Room(format!(
                        "a signalling frame that is not a SignalResponse: {e}"
                    ))
                })?;
                match response.message {
                    Some(message) => return Ok(message),
                    None => continue,
                }
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(Error::Room(
                    "the server closed signalling before joining".into(),
                ));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(Error::Room(format!("signalling: {e}"))),
        }
    }
}

fn message_name(message: &lk::signal_response::Message) -> String {
    let debug = format!("{message:?}");
    debug.split('(').next().unwrap_or("?").to_owned()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct SignalTask {
    socket: Socket,
    shared: Arc<RoomShared>,
    settings: PeerSettings,
    signals_tx: mpsc::Sender<PeerSignal>,
    subscriber: Option<Subscriber>,
    publisher: Arc<Mutex<Option<Arc<Publisher>>>>,
    /// Publisher offers sent, by id, waiting for their answers.
    pending_offers: VecDeque<(u32, oneshot::Sender<String>)>,
    /// Track publications requested, by cid.
    pending_tracks: HashMap<String, oneshot::Sender<lk::TrackInfo>>,
    next_offer_id: u32,
    ended: watch::Sender<Option<DisconnectReason>>,
    timings: watch::Sender<JoinTimings>,
    started: Instant,
    ping_interval: Duration,
    ping_timeout: Duration,
    last_heard: Instant,
    /// This client's participant sid, to find its own `ConnectionQualityUpdate`.
    participant_sid: String,
}

impl SignalTask {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut signals: mpsc::Receiver<PeerSignal>,
    ) {
        let mut ping = tokio::time::interval(if self.ping_interval.is_zero() {
            Duration::from_secs(3600)
        } else {
            self.ping_interval
        });
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reason = loop {
            let silence_deadline = self.last_heard + self.ping_timeout;
            tokio::select! {
                () = self.shared.closed.cancelled() => {
                    self.send(lk::signal_request::Message::Leave(lk::LeaveRequest {
                        reason: lk::DisconnectReason::ClientInitiated as i32,
                        action: lk::leave_request::Action::Disconnect as i32,
                        ..Default::default()
                    })).await;
                    let _ = self.socket.close(None).await;
                    break DisconnectReason::ClientInitiated;
                }
                Some(command) = commands.recv() => self.command(command).await,
                Some(signal) = signals.recv() => {
                    if let Some(reason) = self.peer_signal(signal).await {
                        break reason;
                    }
                }
                _ = ping.tick(), if !self.ping_interval.is_zero() => {
                    let now = now_ms();
                    self.send(lk::signal_request::Message::Ping(now)).await;
                    self.send(lk::signal_request::Message::PingReq(lk::Ping { timestamp: now, rtt: 0 })).await;
                }
                () = tokio::time::sleep_until(silence_deadline), if !self.ping_timeout.is_zero() => {
                    break DisconnectReason::PingTimeout;
                }
                frame = self.socket.next() => {
                    self.last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Binary(bytes))) => {
                            if let Some(reason) = self.response(&bytes).await {
                                break reason;
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break DisconnectReason::SignalLost,
                        Some(Ok(Message::Text(_))) => {
                            self.shared.stats.garbage_signal.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Some(Ok(_)) => {}
                    }
                }
            }
        };
        self.end(reason).await;
    }

    async fn end(mut self, reason: DisconnectReason) {
        tracing::debug!(%reason, "room ended");
        self.ended.send_replace(Some(reason));
        self.shared.events.emit(
            EventSource::Sdk,
            StreamingEvent::StreamDisconnected { reason },
        );
        if let Some(subscriber) = self.subscriber.take() {
            subscriber.close().await;
        }
        let publisher = self
            .publisher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(publisher) = publisher {
            publisher.close().await;
        }
        let _ = self.socket.close(None).await;
        self.shared.closed.cancel();
    }

    async fn send(&mut self, message: lk::signal_request::Message) {
        let bytes = lk::SignalRequest {
            message: Some(message),
        }
        .encode_to_vec();
        // A failed send shows up as the socket ending on the next read.
        let _ = self.socket.send(Message::Binary(bytes.into())).await;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::PublisherOffer { sdp, reply } => {
                self.next_offer_id += 1;
                let id = self.next_offer_id;
                self.pending_offers.push_back((id, reply));
                self.send(lk::signal_request::Message::Offer(lk::SessionDescription {
                    r#type: "offer".into(),
                    sdp,
                    id,
                    ..Default::default()
                }))
                .await;
            }
            Command::AddTrack { request, reply } => {
                self.pending_tracks.insert(request.cid.clone(), reply);
                self.send(lk::signal_request::Message::AddTrack(request))
                    .await;
            }
            Command::Send(message) => self.send(message).await,
        }
    }

    /// A candidate to trickle, or a peer that changed state; `Some` ends the room.
    async fn peer_signal(&mut self, signal: PeerSignal) -> Option<DisconnectReason> {
        match signal {
            PeerSignal::Candidate { target, json } => {
                self.send(lk::signal_request::Message::Trickle(lk::TrickleRequest {
                    candidate_init: json,
                    target,
                    r#final: false,
                }))
                .await;
                None
            }
            PeerSignal::StateChanged => {
                let state = *self.subscriber.as_ref()?.state.borrow();
                if peer::is_connected(state) {
                    let elapsed = self.started.elapsed();
                    self.timings.send_if_modified(|t| {
                        let first = t.connected.is_zero();
                        if first {
                            t.connected = elapsed;
                        }
                        first
                    });
                    None
                } else if peer::is_gone(state) {
                    Some(DisconnectReason::MediaLost)
                } else {
                    None
                }
            }
        }
    }

    /// Acts on one server frame; `Some` ends the room.
    async fn response(&mut self, bytes: &[u8]) -> Option<DisconnectReason> {
        use lk::signal_response::Message as Resp;
        let Ok(response) = lk::SignalResponse::decode(bytes) else {
            self.shared
                .stats
                .garbage_signal
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return None;
        };
        match response.message? {
            Resp::Offer(offer) => {
                let elapsed = self.started.elapsed();
                self.timings.send_if_modified(|t| {
                    let first = t.offer.is_zero();
                    if first {
                        t.offer = elapsed;
                    }
                    first
                });
                match self.answer(offer).await {
                    Ok(()) => {
                        let elapsed = self.started.elapsed();
                        self.timings.send_if_modified(|t| {
                            let first = t.answered.is_zero();
                            if first {
                                t.answered = elapsed;
                            }
                            first
                        });
                    }
                    Err(e) => {
                        tracing::warn!(%e, "could not answer the server's offer");
                        return Some(DisconnectReason::StateMismatch);
                    }
                }
            }
            Resp::Answer(answer) => {
                let position = if answer.id == 0 {
                    (!self.pending_offers.is_empty()).then_some(0)
                } else {
                    self.pending_offers
                        .iter()
                        .position(|(id, _)| *id == answer.id)
                };
                if let Some(reply) = position.and_then(|i| self.pending_offers.remove(i)) {
                    let _ = reply.1.send(answer.sdp);
                }
            }
            Resp::Trickle(trickle) => {
                let result = if trickle.target == TARGET_SUBSCRIBER {
                    match &self.subscriber {
                        Some(subscriber) => {
                            subscriber
                                .add_remote_candidate(&trickle.candidate_init)
                                .await
                        }
                        None => Ok(()),
                    }
                } else {
                    let publisher = self
                        .publisher
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    match publisher {
                        Some(publisher) => {
                            publisher
                                .add_remote_candidate(&trickle.candidate_init)
                                .await
                        }
                        None => Ok(()),
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%e, "a trickled candidate was refused");
                }
            }
            Resp::TrackPublished(published) => {
                if let (Some(reply), Some(track)) =
                    (self.pending_tracks.remove(&published.cid), published.track)
                {
                    let _ = reply.send(track);
                }
            }
            Resp::Leave(leave) => return Some(DisconnectReason::from_livekit(leave.reason)),
            // The server's view of this client's connection (LiveKit's own quality, which the
            // official SDK turns into BAD when it is poor or lost).
            Resp::ConnectionQuality(update) => {
                if let Some(own) = update
                    .updates
                    .iter()
                    .find(|u| u.participant_sid == self.participant_sid)
                {
                    let poor = matches!(
                        lk::ConnectionQuality::try_from(own.quality),
                        Ok(lk::ConnectionQuality::Poor | lk::ConnectionQuality::Lost)
                    );
                    self.shared.stats.set_server_says_poor(poor);
                }
            }
            // Pongs only prove the server is there, which hearing anything already did.
            _ => {}
        }
        None
    }

    async fn answer(&mut self, offer: lk::SessionDescription) -> Result<(), Error> {
        if self.subscriber.is_none() {
            self.subscriber = Some(
                Subscriber::new(
                    &self.settings,
                    self.signals_tx.clone(),
                    Arc::clone(&self.shared),
                )
                .await?,
            );
        }
        let Some(subscriber) = self.subscriber.as_ref() else {
            return Ok(());
        };
        let sdp = subscriber.answer(offer.sdp).await?;
        self.send(lk::signal_request::Message::Answer(
            lk::SessionDescription {
                r#type: "answer".into(),
                sdp,
                id: offer.id,
                ..Default::default()
            },
        ))
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rtc_url_carries_livekit_clients_query() {
        let url = rtc_url("http://127.0.0.1:8080/", "tok").unwrap();
        assert_eq!(url.scheme(), "ws");
        assert_eq!(url.path(), "/rtc");
        let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["access_token"], "tok");
        assert_eq!(query["auto_subscribe"], "1");
        assert_eq!(query["protocol"], "15");
        assert_eq!(
            rtc_url("wss://x.livekit.cloud", "t").unwrap().scheme(),
            "wss"
        );
        assert!(rtc_url("ftp://x", "t").is_err());
    }

    #[test]
    fn tokens_are_redacted_from_messages() {
        assert_eq!(
            redact("GET ws://h/rtc?access_token=secret&x=1 failed"),
            "GET ws://h/rtc?access_token=<redacted>&x=1 failed"
        );
    }

    #[test]
    fn a_join_without_a_version_is_refused() {
        let join = lk::JoinResponse {
            participant: Some(lk::ParticipantInfo::default()),
            ..Default::default()
        };
        assert!(join_info(&join, &RoomOptions::default()).is_err());
        let join = lk::JoinResponse {
            server_version: "1.8.4".into(),
            ping_timeout: 15,
            ping_interval: 5,
            ..join
        };
        let capped = RoomOptions {
            max_ping_timeout: Some(Duration::from_secs(2)),
            ..RoomOptions::default()
        };
        assert_eq!(
            join_info(&join, &capped).unwrap().ping_timeout,
            Duration::from_secs(2)
        );
    }
}
