//! The stage: one task per viewer that, every frame, reads what the avatar is saying and sends
//! the matching video frame, audio packet and events. Frames come from the shared loops of
//! [`super::media`]; a change between idle and talking jumps to frame 0 of the other loop,
//! which is an IDR, so the switch (and an interrupt) takes effect on the next frame; a client's
//! key-frame request (PLI, FIR) restarts the current loop on its IDR the same way.

use super::media::{AUDIO_FRAME_SAMPLES, LOOP_FRAMES, VideoLoops};
use super::narrator::Narrator;
use super::peer::AvatarPeer;
use crate::liveavatar::agent::AgentNarration;
use crate::speech::SpokenAudio;
use crate::state::AppState;
use crate::voice::conversation::UserEvent;
use livekit_protocol as lk;
use prost::Message as _;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use understudy_proto::events::DataChannelEvent;
use understudy_proto::hops;
use understudy_proto::liveavatar::{self, AgentEvent};

/// One Opus packet: the stage's tick.
const AUDIO_INTERVAL: Duration =
    Duration::from_millis((AUDIO_FRAME_SAMPLES * 1000 / 48_000) as u64);
/// One video frame at 25 fps (every second tick): the granularity of events, and the most an
/// interrupt waits.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);

/// Events held while the client is still opening `_reliable` (SCTP takes a few hundred ms
/// after the peer connects). Past this many the oldest are dropped: a client that never opens
/// the channel cannot grow the queue without bound.
const MAX_PENDING_EVENTS: usize = 1024;

/// Where a viewer's video is in the loops.
#[derive(Debug, Default)]
struct VideoCursor {
    talking: bool,
    index: usize,
}

impl VideoCursor {
    /// The next frame to send; jumps to the other loop's IDR when the state changes, and to
    /// this loop's when the client asked for a key frame.
    fn next<'a>(
        &mut self,
        loops: &'a VideoLoops,
        talking: bool,
        key_frame: bool,
    ) -> &'a bytes::Bytes {
        if talking != self.talking || key_frame {
            *self = VideoCursor { talking, index: 0 };
        }
        let frames = if talking { &loops.talking } else { &loops.idle };
        let frame = &frames[self.index];
        self.index = (self.index + 1) % LOOP_FRAMES;
        frame
    }
}

/// How events are put on the peer's events channel.
#[derive(Debug, Clone)]
pub enum EventWire {
    /// LiveKit user packets from the avatar participant (`livekit.md` §2.8).
    LiveKit { identity: String },
    /// v1: each event's JSON as one binary message, the only kind SDK 1.x parses; and only the
    /// events SDK 1.x knows, `avatar_start_talking` and `avatar_stop_talking` (heygen-api.md
    /// §7.1, docs/fidelity.md).
    Raw,
    /// LiveAvatar FULL: the events in LiveAvatar's words, on topic `agent-response`, from the
    /// agent participant (`liveavatar.md` §3.2).
    LiveAvatar {
        identity: String,
        narration: AgentNarration,
    },
    /// LiveAvatar LITE: no events in the room; the client's WebSocket has them.
    Quiet,
}

impl EventWire {
    /// The bytes of `event` on this wire, or `None` when this wire does not carry it. `source`
    /// names the client command a task answers (LiveAvatar's `source_event_id`).
    fn encode(
        &mut self,
        event: &DataChannelEvent,
        source: impl FnOnce(&str) -> Option<String>,
    ) -> Option<Vec<u8>> {
        match self {
            EventWire::LiveKit { identity } => {
                let payload = serde_json::to_vec(event).ok()?;
                Some(user_packet(identity, payload, None))
            }
            EventWire::Raw => matches!(
                event,
                DataChannelEvent::AvatarStartTalking { .. }
                    | DataChannelEvent::AvatarStopTalking { .. }
            )
            .then(|| serde_json::to_vec(event).ok())
            .flatten(),
            EventWire::LiveAvatar {
                identity,
                narration,
            } => {
                let source = event_task(event).and_then(source);
                let message = narration.translate(event, source.as_deref());
                agent_packet(identity, &message)
            }
            EventWire::Quiet => None,
        }
    }
}

/// The avatar task an event is about, if any.
fn event_task(event: &DataChannelEvent) -> Option<&str> {
    match event {
        DataChannelEvent::AvatarStartTalking { task_id }
        | DataChannelEvent::AvatarStopTalking { task_id, .. }
        | DataChannelEvent::AvatarTalkingMessage { task_id, .. }
        | DataChannelEvent::AvatarEndMessage { task_id } => Some(task_id),
        _ => None,
    }
}

/// A LiveAvatar event as the user packet the web SDK reads: JSON on `agent-response`.
pub fn agent_packet(identity: &str, event: &AgentEvent) -> Option<Vec<u8>> {
    let payload = serde_json::to_vec(event).ok()?;
    Some(user_packet(
        identity,
        payload,
        Some(liveavatar::RESPONSE_TOPIC.to_owned()),
    ))
}

