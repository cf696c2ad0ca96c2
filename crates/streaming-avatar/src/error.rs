//! The SDK's one error type. HeyGen's answers stay inspectable (HTTP status, `code`, `message`,
//! raw body); transport and TLS details are boxed so no reqwest, tungstenite or webrtc type
//! leaks into the API; the room, the chat socket and voice have variants of their own.

use std::error::Error as StdError;

/// A non-success answer from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status (200 when a 2xx carried a non-100 `code`).
    pub status: u16,
    /// HeyGen's `code`, when the body had one.
    pub code: Option<i64>,
    /// HeyGen's `message`, when the body had one.
    pub message: Option<String>,
    /// The raw response body, as the official SDK's `APIError.responseText` keeps it.
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error.
    #[error("HeyGen answered HTTP {}: {} (code {})", .0.status, .0.message.as_deref().unwrap_or("no message"), .0.code.map_or("none".to_owned(), |c| c.to_string()))]
    Api(ApiFailure),
    /// The request never got an answer (DNS, connect, TLS, timeout).
    #[error("could not reach {url}")]
    Transport {
        url: String,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A 2xx answer whose body is not the envelope this call expects.
    #[error("unexpected response from {url} (HTTP {status}): {body}")]
    Decode {
        url: String,
        status: u16,
        body: String,
        #[source]
        source: serde_json::Error,
    },
    /// `create_token` on a client built with a session token instead of an API key.
    #[error("this call needs an API key; the client holds a session token")]
    ApiKeyRequired,
    /// The builder was given something unusable.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The LiveKit room could not be joined or used: signalling refused or broke, a message
    /// that is not LiveKit's protocol, or a WebRTC failure.
    #[error("room: {0}")]
    Room(String),
    /// The room ended: the server sent `leave`, the signalling socket closed, or pings went
    /// unanswered for the server's `ping_timeout`.
    #[error("the room was disconnected: {0}")]
    Disconnected(crate::events::DisconnectReason),
    /// The chat WebSocket (`/v1/ws/streaming.chat`) could not be opened or has closed.
    #[error("chat socket: {0}")]
    ChatSocket(String),
    /// Voice chat could not start or read its audio (an unreadable WAV, no transport).
    #[error("voice chat: {0}")]
    Voice(String),
    /// A call needs something the session does not have yet (or any more): the room, the chat
    /// socket, an active voice chat, push-to-talk enabled. Says which.
    #[error("{0}")]
    NotReady(&'static str),
    /// A wait for the server ran out of time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

impl Error {
    /// The API failure behind this error, if it is one.
    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            Error::Api(failure) => Some(failure),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        self.api().map(|f| f.status)
    }

    pub fn code(&self) -> Option<i64> {
        self.api().and_then(|f| f.code)
    }

    pub fn message(&self) -> Option<&str> {
        self.api().and_then(|f| f.message.as_deref())
    }

    pub fn body(&self) -> Option<&str> {
        self.api().map(|f| f.body.as_str())
    }

    /// HTTP 401: a bad, expired or reused token, or a refused API key.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// `10005`: the session has closed (stopped or timed out).
    pub fn is_session_closed(&self) -> bool {
        self.code() == Some(10005)
    }

    /// `10007`: the account's concurrent-session limit.
    pub fn is_concurrency_limit(&self) -> bool {
        self.code() == Some(10007)
    }

    /// Whether the room has ended under the session.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Error::Disconnected(_))
    }

    /// `10006` or `400004`: the session is unknown or gone.
    pub fn is_session_not_found(&self) -> bool {
        matches!(self.code(), Some(10006 | 400004))
    }
}
