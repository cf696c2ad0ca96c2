//! The official SDK's `StreamingEvents` as one Rust enum, and the session's event hub with its
//! two doors: `on`/`off` listeners like the official SDK, and an async [`EventStream`].
//!
//! Every event is stamped with the instant it was received and a per-session sequence number,
//! so a consumer can order events from the room, the chat socket and the SDK itself, and see
//! whether it missed any. The hub is a bounded broadcast: a slow consumer never blocks the
//! session; it lags, and its stream says how many events it missed.

use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use understudy_proto::events::{ChatSocketEvent, DataChannelEvent};

/// Events the hub keeps for consumers that have not read them yet. A consumer further behind
/// than this loses the oldest and is told how many ([`Lagged`]). A long answer is a few hundred
/// events; the slots are allocated up front (about 130 bytes each), so this is also most of an
/// idle session's memory in the SDK.
pub const EVENT_CAPACITY: usize = 1024;

/// Why the room ended, as LiveKit's `DisconnectReason` names it, plus the two ways a client
/// notices a server that is gone without saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// This client left (`stop`, or the session was dropped).
    ClientInitiated,
    DuplicateIdentity,
    ServerShutdown,
    ParticipantRemoved,
    /// What HeyGen's rooms send when the session ends (stop, idle timeout, duration limit).
    RoomDeleted,
    StateMismatch,
    JoinFailure,
    Migration,
    SignalClose,
    RoomClosed,
    /// Another `DisconnectReason` number.
    Other(i32),
    /// No message from the server within its `ping_timeout`.
    PingTimeout,
    /// The signalling socket closed without a `leave`.
    SignalLost,
    /// The subscriber peer connection failed (ICE or DTLS).
    MediaLost,
}

impl DisconnectReason {
    /// From LiveKit's `DisconnectReason` number.
    pub fn from_livekit(code: i32) -> Self {
        match code {
            1 => Self::ClientInitiated,
            2 => Self::DuplicateIdentity,
            3 => Self::ServerShutdown,
            4 => Self::ParticipantRemoved,
            5 => Self::RoomDeleted,
            6 => Self::StateMismatch,
            7 => Self::JoinFailure,
            8 => Self::Migration,
            9 => Self::SignalClose,
            10 => Self::RoomClosed,
            other => Self::Other(other),
        }
    }

    /// LiveKit's number for it (what livekit-client passes to `RoomEvent.Disconnected`), or
    /// `None` for a loss the server never named.
    pub fn livekit_code(self) -> Option<i32> {
        Some(match self {
            Self::ClientInitiated => 1,
            Self::DuplicateIdentity => 2,
            Self::ServerShutdown => 3,
            Self::ParticipantRemoved => 4,
            Self::RoomDeleted => 5,
            Self::StateMismatch => 6,
            Self::JoinFailure => 7,
            Self::Migration => 8,
            Self::SignalClose => 9,
            Self::RoomClosed => 10,
            Self::Other(code) => code,
            Self::PingTimeout | Self::SignalLost | Self::MediaLost => return None,
        })
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(code) => write!(f, "LiveKit disconnect reason {code}"),
            Self::PingTimeout => f.write_str("no message from the server within its ping timeout"),
            Self::SignalLost => f.write_str("the signalling socket closed without a leave"),
            Self::MediaLost => f.write_str("the subscriber peer connection failed"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// `ConnectionQuality` of the official SDK (2.0.12+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionQuality {
    Unknown,
    Good,
    Bad,
}

impl ConnectionQuality {
    /// The SDK's string for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Good => "GOOD",
            Self::Bad => "BAD",
        }
    }
}

/// One of the official SDK's `StreamingEvents`, with its payload typed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamingEvent {
    AvatarStartTalking {
        task_id: String,
    },
    AvatarStopTalking {
        task_id: String,
        duration_ms: Option<f64>,
    },
    /// A chunk of what the avatar says; chunks concatenate with `""`.
    AvatarTalkingMessage {
        task_id: String,
        message: String,
    },
    AvatarEndMessage {
        task_id: String,
    },
    /// The user started speaking (chat socket).
    UserStart,
    /// The user stopped speaking (chat socket).
    UserStop,
    UserTalkingMessage {
        task_id: String,
        message: String,
    },
    UserEndMessage {
        task_id: String,
    },
    /// With `silence_response`: the user has been silent (chat socket).
    UserSilence {
        silence_times: u32,
        count_down: u32,
    },
    /// Both of the avatar's tracks are subscribed (made by the SDK, as the official one does).
    StreamReady,
    /// The room ended (made by the SDK from LiveKit's disconnect).
    StreamDisconnected {
        reason: DisconnectReason,
    },
    /// Made by the SDK when its view of the connection changes.
    ConnectionQualityChanged {
        quality: ConnectionQuality,
    },
    /// A LiveAvatar FULL event (topic `agent-response`), named by its `event_type`.
    LiveAvatar(Box<understudy_proto::liveavatar::AgentEvent>),
    /// A room event whose `type` the SDK does not know; the official SDK emits these too,
    /// named by their `type`.
    Other {
        name: String,
        payload: Value,
    },
}