fn user_packet(identity: &str, payload: Vec<u8>, topic: Option<String>) -> Vec<u8> {
    lk::DataPacket {
        participant_identity: identity.to_owned(),
        value: Some(lk::data_packet::Value::User(lk::UserPacket {
            payload,
            topic,
            ..Default::default()
        })),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Narrates and streams from the moment the peer connects. Events wait in a bounded queue until
/// the client has opened the events channel, so a task spoken in that window is still narrated
/// whole and on the schedule's clock.
pub async fn run(
    peer: Arc<AvatarPeer>,
    state: AppState,
    session_id: String,
    wire: EventWire,
    speakers: mpsc::Sender<bool>,
    stop: CancellationToken,
) {
    let (quality, codec) = state.session_video(&session_id).unwrap_or_default();
    let library = Arc::clone(state.media());
    // Video joins when its loops are ready; narration never waits for the encoder.
    let (video_tx, mut video_rx) = tokio::sync::oneshot::channel();
    let encoder = Arc::clone(&library);
    state.spawn(async move {
        match encoder.video(quality, codec).await {
            Ok(video) => drop(video_tx.send(video)),
            Err(e) => tracing::error!(%e, "no video for this session"),
        }
    });
    let mut video = None;
    let audio = library
        .audio()
        .map_err(|e| tracing::error!(%session_id, %e, "no audio"))
        .ok();

    let mut schedule = state.watch_schedule(&session_id);
    let mut user_events = state
        .registry()
        .session_mut(&session_id)
        .map(|s| s.voice.subscribe());
    let mut stage = Stage {
        state: state.clone(),
        session_id: session_id.clone(),
        peer,
        wire,
        pending: VecDeque::new(),
        narrator: Narrator::new(state.config().clock(), state.config().event_timeline)
            .with_talk_reply_text(state.config().talk_reply_text),
        cursor: VideoCursor::default(),
        clip: None,
        speakers,
        speakers_stale: false,
    };
    let mut audio_index = 0usize;
    let mut next_frame_at = Instant::now();
    // When a task next starts or stops talking: the stage looks again then, not on the next
    // frame tick, so start and stop events go out on time (a latency profile's delays too).
    let mut next_change: Option<Instant> = None;
    let mut ticker = tokio::time::interval(AUDIO_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let changed = async {
            match schedule.as_mut() {
                Some(rx) => rx.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        let user_event = async {
            match user_events.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        let changed_or_due = async {
            let due = async {
                match next_change {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                alive = changed => alive,
                () = due => true,
            }
        };
        tokio::select! {
            // User events first: a turn's transcript goes out before the answer it causes.
            biased;
            event = user_event => {
                match event {
                    // The user's transcript goes out at once, between frames.
                    Ok(UserEvent::Room(event)) => {
                        stage.pending.push_back(event);
                        stage.flush().await;
                    }
                    Ok(UserEvent::Socket(_)) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => user_events = None,
                }
                continue;
            }
            () = stop.cancelled() => {
                let now = Instant::now();
                stage.pending.extend(stage.narrator.finish_now(now));
                stage.flush().await;
                return;
            }
            alive = changed_or_due => {
                if !alive {
                    schedule = None;
                    continue;
                }
                // A task was queued or cut: its events go out now, and if that starts or stops
                // talking, the other loop's first frame (an IDR) goes out on the next media
                // tick, with the first audio packet of the change, instead of on the 40 ms
                // frame clock.
                if video.is_none() {
                    video = video_rx.try_recv().ok();
                }
                tracing::trace!(target: hops::TARGET, hop = hops::STAGE_WOKEN);
                let was_talking = stage.narrator.is_talking();
                let now = Instant::now();
                next_change = stage.narrate(&state, &session_id, now, &mut user_events);
                // The frame waits for the tick rather than following the events at once: its
                // packets would reach both peers' drivers in the same burst as the events and
                // be decrypted ahead of them (about 300 µs of a speak's latency from idle,
                // measured with room_latency's hop trace).
                stage.flush().await;
                if stage.narrator.is_talking() != was_talking {
                    next_frame_at = now;
                }
                continue;
            }
            _ = ticker.tick() => {}
        }
        let now = Instant::now();
        if now >= next_frame_at {
            next_frame_at = (next_frame_at + FRAME_INTERVAL).max(now);
            if video.is_none() {
                video = video_rx.try_recv().ok();
            }
            next_change = stage.narrate(&state, &session_id, now, &mut user_events);
            stage.send_frame(video.as_deref()).await;
            stage.flush().await;
        }
        if let Some(audio) = &audio {
            let packet = match stage.clip.as_mut().filter(|_| stage.narrator.is_talking()) {
                // A client's audio: its next packet, or silence while the rest is on its way.
                Some(clip) => clip.next_packet().unwrap_or_else(|| audio.silence.clone()),
                None if stage.narrator.is_talking() => {
                    audio_index = (audio_index + 1) % audio.talking.len();
                    audio.talking[audio_index].clone()
                }
                None => {
                    audio_index = 0;
                    audio.silence.clone()
                }
            };
            if let Err(e) = stage.peer.write_audio(packet, AUDIO_INTERVAL).await {
                tracing::debug!(%e, "audio packet not sent");
            }
        }
    }
}

/// One viewer's narration and video position.
struct Stage {
    state: AppState,
    session_id: String,
    peer: Arc<AvatarPeer>,
    wire: EventWire,
    pending: VecDeque<DataChannelEvent>,
    narrator: Narrator,
    cursor: VideoCursor,
    /// The client's audio the current task says, if it has any (the realtime endpoint).
    clip: Option<ClipCursor>,
    /// Tells the viewer's signalling when the avatar starts or stops talking (LiveKit's
    /// `SpeakersChanged`).
    speakers: mpsc::Sender<bool>,
    /// Whether talking started or stopped since the signalling was last told.
    speakers_stale: bool,
}

/// Where a viewer is in a task's client audio: packets play in order, one a tick, from the
/// task's first talking frame.
struct ClipCursor {
    task_id: String,
    audio: SpokenAudio,
    next: usize,
}

impl ClipCursor {
    fn next_packet(&mut self) -> Option<bytes::Bytes> {
        let packet = self.audio.packet(self.next)?;
        self.next += 1;
        Some(packet)
    }
}

impl Stage {
    /// Narrates what is being said at `now`; returns when to look again at the latest.
    ///
    /// A user's turn emits its events and queues its answer in one critical section, so once
    /// the view shows the answer its turn's events are in `user_events`: draining them after
    /// reading the view (and before narrating it) keeps `user_end_message` ahead of the
    /// answer's `avatar_start_talking` even when a frame tick, not the user-event branch,
    /// is the first to notice the answer.
    fn narrate(
        &mut self,
        state: &AppState,
        session_id: &str,
        now: Instant,
        user_events: &mut Option<broadcast::Receiver<UserEvent>>,
    ) -> Option<Instant> {
        let view = state.speech_at(session_id, now);
        while let Some(rx) = user_events.as_mut() {
            match rx.try_recv() {
                Ok(UserEvent::Room(event)) => self.pending.push_back(event),
                Ok(UserEvent::Socket(_)) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => *user_events = None,
            }
        }
        self.pending.extend(
            self.narrator
                .announce(view.current.iter().chain(&view.upcoming)),
        );
        let was_talking = self.narrator.is_talking();
        self.pending
            .extend(self.narrator.tick(now, view.current.as_ref()));
        self.speakers_stale |= self.narrator.is_talking() != was_talking;
        self.clip = match view.current {
            Some(task) => match (self.clip.take(), task.audio) {
                (Some(clip), Some(_)) if clip.task_id == task.task_id => Some(clip),
                (_, Some(audio)) => Some(ClipCursor {
                    task_id: task.task_id,
                    audio,
                    next: 0,
                }),
                (_, None) => None,
            },
            None => None,
        };
        view.next_change
    }

    async fn send_frame(&mut self, video: Option<&VideoLoops>) {
        if let Some(video) = video {
            let key_frame = self.peer.take_key_frame_request();
            let frame = self
                .cursor
                .next(video, self.narrator.is_talking(), key_frame)
                .clone();
            if let Err(e) = self.peer.write_video(frame, FRAME_INTERVAL).await {
                tracing::debug!(%e, "video frame not sent");
            }
        }
    }

    /// Sends queued events once the events channel is open (until then keeps the newest
    /// [`MAX_PENDING_EVENTS`]), then tells the signalling if talking started or stopped.
    async fn flush(&mut self) {
        if self.peer.is_reliable_open() {
            let (state, session_id) = (&self.state, &self.session_id);
            let source = |task_id: &str| {
                let registry = state.registry();
                let la = registry.session(session_id)?.liveavatar.as_ref()?;
                la.source_of(task_id).map(str::to_owned)
            };
            let mut bytes = Vec::with_capacity(self.pending.len());
            for event in self.pending.drain(..) {
                bytes.extend(self.wire.encode(&event, source));
                tracing::trace!(target: hops::TARGET, hop = hops::STAGE_EVENT_ENCODED);
            }
            send_events(&self.peer, bytes).await;
        } else if self.pending.len() > MAX_PENDING_EVENTS {
            let excess = self.pending.len() - MAX_PENDING_EVENTS;
            self.pending.drain(..excess);
        }
        // After the events: waking the signalling's task must not hold them back. A full queue
        // means the signalling is behind; the next change brings it up to date.
        if std::mem::take(&mut self.speakers_stale) {
            let _ = self.speakers.try_send(self.narrator.is_talking());
        }
    }
}

/// Sends encoded events on the peer's events channel.
async fn send_events(peer: &AvatarPeer, events: Vec<Vec<u8>>) {
    for bytes in events {
        if let Err(e) = peer.send_reliable(&bytes).await {
            tracing::debug!(%e, "event not delivered");
        }
        tracing::trace!(target: hops::TARGET, hop = hops::STAGE_EVENT_QUEUED);
    }
}
