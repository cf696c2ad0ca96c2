//! The `/rtc` signalling WebSocket (`livekit.md` §1.1, §2): binary protobuf `SignalRequest` in,
//! `SignalResponse` out. One task owns the socket and the viewer's peer connection.
//!
//! Join: JoinResponse first (the avatar with its two tracks, subscriber-primary), then the
//! subscriber offer, its candidates trickled after it. Then answers, trickle, ping/pong; and for
//! clients that publish (HeyGen's LiveKit voice transport, `livekit.md` §2.9): answers to
//! publisher offers (their candidates trickled too), `trackPublished` for `addTrack`, mute, and
//! their data packets and microphone, which go to [`crate::voice`]. A join with an identity
//! already in the room replaces the earlier connection, which gets `leave{DUPLICATE_IDENTITY}`,
//! as on a LiveKit server (unless `allow_duplicate_identity`). When the session ends:
//! `leave{ROOM_DELETED}`. Resumes (`reconnect=1`) are refused, so an ended session ends the
//! client at once instead of after 45 s of retries.
//!
//! A LiveAvatar session's room differs where `liveavatar.md` §3 says: FULL adds the agent
//! participant, reads the client's packets as `agent-control` commands (answering push-to-talk
//! on `agent-response`) and says `session.stopped` before the room goes; LITE's room carries no
//! events.

use super::RoomNames;
use super::peer::{
    AvatarChannels, AvatarPeer, DtlsSetup, PEER_EVENT_CAPACITY, PeerError, PeerEvent, TrackNames,
};
use super::publisher::{ClientPublisher, FROM_CLIENT_CAPACITY, FromClient, MIC_SAMPLE_RATE};
use super::stage::{self, EventWire};
use crate::config::OfferDtlsRole;
use crate::faults::ChannelFault;
use crate::liveavatar::agent::{self, AgentNarration};
use crate::livekit_token::{self, LiveKitClaims};
use crate::session::{CloseReason, MAX_CLIENTS_PER_DOOR, RoomMember};
use crate::state::AppState;
use crate::state::Door;
use crate::voice::{self, ClientMessage, listener::Listener};
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livekit_protocol as lk;
use prost::Message as _;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use understudy_proto::faults::{Quality, ROOM};
use understudy_proto::hops;
use understudy_proto::liveavatar::{
    AgentCommand, AgentEvent, AgentEventKind, COMMAND_TOPIC, SessionMode,
};
use understudy_proto::rest::session::VideoEncoding;

/// What the server claims to be: livekit-server 1.8.x, protocol 15 (`livekit.md` §5).
const SERVER_VERSION: &str = "1.8.4";
const SERVER_PROTOCOL: i32 = 15;
/// Seconds; what the real server sends.
const PING_INTERVAL: i32 = 5;
const PING_TIMEOUT: i32 = 15;
/// The largest signalling message accepted; SDPs are a few KiB.
const MAX_SIGNAL_BYTES: usize = 256 * 1024;
/// `SignalTarget.PUBLISHER`.
const TARGET_PUBLISHER: i32 = 0;
/// `SignalTarget.SUBSCRIBER`.
const TARGET_SUBSCRIBER: i32 = 1;

/// Local candidates waiting to be trickled: one per local address (on loopback, one).
const LOCAL_CANDIDATES: usize = 16;

/// `GET /rtc?access_token=…` (or with `Authorization: Bearer`): checks the token and the
/// session, then upgrades.
pub async fn rtc(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let refuse = |why: &str| (StatusCode::UNAUTHORIZED, why.to_owned()).into_response();
    let token = match livekit_token::from_request(&headers, &query) {
        Ok(token) => token,
        Err(why) => return refuse(why),
    };
    let claims = match livekit_token::verify(state.livekit_secret(), token) {
        Ok(claims) => claims,
        Err(e) => return refuse(&format!("invalid token: {e}")),
    };
    if query.get("reconnect").is_some_and(|r| r == "1") {
        return refuse("resuming a connection is not supported; join again");
    }
    let room = {
        let registry = state.registry();
        let session = registry.session(&claims.video.room);
        if let Err(why) = super::may_join(session.map(|s| s.state)) {
            return refuse(why);
        }
        match session {
            Some(s) => Room {
                ended: s.ended.clone(),
                encoding: s.settings.video_encoding,
                liveavatar: s.liveavatar.as_ref().map(|la| la.mode),
                dtls: offer_dtls_setup(state.config().offer_dtls_role, &query),
            },
            None => return refuse("requested room has ended"),
        }
    };
    if !state.has_room(&claims.video.room, Door::Room) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            format!("the room holds at most {MAX_CLIENTS_PER_DOOR} clients at once"),
        )
            .into_response();
    }
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_SIGNAL_BYTES)
            .on_upgrade(move |socket| serve(socket, state, claims, room))
            .into_response(),
        Err(rejection) => (StatusCode::BAD_REQUEST, rejection.to_string()).into_response(),
    }
}

