//! The recording proxy: the client's `basePath` points here. REST is forwarded to the upstream
//! as it came and answered as the upstream answered; the chat socket is relayed frame by frame;
//! the room, which the client joins at the upstream's LiveKit URL directly, is watched by an
//! observer that joins with the session's agent token once `streaming.start` succeeded.
//!
//! Why an observer rather than relaying signalling: the room's events travel inside DTLS on the
//! WebRTC connection between the client and the LiveKit server, which a signalling relay never
//! sees; a second participant receives the same data packets (LiveKit delivers data to every
//! participant) without touching the client's connection.

use super::Recording;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use streaming_avatar::{SessionOptions, StreamingAvatar};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The largest body relayed: the mock's own limit.
const MAX_BODY: usize = 1024 * 1024;

/// Headers that belong to one hop, not to the exchange.
const HOP_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

#[derive(Clone)]
pub(super) struct Proxy {
    pub upstream: String,
    pub http: reqwest::Client,
    pub recording: Arc<Mutex<Recording>>,
    pub tasks: TaskTracker,
    pub stop: CancellationToken,
}

pub(super) fn router(proxy: Proxy) -> Router {
    Router::new()
        .route("/v1/ws/streaming.chat", axum::routing::get(chat_socket))
        .fallback(forward)
        .with_state(proxy)
}

fn kept_headers(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&HeaderName, &axum::http::HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !HOP_HEADERS.contains(&name.as_str()))
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB").into_response();
    };
    let url = upstream_url(&proxy.upstream, &parts.uri, false);
    let mut outgoing = proxy.http.request(parts.method.clone(), &url);
    for (name, value) in kept_headers(&parts.headers) {
        outgoing = outgoing.header(name, value);
    }
    let sent_at = Instant::now();
    let answer = match outgoing.body(body.clone()).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("upstream {url}: {e}")).into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let request_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path = parts.uri.path().to_owned();
    proxy
        .recording
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .rest(
            sent_at,
            &parts.method,
            &path,
            &parts.headers,
            request_body,
            status.as_u16(),
            &reply,
        );
    // The client's own start, not the browser's CORS preflight for it (which also answers 200
    // and would send the observer into a room whose session has not started).
    if parts.method == axum::http::Method::POST
        && path == "/v1/streaming.start"
        && status.is_success()
    {
        observe(&proxy);
    }
    let mut response = Response::builder().status(status.as_u16());
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| !HOP_HEADERS.contains(&n.as_str()))
    {
        response = response.header(name, value);
    }
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

fn upstream_url(upstream: &str, uri: &Uri, websocket: bool) -> String {
    let base = upstream.trim_end_matches('/');
    let base = if websocket {
        base.replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    } else {
        base.to_owned()
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{base}{}{query}", uri.path())
}

/// Joins the room of the session just started as an observer, recording its events.
fn observe(proxy: &Proxy) {
    let (info, key) = {
        let recording = proxy.recording.lock().unwrap_or_else(|p| p.into_inner());
        (recording.session.clone(), recording.observer_credential())
    };
    let Some(mut info) = info else {
        return;
    };
    let Some(token) = info
        .livekit_agent_token
        .clone()
        .or_else(|| info.access_token.clone())
    else {
        return;
    };
    info.access_token = Some(token);
    let recording = Arc::clone(&proxy.recording);
    let (upstream, stop) = (proxy.upstream.clone(), proxy.stop.clone());
    proxy.tasks.spawn(async move {
        let client = match key {
            Some(key) => StreamingAvatar::builder()
                .base_path(&upstream)
                .token(key)
                .build(),
            None => StreamingAvatar::builder()
                .base_path(&upstream)
                .api_key("observer")
                .build(),
        };
        let Ok(client) = client else {
            return;
        };
        let mut session = client.attach_session(info, SessionOptions::default().chat_socket(None));
        let mut events = session.events();
        if let Err(e) = session.connect().await {
            tracing::warn!(%e, "the recording observer could not join the room");
            // Leave, never drop: dropping an SDK session stops it, for the client too.
            session.leave().await;
            return;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        let ended = event.event.name() == "stream_disconnected";
                        recording.lock().unwrap_or_else(|p| p.into_inner()).event(&event);
                        if ended {
                            break;
                        }
                    }
                    Some(Err(_lagged)) => {}
                    None => break,
                },
            }
        }
        // Leave quietly: the observer must not stop the client's session.
        session.leave().await;
    });
}

async fn chat_socket(State(proxy): State<Proxy>, uri: Uri, upgrade: WebSocketUpgrade) -> Response {
    let url = upstream_url(&proxy.upstream, &uri, true);
    proxy
        .recording
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .chat_socket_opened(uri.query());
    upgrade.on_upgrade(move |client| relay(proxy, client, url))
}

/// Relays one chat socket both ways until either side closes.
async fn relay(proxy: Proxy, mut client: WebSocket, url: String) {
    let upstream = match tokio_tungstenite::connect_async(&url).await {
        Ok((socket, _)) => socket,
        Err(e) => {
            tracing::warn!(%url, %e, "the upstream refused the chat socket");
            let _ = client.send(AxumMessage::Close(None)).await;
            return;
        }
    };
    let (mut up_tx, mut up_rx) = upstream.split();
    loop {
        tokio::select! {
            () = proxy.stop.cancelled() => break,
            from_client = client.recv() => match from_client {
                Some(Ok(message)) => {
                    let forward = match message {
                        AxumMessage::Binary(bytes) => {
                            proxy.recording.lock().unwrap_or_else(|p| p.into_inner()).client_frame(Instant::now(), &bytes);
                            WsMessage::Binary(bytes)
                        }
                        AxumMessage::Text(text) => WsMessage::Text(text.as_str().into()),
                        AxumMessage::Ping(p) => WsMessage::Ping(p),
                        AxumMessage::Pong(p) => WsMessage::Pong(p),
                        AxumMessage::Close(_) => break,
                    };
                    if up_tx.send(forward).await.is_err() {
                        break;
                    }
                }
                _ => break,
            },
            from_upstream = up_rx.next() => match from_upstream {
                Some(Ok(message)) => {
                    let forward = match message {
                        WsMessage::Text(text) => AxumMessage::Text(text.as_str().into()),
                        WsMessage::Binary(bytes) => AxumMessage::Binary(bytes),
                        WsMessage::Ping(p) => AxumMessage::Ping(p),
                        WsMessage::Pong(p) => AxumMessage::Pong(p),
                        WsMessage::Close(frame) => {
                            let frame = frame.map(|f| axum::extract::ws::CloseFrame {
                                code: f.code.into(),
                                reason: f.reason.as_str().into(),
                            });
                            let _ = client.send(AxumMessage::Close(frame)).await;
                            break;
                        }
                        WsMessage::Frame(_) => continue,
                    };
                    if client.send(forward).await.is_err() {
                        break;
                    }
                }
                _ => break,
            },
        }
    }
    let _ = up_tx.close().await;
}
