//! The chat WebSocket `/v1/ws/streaming.chat` (`heygen-api.md` §8), owned by one task: binary
//! `pipecat.Frame`s out (text to speak, the user's audio), JSON events in (`user_start`,
//! `user_stop`, `user_silence`), closed when the session stops.

use crate::Error;
use crate::events::{EventHub, EventSource, StreamingEvent};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use understudy_proto::hops;
use understudy_proto::pipecat::{Frame, FrameKind, TextFrame};

/// Frames queued for the socket: about two seconds of the SDK's audio (31 frames a second).
/// Senders wait when it is full, which paces a source that runs ahead.
pub const OUTGOING_CAPACITY: usize = 64;
/// The largest server message accepted; events are a few hundred bytes.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Where the chat socket is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChatSocketUrl {
    /// The base path's scheme (`http` -> `ws`, `https` -> `wss`), host and port. For
    /// `https://api.heygen.com` this is exactly what the official SDK dials.
    #[default]
    FromBasePath,
    /// What the official SDK 2.x builds: `wss://` + the base path's host name, port dropped
    /// (so port 443), whatever the base path's scheme and port.
    Official,
    /// This URL (`ws://` or `wss://`, with or without the path); the query is added.
    Custom(String),
}

/// What the socket's query says (`heygen-api.md` §8.1, SDK 2.1.0's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatSocketQuery {
    pub session_id: String,
    pub session_token: String,
    /// `arch_version=v2`: the LiveKit voice transport.
    pub livekit_transport: bool,
    pub silence_response: bool,
    pub push_to_talk: bool,
}

impl ChatSocketUrl {
    pub(crate) fn resolve(
        &self,
        base_path: &str,
        query: &ChatSocketQuery,
    ) -> Result<url::Url, Error> {
        let base = url::Url::parse(base_path)
            .map_err(|e| Error::Config(format!("base path {base_path:?}: {e}")))?;
        let mut url = match self {
            Self::FromBasePath => {
                let mut url = base.clone();
                let scheme = if base.scheme() == "https" {
                    "wss"
                } else {
                    "ws"
                };
                url.set_scheme(scheme)
                    .map_err(|()| Error::Config("chat socket scheme".into()))?;
                url.set_path("/v1/ws/streaming.chat");
                url
            }
            Self::Official => {
                let host = base
                    .host_str()
                    .ok_or_else(|| Error::Config(format!("base path {base_path:?} has no host")))?;
                url::Url::parse(&format!("wss://{host}/v1/ws/streaming.chat"))
                    .map_err(|e| Error::Config(e.to_string()))?
            }
            Self::Custom(custom) => {
                let mut url = url::Url::parse(custom)
                    .map_err(|e| Error::Config(format!("chat socket url {custom:?}: {e}")))?;
                if !matches!(url.scheme(), "ws" | "wss") {
                    return Err(Error::Config(format!(
                        "chat socket url {custom:?} is not ws or wss"
                    )));
                }
                if url.path().trim_end_matches('/').is_empty() {
                    url.set_path("/v1/ws/streaming.chat");
                }
                url
            }
        };
        url.set_query(None);
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("session_id", &query.session_id)
                .append_pair("session_token", &query.session_token);
            if query.livekit_transport {
                pairs.append_pair("arch_version", "v2");
            }
            pairs
                .append_pair("silence_response", bool_str(query.silence_response))
                .append_pair("push_to_talk", bool_str(query.push_to_talk));
        }
        Ok(url)
    }
}

fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// The open socket: a handle to the task that owns it.
#[derive(Debug)]
pub(crate) struct ChatSocket {
    outgoing: mpsc::Sender<Vec<u8>>,
    closed: watch::Receiver<Option<String>>,
}