impl StreamingEvent {
    /// The official SDK's name for the event (`StreamingEvents.*` values).
    pub fn name(&self) -> &str {
        match self {
            Self::AvatarStartTalking { .. } => "avatar_start_talking",
            Self::AvatarStopTalking { .. } => "avatar_stop_talking",
            Self::AvatarTalkingMessage { .. } => "avatar_talking_message",
            Self::AvatarEndMessage { .. } => "avatar_end_message",
            Self::UserStart => "user_start",
            Self::UserStop => "user_stop",
            Self::UserTalkingMessage { .. } => "user_talking_message",
            Self::UserEndMessage { .. } => "user_end_message",
            Self::UserSilence { .. } => "user_silence",
            Self::StreamReady => "stream_ready",
            Self::StreamDisconnected { .. } => "stream_disconnected",
            Self::ConnectionQualityChanged { .. } => "connection_quality_changed",
            Self::LiveAvatar(event) => event.kind.name(),
            Self::Other { name, .. } => name,
        }
    }

    /// The task the event belongs to, when it names one.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Self::AvatarStartTalking { task_id }
            | Self::AvatarStopTalking { task_id, .. }
            | Self::AvatarTalkingMessage { task_id, .. }
            | Self::AvatarEndMessage { task_id }
            | Self::UserTalkingMessage { task_id, .. }
            | Self::UserEndMessage { task_id } => Some(task_id),
            _ => None,
        }
    }

    /// Reads a LiveAvatar `agent-response` payload; `None` for anything that is not one of its
    /// events (the web SDK drops those).
    pub fn from_agent_response(payload: &[u8]) -> Option<Self> {
        serde_json::from_slice(payload)
            .ok()
            .map(|event| Self::LiveAvatar(Box::new(event)))
    }

    /// Reads a room data packet's JSON payload: a known `type` becomes its variant, another
    /// `type` becomes [`StreamingEvent::Other`]. `None` for anything that is not a JSON object
    /// with a string `type` (the official SDK logs and drops those).
    pub fn from_room_payload(payload: &[u8]) -> Option<Self> {
        if let Some(event) = parse_object::<DataChannelEvent>(payload) {
            return Some(event.into());
        }
        let value: Value = serde_json::from_slice(payload).ok()?;
        let name = value.get("type")?.as_str()?.to_owned();
        match serde_json::from_value::<DataChannelEvent>(value.clone()) {
            Ok(event) => Some(event.into()),
            Err(_) => Some(Self::Other {
                name,
                payload: value,
            }),
        }
    }

    /// Reads a chat-socket text frame, named by `event_type`.
    pub fn from_chat_socket(text: &str) -> Option<Self> {
        if let Some(event) = parse_object::<ChatSocketEvent>(text.as_bytes()) {
            return Some(event.into());
        }
        let value: Value = serde_json::from_str(text).ok()?;
        let name = value.get("event_type")?.as_str()?.to_owned();
        match serde_json::from_value::<ChatSocketEvent>(value.clone()) {
            Ok(event) => Some(event.into()),
            Err(_) => Some(Self::Other {
                name,
                payload: value,
            }),
        }
    }
}

/// `bytes` as one of the known events, read straight into its type; `None` when it is not
/// one (the callers then look at it as a JSON value, for `Other` or to drop it). Only a JSON
/// object is tried: serde would also take an array whose first element is the tag, which the
/// official SDK (reading `.type`) does not. Every event a talk's reply brings passes here, and
/// going through a `Value` first cost about three times as long.
fn parse_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

impl From<DataChannelEvent> for StreamingEvent {
    fn from(event: DataChannelEvent) -> Self {
        match event {
            DataChannelEvent::AvatarStartTalking { task_id } => {
                Self::AvatarStartTalking { task_id }
            }
            DataChannelEvent::AvatarStopTalking {
                task_id,
                duration_ms,
            } => Self::AvatarStopTalking {
                task_id,
                duration_ms,
            },
            DataChannelEvent::AvatarTalkingMessage { task_id, message } => {
                Self::AvatarTalkingMessage { task_id, message }
            }
            DataChannelEvent::AvatarEndMessage { task_id } => Self::AvatarEndMessage { task_id },
            DataChannelEvent::UserTalkingMessage { task_id, message } => {
                Self::UserTalkingMessage { task_id, message }
            }
            DataChannelEvent::UserEndMessage { task_id } => Self::UserEndMessage { task_id },
            DataChannelEvent::UserStart => Self::UserStart,
            DataChannelEvent::UserStop => Self::UserStop,
        }
    }
}

