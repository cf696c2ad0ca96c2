//! v1 sessions, HeyGen's raw WebRTC protocol (heygen-api.md §0, §3.2-§3.4, §7.1): one peer
//! connection per session, offered by the server in `streaming.new`, answered by the client in
//! `streaming.start`, its candidates trickled through `streaming.ice` before, during or after
//! the answer. The avatar's tracks and stage are the room's; events go as binary JSON on the one
//! data channel the server made.
//!
//! One task owns the peer (its driver); REST handlers reach it only through the
//! [`RawPeerHandle`] kept on the session, and the session's end closes it in one place.
//!
//! Room fault rules (`on: "room"`) act on this peer as on a room viewer's, from the moment it
//! connects: `kill_media`, and `leave` or `drop` (a v1 client has no signalling to lose, so
//! they too end its connection), close it; `freeze_video`, `mute_audio` and `impair` change
//! its media; `connection_quality` has no v1 counterpart and does nothing.

use crate::faults::ChannelFault;
use crate::livekit::RoomNames;
use crate::livekit::peer::{
    AvatarChannels, AvatarPeer, DtlsSetup, PEER_EVENT_CAPACITY, PeerError, PeerEvent, TrackNames,
};
use crate::livekit::stage::{self, EventWire};
use crate::session::{RawCommand, RawPeerHandle};
use crate::state::{AppState, Door};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use understudy_proto::rest::session::VideoEncoding;

/// Candidates a client may trickle before its answer; past this many the rest are dropped (a
/// browser gathers a handful per interface).
const MAX_EARLY_CANDIDATES: usize = 64;

/// The path a v1 peer's fired faults are journaled under: where its connection was started.
const FAULT_PATH: &str = "/v1/streaming.start";

/// Builds session `session_id`'s peer, starts its driver and returns the offer (every
/// candidate inline, as the real service's was) with the handle to keep on the session.
///
/// # Errors
/// When webrtc-rs cannot bind a port or make the offer.
pub async fn open(
    state: &AppState,
    session_id: &str,
    encoding: VideoEncoding,
    dtls: DtlsSetup,
    ended: CancellationToken,
) -> Result<(String, RawPeerHandle), PeerError> {
    let names = RoomNames::for_session(session_id);
    let tracks = TrackNames {
        stream_id: names.stream_id(),
        video_sid: names.video_sid.clone(),
        audio_sid: names.audio_sid.clone(),
        video_encoding: encoding,
    };
    let (events_tx, events) = mpsc::channel(PEER_EVENT_CAPACITY);
    // Connected the moment the peer is, before its data channel opens: a client that waits for
    // the channel never speaks to a session still `connecting`.
    let on_connected = {
        let (state, session_id) = (state.clone(), session_id.to_owned());
        Box::new(move || state.mark_connected(&session_id))
    };
    let peer = AvatarPeer::new(
        &tracks,
        AvatarChannels::Raw,
        None,
        events_tx,
        on_connected,
        &state.tracker(),
    )
    .await?;
    let offer = match peer.offer(dtls).await {
        Ok(offer) => offer,
        Err(e) => {
            peer.close().await;
            return Err(e);
        }
    };
    let (handle, commands) = RawPeerHandle::channel();
    let driver = Driver {
        peer: Arc::new(peer),
        state: state.clone(),
        session_id: session_id.to_owned(),
        early: Some(Vec::new()),
    };
    state.spawn(driver.run(commands, events, ended));
    Ok((offer, handle))
}

/// The one owner of a v1 session's peer.
struct Driver {
    peer: Arc<AvatarPeer>,
    state: AppState,
    session_id: String,
    /// Candidates trickled before the answer; `None` once it is applied.
    early: Option<Vec<String>>,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<RawCommand>,
        mut events: mpsc::Receiver<PeerEvent>,
        ended: CancellationToken,
    ) {
        // The client counts as the session's viewer for as long as the peer lives.
        let admitted = self.state.admit(&self.session_id, Door::Room);
        let stage_stop = ended.child_token();
        let mut fault_changes = self.state.faults().changes();
        let mut faults_seen = HashSet::new();
        let mut connected = false;
        loop {
            tokio::select! {
                () = ended.cancelled() => break,
                changed = fault_changes.changed(), if connected => {
                    if changed.is_err() || !self.take_faults(&mut faults_seen) {
                        break;
                    }
                }
                Some(command) = commands.recv() => match command {
                    RawCommand::Answer { sdp, reply } => {
                        let _ = reply.send(self.answer(sdp).await.map_err(|e| e.to_string()));
                    }
                    RawCommand::Candidate(json) => self.candidate(json).await,
                },
                event = events.recv() => match event {
                    Some(PeerEvent::Connected) => {
                        self.state.mark_connected(&self.session_id);
                        connected = true;
                        if !self.take_faults(&mut faults_seen) {
                            break;
                        }
                        self.state.spawn(stage::run(
                            Arc::clone(&self.peer),
                            self.state.clone(),
                            self.session_id.clone(),
                            EventWire::Raw,
                            // No signalling to tell of speakers: v1 has none.
                            mpsc::channel(1).0,
                            stage_stop.clone(),
                        ));
                    }
                    // The client closed its side (SDK 1.x's stopAvatar closes the peer before
                    // it calls stop): the media stops, the session lives until stop or a timer.
                    Some(PeerEvent::Gone) | None => {
                        stage_stop.cancel();
                        break;
                    }
                },
            }
        }
        stage_stop.cancel();
        // The rest of the session's life: answers and candidates find the peer closed.
        commands.close();
        self.peer.close().await;
        drop(admitted);
        tracing::debug!(session_id = %self.session_id, "v1 peer closed");
    }

    /// Applies the room rules that fire now; false when the connection must end.
    fn take_faults(&self, seen: &mut HashSet<u64>) -> bool {
        let room = understudy_proto::faults::ROOM;
        for fault in self
            .state
            .connection_faults(room, FAULT_PATH, &self.session_id, seen)
        {
            match fault {
                ChannelFault::KillMedia | ChannelFault::Leave(_) | ChannelFault::Drop => {
                    return false;
                }
                ChannelFault::FreezeVideo => self.peer.freeze_video(),
                ChannelFault::Impair(impairment, seed) => self.peer.impair(impairment, seed),
                ChannelFault::MuteAudio => self.peer.mute_audio(),
                // No v1 counterpart (connection quality is LiveKit's), or not a room fault.
                _ => {}
            }
        }
        true
    }

    async fn answer(&mut self, sdp: String) -> Result<(), PeerError> {
        if self.early.is_none() {
            return Err(PeerError("the session already has an answer".into()));
        }
        self.peer.accept_answer(sdp).await?;
        for json in self.early.take().unwrap_or_default() {
            self.apply(&json).await;
        }
        Ok(())
    }

    async fn candidate(&mut self, json: String) {
        match &mut self.early {
            Some(early) if early.len() < MAX_EARLY_CANDIDATES => early.push(json),
            Some(_) => tracing::debug!("too many candidates before the answer; dropped"),
            None => self.apply(&json).await,
        }
    }

    async fn apply(&self, json: &str) {
        if let Err(e) = self.peer.add_remote_candidate(json).await {
            tracing::debug!(%e, "trickled candidate not used");
        }
    }
}