impl ChatSocket {
    /// Opens the socket and starts its task; events go to `events`.
    pub(crate) async fn open(
        url: url::Url,
        tls: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
        events: EventHub,
        tasks: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Self, Error> {
        let dial = crate::websocket::dial(url.as_str(), MAX_MESSAGE_BYTES, tls);
        let socket = tokio::time::timeout(timeout, dial)
            .await
            .map_err(|_| Error::Timeout("the chat socket to open"))?
            .map_err(|e| Error::ChatSocket(describe_refusal(e)))?;
        let (outgoing, frames) = mpsc::channel(OUTGOING_CAPACITY);
        let (closed_tx, closed) = watch::channel(None);
        tasks.spawn(run(socket, frames, events, stop, closed_tx));
        Ok(Self { outgoing, closed })
    }

    /// Sends text for the avatar to answer, as SDK 2.x's `speak` does for TALK + ASYNC.
    pub(crate) async fn send_text(&self, text: &str) -> Result<(), Error> {
        let frame = Frame {
            frame: Some(FrameKind::Text(TextFrame {
                text: text.to_owned(),
                ..Default::default()
            })),
        };
        self.send_frame(frame.encode_to_vec()).await
    }

    /// A sender for a task that streams frames (voice chat).
    pub(crate) fn outgoing(&self) -> mpsc::Sender<Vec<u8>> {
        self.outgoing.clone()
    }

    /// Queues one encoded frame; waits while the queue is full.
    pub(crate) async fn send_frame(&self, frame: Vec<u8>) -> Result<(), Error> {
        if let Some(why) = self.closed.borrow().clone() {
            return Err(Error::ChatSocket(why));
        }
        self.outgoing.send(frame).await.map_err(|_| {
            Error::ChatSocket(
                self.closed
                    .borrow()
                    .clone()
                    .unwrap_or_else(|| "closed".into()),
            )
        })
    }

    /// Why the socket closed, once it has.
    pub(crate) fn closed(&self) -> Option<String> {
        self.closed.borrow().clone()
    }
}

/// HeyGen refuses a socket with an HTTP error whose body says why; say the status at least.
fn describe_refusal(error: tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match error {
        WsError::Http(response) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            format!("refused with HTTP {}: {body}", response.status())
        }
        other => other.to_string(),
    }
}

async fn run(
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut frames: mpsc::Receiver<Vec<u8>>,
    events: EventHub,
    stop: CancellationToken,
    closed: watch::Sender<Option<String>>,
) {
    let (mut sink, mut stream) = socket.split();
    let why = loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                break "the session stopped".to_owned();
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    match StreamingEvent::from_chat_socket(&text) {
                        Some(event) => events.emit_at(at, EventSource::ChatSocket, event),
                        None => tracing::debug!("dropped a chat-socket frame that is not an event"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame.map_or_else(
                        || "the server closed the socket".to_owned(),
                        |f| format!("the server closed the socket ({}): {}", u16::from(f.code), f.reason),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("the socket failed: {e}"),
                None => break "the socket ended".to_owned(),
            },
            Some(frame) = frames.recv() => {
                if let Err(e) = sink.send(Message::Binary(frame.into())).await {
                    break format!("could not send: {e}");
                }
                tracing::trace!(target: hops::TARGET, hop = hops::SDK_SOCKET_WRITTEN);
            }
        }
    };
    tracing::debug!(%why, "chat socket closed");
    closed.send_replace(Some(why));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> ChatSocketQuery {
        ChatSocketQuery {
            session_id: "s1".into(),
            session_token: "tok".into(),
            livekit_transport: true,
            silence_response: false,
            push_to_talk: true,
        }
    }

    #[test]
    fn urls_follow_the_base_path_or_the_official_sdk() {
        let from_base = ChatSocketUrl::FromBasePath
            .resolve("http://127.0.0.1:8080", &query())
            .unwrap();
        assert_eq!(
            from_base.as_str(),
            "ws://127.0.0.1:8080/v1/ws/streaming.chat?session_id=s1&session_token=tok&arch_version=v2&silence_response=false&push_to_talk=true"
        );
        let official = ChatSocketUrl::Official
            .resolve("http://localhost:8080/api", &query())
            .unwrap();
        assert!(
            official
                .as_str()
                .starts_with("wss://localhost/v1/ws/streaming.chat?")
        );
        let heygen = ChatSocketUrl::FromBasePath
            .resolve("https://api.heygen.com", &query())
            .unwrap();
        assert!(
            heygen
                .as_str()
                .starts_with("wss://api.heygen.com/v1/ws/streaming.chat?")
        );
        let custom = ChatSocketUrl::Custom("wss://127.0.0.1:8443".into())
            .resolve("http://x", &query())
            .unwrap();
        assert!(
            custom
                .as_str()
                .starts_with("wss://127.0.0.1:8443/v1/ws/streaming.chat?")
        );
        assert!(
            ChatSocketUrl::Custom("http://x".into())
                .resolve("http://x", &query())
                .is_err()
        );
    }
}