impl From<ChatSocketEvent> for StreamingEvent {
    fn from(event: ChatSocketEvent) -> Self {
        match event {
            ChatSocketEvent::UserStart => Self::UserStart,
            ChatSocketEvent::UserStop => Self::UserStop,
            ChatSocketEvent::UserSilence {
                silence_times,
                count_down,
            } => Self::UserSilence {
                silence_times,
                count_down,
            },
        }
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// A data packet on the room's `_reliable` channel.
    Room,
    /// A text frame on the chat WebSocket.
    ChatSocket,
    /// Made by the SDK (stream ready, disconnected, connection quality).
    Sdk,
}

/// An event as the session received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When the SDK received it (before any consumer saw it).
    pub at: Instant,
    /// 1, 2, 3, … per session, in the order the hub published them.
    pub seq: u64,
    pub source: EventSource,
    pub event: StreamingEvent,
}

/// A stream fell behind the hub by this many events, which it will never see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event stream fell behind and missed {0} events")]
pub struct Lagged(pub u64);

/// Which events a listener wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    /// Every event.
    All,
    /// Events of this name, as the official SDK's `on(StreamingEvents.X, …)`.
    Named(String),
}

impl From<&str> for EventFilter {
    fn from(name: &str) -> Self {
        Self::Named(name.to_owned())
    }
}

impl EventFilter {
    fn matches(&self, event: &StreamingEvent) -> bool {
        match self {
            Self::All => true,
            Self::Named(name) => event.name() == name,
        }
    }
}

/// Names a listener registered with `on`, for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// The session's events: publishes, hands out streams, runs listeners.
#[derive(Debug, Clone)]
pub(crate) struct EventHub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    sender: broadcast::Sender<Event>,
    seq: AtomicU64,
    listeners: Mutex<HashMap<ListenerId, CancellationToken>>,
    next_listener: AtomicU64,
    tasks: TaskTracker,
    closed: CancellationToken,
}

impl EventHub {
    pub(crate) fn new(tasks: TaskTracker, closed: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            inner: Arc::new(HubInner {
                sender,
                seq: AtomicU64::new(0),
                listeners: Mutex::new(HashMap::new()),
                next_listener: AtomicU64::new(1),
                tasks,
                closed,
            }),
        }
    }

    /// Stamps and publishes one event. Never waits: a full hub drops the oldest for laggards.
    pub(crate) fn emit(&self, source: EventSource, event: StreamingEvent) {
        self.emit_at(Instant::now(), source, event);
    }

    /// Publishes an event received at `at` (stamped by the task that read it off the wire).
    pub(crate) fn emit_at(&self, at: Instant, source: EventSource, event: StreamingEvent) {
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.inner.sender.send(Event {
            at,
            seq,
            source,
            event,
        });
    }

    /// How many events have been published.
    pub(crate) fn published(&self) -> u64 {
        self.inner.seq.load(Ordering::Relaxed)
    }

    pub(crate) fn stream(&self) -> EventStream {
        EventStream {
            receiver: self.inner.sender.subscribe(),
        }
    }

    /// Calls `listener` for every matching event, in order, on a task of its own: a slow
    /// listener lags (and misses events) instead of slowing the session.
    pub(crate) fn on<F>(&self, filter: EventFilter, listener: F) -> ListenerId
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        let id = ListenerId(self.inner.next_listener.fetch_add(1, Ordering::Relaxed));
        let stop = self.inner.closed.child_token();
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, stop.clone());
        let mut stream = self.stream();
        self.inner.tasks.spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return,
                    next = stream.next() => match next {
                        Some(Ok(event)) if filter.matches(&event.event) => listener(&event),
                        Some(Ok(_)) => {}
                        Some(Err(lagged)) => tracing::warn!(%lagged, "an event listener fell behind"),
                        None => return,
                    },
                }
            }
        });
        id
    }

    /// Removes a listener; false if it was not registered.
    pub(crate) fn off(&self, id: ListenerId) -> bool {
        let removed = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        removed.map(|stop| stop.cancel()).is_some()
    }
}

/// The session's events from the moment the stream was made, in order.
///
/// Cancel safety: [`EventStream::next`] is cancel safe; an event is never lost by dropping the
/// future (it stays queued for the next call).
#[derive(Debug)]
pub struct EventStream {
    receiver: broadcast::Receiver<Event>,
}

