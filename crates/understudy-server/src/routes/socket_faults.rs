//! Fault rules on a server-owned WebSocket (the chat socket, the realtime endpoint): close it
//! with a code, drop it without a close frame, delay or drop what it sends. The socket's task
//! asks when it opens and whenever the rules change (`Faults::changes`).

use crate::faults::ChannelFault;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use std::collections::HashSet;
use std::time::Duration;

/// What fault rules have done to one socket so far.
#[derive(Debug)]
pub struct SocketFaults {
    /// `chat_socket` or `realtime`: the rules' `on`.
    channel: &'static str,
    /// Where fired faults are journaled.
    path: &'static str,
    seen: HashSet<u64>,
    delay: Option<Duration>,
    drop_events: bool,
}

impl SocketFaults {
    pub fn new(channel: &'static str, path: &'static str) -> Self {
        Self {
            channel,
            path,
            seen: HashSet::new(),
            delay: None,
            drop_events: false,
        }
    }

    /// Applies the rules that fire now; false when the socket must end (closed with the
    /// rule's frame, or dropped without one).
    pub async fn take(
        &mut self,
        state: &AppState,
        session_id: &str,
        socket: &mut WebSocket,
    ) -> bool {
        for fault in state.connection_faults(self.channel, self.path, session_id, &mut self.seen) {
            match fault {
                ChannelFault::Close(frame) => {
                    close(socket, frame.code, &frame.reason).await;
                    return false;
                }
                ChannelFault::Drop => return false,
                ChannelFault::DelayEvents(delay) => self.delay = Some(delay),
                ChannelFault::DropEvents => self.drop_events = true,
                // Room faults are never asked for a socket's channel.
                _ => {}
            }
        }
        true
    }

    /// Sends `text` as the rules allow (later, or not at all); false when the client is gone.
    pub async fn send(&self, socket: &mut WebSocket, text: String) -> bool {
        if self.drop_events {
            return true;
        }
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        socket.send(Message::Text(text.into())).await.is_ok()
    }
}

/// Sends a close frame; the client may already be gone.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