/// What a joining client needs to know of its session's room.
struct Room {
    ended: CancellationToken,
    encoding: VideoEncoding,
    /// A LiveAvatar session's mode; `None` for the Streaming API's.
    liveavatar: Option<SessionMode>,
    /// The DTLS role the offer asks this client for.
    dtls: DtlsSetup,
}

/// The DTLS role to offer a client that joined with `query` (livekit-client says `sdk=js`):
/// see [`OfferDtlsRole`].
fn offer_dtls_setup(role: OfferDtlsRole, query: &HashMap<String, String>) -> DtlsSetup {
    let browser = query.get("sdk").is_some_and(|sdk| sdk == "js");
    DtlsSetup::for_client(role, browser)
}

impl Room {
    /// FULL has LiveAvatar's agent in the room beside the avatar.
    fn agent_identity(&self, session_id: &str) -> Option<String> {
        (self.liveavatar == Some(SessionMode::Full))
            .then(|| understudy_proto::liveavatar::agent_identity(session_id))
    }

    /// How this room's events are told.
    fn event_wire(&self, session_id: &str, avatar_identity: &str) -> EventWire {
        match self.liveavatar {
            None => EventWire::LiveKit {
                identity: avatar_identity.to_owned(),
            },
            Some(SessionMode::Full) => EventWire::LiveAvatar {
                identity: understudy_proto::liveavatar::agent_identity(session_id),
                narration: AgentNarration::new(session_id),
            },
            Some(SessionMode::Lite) => EventWire::Quiet,
        }
    }
}

async fn send(socket: &mut WebSocket, message: lk::signal_response::Message) -> bool {
    let bytes = lk::SignalResponse {
        message: Some(message),
    }
    .encode_to_vec();
    socket.send(Message::Binary(bytes.into())).await.is_ok()
}

