//! A client of `/v1/ws/streaming.chat` for tests: opens the socket as the SDK does, sends
//! pipecat frames (text, and 16 kHz speech or silence as the SDK's 512-sample audio frames),
//! and reads the server's JSON events and close frame.

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::Value;
use std::time::Duration;
use streaming_avatar::voice;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use understudy_proto::pipecat::{AudioRawFrame, Frame, FrameKind};

use crate::TestEnv;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for any one thing on the socket.
pub const WAIT: Duration = Duration::from_secs(10);
/// The SDK's audio format (§8.2).
pub const SAMPLE_RATE: u32 = voice::SOCKET_SAMPLE_RATE;
pub const FRAME_SAMPLES: usize = voice::SOCKET_FRAME_SAMPLES;

impl TestEnv {
    /// The socket URL the SDK builds, with `extra` appended to the query.
    pub fn chat_url(&self, session_id: &str, token: &str, extra: &str) -> String {
        let base = self.server.uri().replace("http://", "ws://");
        format!(
            "{base}/v1/ws/streaming.chat?session_id={session_id}&session_token={token}&silence_response=false{extra}"
        )
    }
}

/// Opens the socket and checks the upgrade.
///
/// # Panics
/// When the upgrade fails or takes longer than [`WAIT`].
pub async fn connect(url: &str) -> Socket {
    // As browsers do: no Nagle delay on small frames.
    let (socket, response) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async_with_config(url, None, true),
    )
    .await
    .expect("in time")
    .expect("upgrade");
    assert_eq!(response.status(), 101);
    socket
}

/// `ms` of the SDK's audio: real speech ([`crate::speech`]), or zeros (what it sends while
/// muted).
pub fn audio_frames(ms: u64, speech: bool) -> Vec<Vec<u8>> {
    voice::socket_frames(&if speech {
        crate::speech::speech(ms, SAMPLE_RATE)
    } else {
        voice::zeros(Duration::from_millis(ms), SAMPLE_RATE)
    })
}

/// One encoded `AudioRawFrame`, with whatever fields a test wants.
pub fn audio_frame(audio: Vec<u8>, sample_rate: u32, num_channels: u32) -> Vec<u8> {
    Frame {
        frame: Some(FrameKind::Audio(AudioRawFrame {
            audio,
            sample_rate,
            num_channels,
            ..Default::default()
        })),
    }
    .encode_to_vec()
}

/// Sends binary frames in order.
///
/// # Panics
/// When the socket is closed.
pub async fn send_all(socket: &mut Socket, frames: impl IntoIterator<Item = Vec<u8>>) {
    for frame in frames {
        socket
            .send(Message::Binary(frame.into()))
            .await
            .expect("socket open");
    }
}

/// The next JSON event from the server, skipping pings.
///
/// # Panics
/// When none comes within [`WAIT`] or the socket ends first.
pub async fn next_event(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("an event in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// The close frame the server sends, skipping anything before it.
///
/// # Panics
/// When none comes within [`WAIT`].
pub async fn close_frame(socket: &mut Socket) -> CloseFrame {
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => return frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Round-trips a ping: every frame sent before it has been handled once the pong is back
/// (the server reads the socket in order).
///
/// # Panics
/// When the socket ends or no pong comes within [`WAIT`].
pub async fn round_trip(socket: &mut Socket) -> Vec<Value> {
    socket
        .send(Message::Ping(b"sync".to_vec().into()))
        .await
        .expect("socket open");
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Pong(payload))) if &payload[..] == b"sync" => return events,
            Some(Ok(Message::Text(text))) => {
                events.push(serde_json::from_str(&text).expect("JSON"))
            }
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}