impl EventStream {
    /// The next event; `Err(Lagged(n))` once if this stream fell `n` events behind; `None` once
    /// the session is gone and every event was read.
    pub async fn next(&mut self) -> Option<Result<Event, Lagged>> {
        match self.receiver.recv().await {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Err(Lagged(n))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Waits up to `timeout` for the first event for which `want` is true, skipping others.
    ///
    /// # Errors
    /// [`crate::Error::Timeout`] when none comes in time, [`crate::Error::NotReady`] when the
    /// session is gone first. Missed events (lag) are skipped over.
    pub async fn wait_for<F>(
        &mut self,
        timeout: Duration,
        mut want: F,
    ) -> Result<Event, crate::Error>
    where
        F: FnMut(&StreamingEvent) -> bool,
    {
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => return Err(crate::Error::Timeout("an event")),
                Ok(None) => return Err(crate::Error::NotReady("the session has ended")),
                Ok(Some(Ok(event))) if want(&event.event) => return Ok(event),
                Ok(Some(_)) => {}
            }
        }
    }

    /// Every event already queued, without waiting.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            match self.receiver.try_recv() {
                Ok(event) => events.push(event),
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => return events,
            }
        }
    }
}

impl futures_util::Stream for EventStream {
    type Item = Result<Event, Lagged>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = self.next();
        futures_util::pin_mut!(next);
        next.poll(cx)
    }
}

use std::future::Future as _;

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> EventHub {
        EventHub::new(TaskTracker::new(), CancellationToken::new())
    }

    #[test]
    fn room_payloads_become_typed_events() {
        let event = StreamingEvent::from_room_payload(
            br#"{"type":"avatar_talking_message","task_id":"t1","message":"Hi"}"#,
        );
        assert_eq!(
            event,
            Some(StreamingEvent::AvatarTalkingMessage {
                task_id: "t1".into(),
                message: "Hi".into()
            })
        );
        let other = StreamingEvent::from_room_payload(br#"{"type":"brand_new","x":1}"#).unwrap();
        assert_eq!(other.name(), "brand_new");
        assert_eq!(StreamingEvent::from_room_payload(b"\xff garbage"), None);
        assert_eq!(StreamingEvent::from_room_payload(br#"{"type":7}"#), None);
        assert_eq!(StreamingEvent::from_room_payload(br#"[1,2]"#), None);
        // serde would read an array led by a tag as that event; the official SDK reads `.type`.
        assert_eq!(
            StreamingEvent::from_room_payload(br#"["avatar_start_talking","t1"]"#),
            None
        );
        // A known name with fields that do not fit is still an event, by its name.
        let odd = StreamingEvent::from_room_payload(br#" {"type":"avatar_start_talking"}"#);
        assert_eq!(
            odd.map(|e| e.name().to_owned()).as_deref(),
            Some("avatar_start_talking")
        );
    }

    #[test]
    fn chat_socket_frames_become_typed_events() {
        assert_eq!(
            StreamingEvent::from_chat_socket(
                r#"{"event_type":"user_silence","silence_times":2,"count_down":1}"#
            ),
            Some(StreamingEvent::UserSilence {
                silence_times: 2,
                count_down: 1
            })
        );
        assert_eq!(
            StreamingEvent::from_chat_socket(r#"{"event_type":"user_start"}"#),
            Some(StreamingEvent::UserStart)
        );
        assert_eq!(StreamingEvent::from_chat_socket("nope"), None);
        assert_eq!(StreamingEvent::from_chat_socket(r#"["user_start"]"#), None);
    }

    #[tokio::test]
    async fn a_lagging_stream_says_how_many_it_missed() {
        let hub = hub();
        let mut slow = hub.stream();
        for _ in 0..EVENT_CAPACITY + 10 {
            hub.emit(EventSource::Sdk, StreamingEvent::UserStart);
        }
        assert_eq!(slow.next().await, Some(Err(Lagged(10))));
        let next = slow.next().await.unwrap().unwrap();
        assert_eq!(next.seq, 11);
    }

    #[tokio::test]
    async fn listeners_see_their_events_in_order_until_removed() {
        let hub = hub();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let id = hub.on("user_stop".into(), move |event| {
            let _ = tx.send(event.seq);
        });
        hub.emit(EventSource::ChatSocket, StreamingEvent::UserStart);
        hub.emit(EventSource::ChatSocket, StreamingEvent::UserStop);
        hub.emit(EventSource::ChatSocket, StreamingEvent::UserStop);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert!(hub.off(id));
        assert!(!hub.off(id));
        hub.emit(EventSource::ChatSocket, StreamingEvent::UserStop);
        assert_eq!(rx.recv().await, None, "the listener's task ended");
    }
}