/// One of the server's candidates (`RTCIceCandidate.toJSON()` JSON) for the `target` connection.
async fn send_trickle(socket: &mut WebSocket, candidate_init: String, target: i32) -> bool {
    let trickle = lk::TrickleRequest {
        candidate_init,
        target,
        r#final: false,
    };
    send(socket, lk::signal_response::Message::Trickle(trickle)).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn join_response(
    names: &RoomNames,
    claims: &LiveKitClaims,
    client_sid: &str,
    encoding: VideoEncoding,
) -> lk::JoinResponse {
    let video_mime = match encoding {
        VideoEncoding::H264 => "video/H264",
        VideoEncoding::VP8 => "video/VP8",
    };
    let track =
        |sid: &str, kind: lk::TrackType, source: lk::TrackSource, mime: &str| lk::TrackInfo {
            sid: sid.to_owned(),
            r#type: kind as i32,
            source: source as i32,
            mime_type: mime.to_owned(),
            stream: "camera".to_owned(),
            ..Default::default()
        };
    let permission = lk::ParticipantPermission {
        can_subscribe: claims.video.can_subscribe,
        can_publish: claims.video.can_publish,
        can_publish_data: claims.video.can_publish_data,
        ..Default::default()
    };
    lk::JoinResponse {
        room: Some(lk::Room {
            sid: names.room_sid.clone(),
            name: claims.video.room.clone(),
            ..Default::default()
        }),
        participant: Some(lk::ParticipantInfo {
            sid: client_sid.to_owned(),
            identity: claims.sub.clone(),
            name: claims.name.clone(),
            state: lk::participant_info::State::Active as i32,
            permission: Some(permission),
            ..Default::default()
        }),
        other_participants: vec![lk::ParticipantInfo {
            sid: names.avatar_sid.clone(),
            identity: names.avatar_identity.clone(),
            name: names.avatar_identity.clone(),
            state: lk::participant_info::State::Active as i32,
            is_publisher: true,
            tracks: vec![
                track(
                    &names.video_sid,
                    lk::TrackType::Video,
                    lk::TrackSource::Camera,
                    video_mime,
                ),
                track(
                    &names.audio_sid,
                    lk::TrackType::Audio,
                    lk::TrackSource::Microphone,
                    "audio/opus",
                ),
            ],
            ..Default::default()
        }],
        server_version: SERVER_VERSION.to_owned(),
        server_info: Some(lk::ServerInfo {
            version: SERVER_VERSION.to_owned(),
            protocol: SERVER_PROTOCOL,
            ..Default::default()
        }),
        subscriber_primary: true,
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        ..Default::default()
    }
}

/// Owns the socket and the peer until the client leaves or the session ends.
async fn serve(mut socket: WebSocket, state: AppState, claims: LiveKitClaims, room: Room) {
    let (ended, encoding) = (room.ended.clone(), room.encoding);
    let session_id = claims.video.room.clone();
    // Counted while this task runs; a race past the check before the upgrade ends here.
    let Some(_admitted) = state.admit(&session_id, Door::Room) else {
        leave(&mut socket, lk::DisconnectReason::JoinFailure).await;
        return;
    };
    let names = RoomNames::for_session(&session_id);
    let client_sid = crate::ids::participant_sid();
    // In the room from here (the guard leaves it on every way out), told of who else is.
    let me = RoomMember {
        sid: client_sid.clone(),
        identity: claims.sub.clone(),
        name: claims.name.clone(),
    };
    let Some((others, room_changes)) = state
        .registry()
        .session_mut(&session_id)
        .map(|s| s.enter_room(me))
    else {
        leave(&mut socket, lk::DisconnectReason::RoomDeleted).await;
        return;
    };
    let _present = Presence {
        state: state.clone(),
        session_id: session_id.clone(),
        sid: client_sid.clone(),
    };
    let mut room_changes = Some(room_changes);
    let replaces = !state.config().allow_duplicate_identity;
    let my_identity = claims.sub.clone();
    // A member this join replaces is on its way out: the newcomer is not told of it.
    let same_identity = |m: &RoomMember| replaces && m.identity == my_identity;
    let mut join = join_response(&names, &claims, &client_sid, encoding);
    let agent = room.agent_identity(&session_id);
    if let Some(identity) = &agent {
        join.other_participants.push(lk::ParticipantInfo {
            sid: format!("PA_agent{}", &names.avatar_sid["PA_avatar".len()..]),
            identity: identity.clone(),
            name: identity.clone(),
            state: lk::participant_info::State::Active as i32,
            ..Default::default()
        });
    }
    join.other_participants.extend(
        others
            .iter()
            .filter(|m| !same_identity(m))
            .map(|m| member_info(m, true)),
    );
    if !send(&mut socket, lk::signal_response::Message::Join(join)).await {
        return;
    }
    let (events_tx, mut events) = mpsc::channel(PEER_EVENT_CAPACITY);
    let (candidates_tx, mut candidates) = mpsc::channel(LOCAL_CANDIDATES);
    let tracks = TrackNames {
        stream_id: names.stream_id(),
        video_sid: names.video_sid.clone(),
        audio_sid: names.audio_sid.clone(),
        video_encoding: encoding,
    };
    // The session is connected the moment the peer is: before its data channels open, so a
    // client that waits for `_reliable` never speaks to a session still `connecting`.
    let on_connected = {
        let (state, session_id) = (state.clone(), session_id.clone());
        Box::new(move || state.mark_connected(&session_id))
    };
    let peer = match AvatarPeer::new(
        &tracks,
        AvatarChannels::LiveKit,
        Some(candidates_tx),
        events_tx,
        on_connected,
        &state.tracker(),
    )
    .await
    {
        Ok(peer) => Arc::new(peer),
        Err(e) => {
            tracing::error!(%session_id, %e, "could not build the avatar peer");
            leave(&mut socket, lk::DisconnectReason::JoinFailure).await;
            return;
        }
    };
    match peer.offer(room.dtls).await {
        Ok(sdp) => {
            let offer = lk::SessionDescription {
                r#type: "offer".into(),
                sdp,
                ..Default::default()
            };
            send(&mut socket, lk::signal_response::Message::Offer(offer)).await;
        }
        Err(e) => tracing::error!(%session_id, %e, "could not create the offer"),
    }

    let (from_client_tx, mut from_client) = mpsc::channel(FROM_CLIENT_CAPACITY);
    let (publisher_candidates_tx, mut publisher_candidates) = mpsc::channel(LOCAL_CANDIDATES);
    let mut client = ClientSide {
        listener: Listener::new(state.clone(), session_id.clone()),
        state: state.clone(),
        session_id: session_id.clone(),
        publisher: None,
        from_client: from_client_tx,
        publisher_candidates: publisher_candidates_tx,
        published_tracks: 0,
        liveavatar: room.liveavatar.is_some(),
    };
    let stage_stop = ended.child_token();
    let mut faults = RoomFaults {
        seen: HashSet::new(),
        client_sid,
        media_killed: false,
        client_quality: Quality::Excellent,
    };
    let mut fault_changes = state.faults().changes();
    // The stage says when the avatar starts and stops talking; the client hears it as a
    // LiveKit server would say it, `SpeakersChanged` (livekit-client's ActiveSpeakersChanged).
    let (speakers_tx, mut speakers) = mpsc::channel(SPEAKER_UPDATES);
    // A LiveKit server scores connection quality every few seconds and tells each client of
    // the new participants' and the changed ones': here, the first tick reports the client and
    // the avatar, and nothing changes after that but by a fault rule, which says so itself.
    let quality_due = tokio::time::sleep(QUALITY_INTERVAL);
    tokio::pin!(quality_due);
    let mut quality_told = false;
    let mut go_on = faults
        .take(&state, &session_id, &mut socket, &peer, &stage_stop)
        .await;
    while go_on {
        tokio::select! {
            changed = fault_changes.changed() => {
                go_on = changed.is_ok()
                    && faults.take(&state, &session_id, &mut socket, &peer, &stage_stop).await;
            }
            () = ended.cancelled() => {
                // LiveAvatar FULL says so on its channel first (`session.stopped`).
                // The web SDK leaves when told; the room goes after a moment either way, so the
                // client hears why before it is kicked.
                if let Some(identity) = &agent {
                    if stopped(&state, &session_id, identity, &peer).await {
                        let _ = tokio::time::timeout(STOPPED_GRACE, client_leaves(&mut socket)).await;
                    }
                }
                // Stop and timeouts delete the room; a server going away says so.
                let reason = match state.close_reason(&session_id) {
                    Some(CloseReason::Stopped | CloseReason::IdleTimeout | CloseReason::DurationLimit) => {
                        lk::DisconnectReason::RoomDeleted
                    }
                    Some(CloseReason::ServerReset) | None => lk::DisconnectReason::ServerShutdown,
                };
                leave(&mut socket, reason).await;
                break;
            }
            // A fault killed the media: the peer's end is expected, the signalling goes on.
            event = events.recv(), if !faults.media_killed => match event {
                Some(PeerEvent::Connected) => {
                    state.mark_connected(&session_id);
                    let wire = room.event_wire(&session_id, &names.avatar_identity);
                    state.spawn(stage::run(Arc::clone(&peer), state.clone(), session_id.clone(), wire, speakers_tx.clone(), stage_stop.clone()));
                }
                Some(PeerEvent::Gone) | None => break,
            },
            Some(sent) = from_client.recv() => {
                if let (Some(ack), Some(identity)) = (client.receive(sent), &agent) {
                    send_agent_event(&peer, identity, &ack).await;
                }
            }
            change = async {
                match room_changes.as_mut() {
                    Some(changes) => changes.recv().await,
                    None => std::future::pending().await,
                }
            } => match change {
                // A newer connection with this identity: it replaces this one.
                Ok((member, true)) if member.sid != faults.client_sid && same_identity(&member) => {
                    leave(&mut socket, lk::DisconnectReason::DuplicateIdentity).await;
                    break;
                }
                // Another connection of this identity leaving: not a participant this client
                // knows of (it replaced it, or is being replaced).
                Ok((member, false)) if same_identity(&member) => {}
                Ok((member, joined)) if member.sid != faults.client_sid => {
                    let update = lk::ParticipantUpdate { participants: vec![member_info(&member, joined)] };
                    go_on = send(&mut socket, lk::signal_response::Message::Update(update)).await;
                }
                // Its own join, or changes it fell behind on.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                // The session is gone; its end arrives through `ended`.
                Err(broadcast::error::RecvError::Closed) => room_changes = None,
            },
            Some(candidate_init) = candidates.recv() => {
                go_on = send_trickle(&mut socket, candidate_init, TARGET_SUBSCRIBER).await;
            }
            // Queued while the answer was made, so they follow it on the socket.
            Some(candidate_init) = publisher_candidates.recv() => {
                go_on = send_trickle(&mut socket, candidate_init, TARGET_PUBLISHER).await;
            }
            () = &mut quality_due, if !quality_told => {
                quality_told = true;
                let update = lk::ConnectionQualityUpdate {
                    updates: vec![
                        quality_info(&faults.client_sid, faults.client_quality),
                        quality_info(&names.avatar_sid, Quality::Excellent),
                    ],
                };
                go_on = send(&mut socket, lk::signal_response::Message::ConnectionQuality(update)).await;
            }
            Some(talking) = speakers.recv() => {
                let update = lk::SpeakersChanged {
                    speakers: vec![lk::SpeakerInfo {
                        sid: names.avatar_sid.clone(),
                        level: if talking { SPEAKING_LEVEL } else { 0.0 },
                        active: talking,
                    }],
                };
                go_on = send(&mut socket, lk::signal_response::Message::SpeakersChanged(update)).await;
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if !client.handle_request(&mut socket, &peer, &bytes).await {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    stage_stop.cancel();
    client.close().await;
    peer.close().await;
    tracing::debug!(%session_id, "viewer left the room");
}

/// How long a LiveAvatar FULL client has to leave after `session.stopped` before the room
/// deletes it.
const STOPPED_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Returns when the client leaves or its socket ends.
async fn client_leaves(socket: &mut WebSocket) {
    use lk::signal_request::Message as Req;
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Binary(bytes) => {
                if let Ok(lk::SignalRequest {
                    message: Some(Req::Leave(_)),
                }) = lk::SignalRequest::decode(&bytes[..])
                {
                    return;
                }
            }
            Message::Close(_) => return,
            _ => {}
        }
    }
}

/// Tells a LiveAvatar FULL client the session ended, and why (`session.stopped`); whether it
/// went out.
async fn stopped(state: &AppState, session_id: &str, identity: &str, peer: &AvatarPeer) -> bool {
    let reason = {
        let registry = state.registry();
        registry.session(session_id).and_then(|s| {
            let la = s.liveavatar.as_ref()?;
            Some(la.end_reason(s.close_reason?))
        })
    };
    let Some(reason) = reason else { return false };
    let event = agent::event_for(
        session_id,
        None,
        AgentEventKind::SessionStopped {
            stop_reason: reason,
            end_reason: reason,
        },
    );
    send_agent_event(peer, identity, &event).await
}

/// Sends a LiveAvatar event on the peer's `_reliable`; whether it went out.
async fn send_agent_event(peer: &AvatarPeer, identity: &str, event: &AgentEvent) -> bool {
    if !peer.is_reliable_open() {
        return false;
    }
    let Some(bytes) = stage::agent_packet(identity, event) else {
        return false;
    };
    match peer.send_reliable(&bytes).await {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(%e, "LiveAvatar event not delivered");
            false
        }
    }
}

/// A client in the room, as a LiveKit server describes a participant to the others: active
/// when it joins, disconnected when it leaves (livekit-client drops it then).
fn member_info(member: &RoomMember, joined: bool) -> lk::ParticipantInfo {
    lk::ParticipantInfo {
        sid: member.sid.clone(),
        identity: member.identity.clone(),
        name: member.name.clone(),
        state: if joined {
            lk::participant_info::State::Active
        } else {
            lk::participant_info::State::Disconnected
        } as i32,
        ..Default::default()
    }
}

/// A client's place in its session's room, left when the connection's task ends.
struct Presence {
    state: AppState,
    session_id: String,
    sid: String,
}

impl Drop for Presence {
    fn drop(&mut self) {
        if let Some(session) = self.state.registry().session_mut(&self.session_id) {
            session.leave_room(&self.sid);
        }
    }
}

/// Talking changes the signalling may fall behind by before older ones are dropped.
const SPEAKER_UPDATES: usize = 16;
/// The audio level a talking avatar is reported at (0 to 1).
const SPEAKING_LEVEL: f32 = 0.6;

/// How often a LiveKit server scores connection quality (`connectionquality.UpdateInterval`).
const QUALITY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A participant's connection quality as LiveKit reports it, with its score (a MOS, 1 to 5;
/// 0 when lost).
fn quality_info(participant_sid: &str, quality: Quality) -> lk::ConnectionQualityInfo {
    let (quality, score) = match quality {
        Quality::Excellent => (lk::ConnectionQuality::Excellent, 5.0),
        Quality::Good => (lk::ConnectionQuality::Good, 3.5),
        Quality::Poor => (lk::ConnectionQuality::Poor, 2.0),
        Quality::Lost => (lk::ConnectionQuality::Lost, 0.0),
    };
    lk::ConnectionQualityInfo {
        participant_sid: participant_sid.to_owned(),
        quality: quality as i32,
        score,
    }
}

/// The path a room fault is journaled on.
const RTC_PATH: &str = "/rtc";

/// What fault rules have done to this viewer's room.
struct RoomFaults {
    seen: HashSet<u64>,
    client_sid: String,
    media_killed: bool,
    /// The client's connection quality: excellent, unless a rule said otherwise.
    client_quality: Quality,
}

impl RoomFaults {
    /// Applies the rules that fire now; false when the signalling must end (a leave, or a
    /// socket dropped without one).
    async fn take(
        &mut self,
        state: &AppState,
        session_id: &str,
        socket: &mut WebSocket,
        peer: &AvatarPeer,
        stage_stop: &CancellationToken,
    ) -> bool {
        for fault in state.connection_faults(ROOM, RTC_PATH, session_id, &mut self.seen) {
            match fault {
                ChannelFault::Leave(reason) => {
                    leave_with(socket, reason).await;
                    return false;
                }
                ChannelFault::Drop => return false,
                ChannelFault::KillMedia => {
                    stage_stop.cancel();
                    peer.close().await;
                    self.media_killed = true;
                }
                ChannelFault::FreezeVideo => peer.freeze_video(),
                ChannelFault::Impair(impairment, seed) => peer.impair(impairment, seed),
                ChannelFault::MuteAudio => peer.mute_audio(),
                ChannelFault::ConnectionQuality(quality) => {
                    self.client_quality = quality;
                    let update = lk::ConnectionQualityUpdate {
                        updates: vec![quality_info(&self.client_sid, quality)],
                    };
                    if !send(
                        socket,
                        lk::signal_response::Message::ConnectionQuality(update),
                    )
                    .await
                    {
                        return false;
                    }
                }
                // Socket faults never come for this channel.
                _ => {}
            }
        }
        true
    }
}

/// What the client publishes: its publisher connection (created by its first offer), its data
/// packets and its microphone.
struct ClientSide {
    state: AppState,
    session_id: String,
    publisher: Option<ClientPublisher>,
    from_client: mpsc::Sender<FromClient>,
    /// Where the publisher connection's candidates go, to be trickled.
    publisher_candidates: mpsc::Sender<String>,
    listener: Listener,
    published_tracks: u32,
    /// A LiveAvatar session: its client's data are `agent-control` commands.
    liveavatar: bool,
}

impl ClientSide {
    /// Applies one client request; false when the client is leaving.
    async fn handle_request(
        &mut self,
        socket: &mut WebSocket,
        peer: &AvatarPeer,
        bytes: &[u8],
    ) -> bool {
        use lk::signal_request::Message as Req;
        use lk::signal_response::Message as Resp;
        let Ok(request) = lk::SignalRequest::decode(bytes) else {
            tracing::debug!("dropped a signalling frame that is not a SignalRequest");
            return true;
        };
        match request.message {
            Some(Req::Answer(answer)) => {
                if let Err(e) = peer.accept_answer(answer.sdp).await {
                    tracing::warn!(%e, "client answer refused");
                }
            }
            Some(Req::Offer(offer)) => match self.answer(offer.sdp).await {
                Ok(sdp) => {
                    // livekit-client 2.2x numbers its offers and waits for an answer that
                    // carries the same `id`; older clients send 0 and ignore it.
                    let answer = lk::SessionDescription {
                        r#type: "answer".into(),
                        sdp,
                        id: offer.id,
                        ..Default::default()
                    };
                    send(socket, Resp::Answer(answer)).await;
                }
                Err(e) => tracing::warn!(%e, "client publisher offer refused"),
            },
            // Chromium's candidates are mDNS names; the connection forms through peer-reflexive
            // candidates anyway, so a refused one is not an error.
            Some(Req::Trickle(trickle)) if trickle.target == TARGET_SUBSCRIBER => {
                let _ = peer.add_remote_candidate(&trickle.candidate_init).await;
            }
            Some(Req::Trickle(trickle)) => {
                if let Some(publisher) = &self.publisher {
                    let _ = publisher
                        .add_remote_candidate(&trickle.candidate_init)
                        .await;
                }
            }
            Some(Req::AddTrack(request)) => {
                self.published_tracks += 1;
                self.listener.set_muted(request.muted);
                let track = lk::TrackInfo {
                    sid: format!("TR_client{}", self.published_tracks),
                    r#type: request.r#type,
                    source: request.source,
                    name: request.name,
                    muted: request.muted,
                    width: request.width,
                    height: request.height,
                    ..Default::default()
                };
                let published = lk::TrackPublishedResponse {
                    cid: request.cid,
                    track: Some(track),
                };
                send(socket, Resp::TrackPublished(published)).await;
            }
            Some(Req::Mute(mute)) => self.listener.set_muted(mute.muted),
            Some(Req::Ping(_)) => {
                send(socket, Resp::Pong(now_ms())).await;
            }
            Some(Req::PingReq(ping)) => {
                let pong = lk::Pong {
                    last_ping_timestamp: ping.timestamp,
                    timestamp: now_ms(),
                };
                send(socket, Resp::PongResp(pong)).await;
            }
            Some(Req::Leave(_)) => return false,
            // Subscription permission, track settings, subscriptions, sync state: the avatar
            // always sends everything, so these change nothing.
            _ => {}
        }
        true
    }

    /// Answers a publisher offer, building the publisher connection on the first one.
    async fn answer(&mut self, sdp: String) -> Result<String, PeerError> {
        let publisher = match self.publisher.take() {
            Some(publisher) => publisher,
            None => {
                ClientPublisher::new(
                    self.from_client.clone(),
                    self.publisher_candidates.clone(),
                    self.state.tracker(),
                )
                .await?
            }
        };
        let answer = publisher.answer(sdp).await;
        self.publisher = Some(publisher);
        answer
    }

    /// Acts on what arrived over the publisher connection; returns LiveAvatar's answer to a
    /// command that has one.
    fn receive(&mut self, sent: FromClient) -> Option<AgentEvent> {
        match sent {
            FromClient::User(data) if self.liveavatar => {
                if data.topic.as_deref() != Some(COMMAND_TOPIC) {
                    tracing::debug!(topic = ?data.topic, "dropped a client packet off agent-control");
                    return None;
                }
                match serde_json::from_slice::<AgentCommand>(&data.payload) {
                    Ok(command) => return agent::apply(&self.state, &self.session_id, command),
                    Err(e) => {
                        tracing::debug!(%e, "dropped an agent-control packet that is not a command")
                    }
                }
            }
            FromClient::User(data) => match ClientMessage::parse(&data.payload) {
                Some(message) => {
                    tracing::trace!(target: hops::TARGET, hop = hops::SERVER_SPEAK_AT_OWNER);
                    if !voice::apply_client_message(&self.state, &self.session_id, message) {
                        tracing::debug!(session_id = %self.session_id, "client data packet refused");
                    }
                }
                None => tracing::debug!("dropped a client data packet that is not a JSON string"),
            },
            FromClient::Microphone(samples) => {
                self.listener.hear(&samples, MIC_SAMPLE_RATE);
            }
            FromClient::MicrophoneGap(gap) => self.listener.skip(gap),
            FromClient::MicrophoneQuiet(quiet) => self.listener.quiet_for(quiet),
            FromClient::MicrophoneEnded => self.listener.close(),
        }
        None
    }

    async fn close(&mut self) {
        self.listener.close();
        if let Some(publisher) = self.publisher.take() {
            publisher.close().await;
        }
    }
}

async fn leave(socket: &mut WebSocket, reason: lk::DisconnectReason) {
    leave_with(socket, reason as i32).await;
}

/// A leave with any `DisconnectReason` number (a fault may name one LiveKit has not).
async fn leave_with(socket: &mut WebSocket, reason: i32) {
    let request = lk::LeaveRequest {
        reason,
        action: lk::leave_request::Action::Disconnect as i32,
        ..Default::default()
    };
    send(socket, lk::signal_response::Message::Leave(request)).await;
    let _ = socket.send(Message::Close(None)).await;
}
