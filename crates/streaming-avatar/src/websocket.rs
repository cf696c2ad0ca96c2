//! Dialling a WebSocket the way both of the SDK's sockets (signalling, chat) want it: no Nagle
//! delay (as browsers), a cap on message size, and the client's TLS roots for `wss://`.

use std::sync::Arc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `url`; messages and frames over `max_bytes` are refused by the reader.
pub(crate) async fn dial(
    url: &str,
    max_bytes: usize,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_bytes))
        .max_frame_size(Some(max_bytes));
    let connector = tls.map(tokio_tungstenite::Connector::Rustls);
    let (socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector)
            .await?;
    Ok(socket)
}
