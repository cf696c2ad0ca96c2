//! `Session`: one streaming session and everything it owns: its id and `streaming.new` answer,
//! its LiveKit room, its chat socket, its voice chat, its events and media, and the tasks behind
//! them. `stop()` (or dropping it) leaves the room, closes the socket, ends every task and
//! calls `streaming.stop`.

use crate::Error;
use crate::chat_socket::{ChatSocket, ChatSocketQuery, ChatSocketUrl};
use crate::client::{SpeakRequest, StreamingAvatar};
use crate::events::{
    ConnectionQuality, DisconnectReason, Event, EventFilter, EventHub, EventSource, EventStream,
    ListenerId, StreamingEvent,
};
use crate::media::frames::{AudioPacket, VideoFrame};
use crate::media::{MediaHub, MediaStream};
use crate::proto::hops;
use crate::rest::Credentials;
use crate::room::{JoinInfo, JoinTimings, Room, RoomOptions, RoomShared, quality};
use crate::voice::{self, FramePump, OpusFrames, PcmSource, VoiceChatTransport, VoiceControl};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use understudy_proto::rest::session::{NewSessionData, StartSessionRequest};
use understudy_proto::rest::task::{TaskData, TaskMode, TaskRequest, TaskType};

/// How long `stop` waits for the server's `leave` after `streaming.stop` before leaving itself.
const LEAVE_WAIT: Duration = Duration::from_secs(2);
/// How long `stop` waits for the session's tasks to end.
const TASKS_WAIT: Duration = Duration::from_secs(5);
/// How long a dropped session's `streaming.stop` may take.
const DROP_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a session runs; the official SDK's `StartAvatarRequest` options that are not part of
/// the `streaming.new` body, plus what a Rust program may want to choose.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionOptions {
    /// `voiceChatTransport`: where the user's voice and TALK text go.
    pub voice_chat_transport: VoiceChatTransport,
    /// `enablePushToTalk` (2.1.0): allows `push_to_talk_start`/`stop` (LiveKit transport).
    pub enable_push_to_talk: bool,
    /// `useSilencePrompt`: the server prompts a silent user (`user_silence`).
    pub use_silence_prompt: bool,
    /// Where the chat socket is; `None` never opens it (then TALK text goes over HTTP).
    pub chat_socket: Option<ChatSocketUrl>,
    /// Join the room on `start`. Off: REST only (the session connects only if the server
    /// connects sessions on `start`, as `understudy serve --connect-on-start` does).
    pub join_room: bool,
    pub room: RoomOptions,
    /// Call `keep_alive` this often while the session runs.
    pub keep_alive_every: Option<Duration>,
    /// Longest wait for the chat socket to open.
    pub socket_timeout: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            voice_chat_transport: VoiceChatTransport::WebSocket,
            enable_push_to_talk: false,
            use_silence_prompt: false,
            chat_socket: Some(ChatSocketUrl::FromBasePath),
            join_room: true,
            room: RoomOptions::default(),
            keep_alive_every: None,
            socket_timeout: Duration::from_secs(15),
        }
    }
}

impl SessionOptions {
    pub fn voice_chat_transport(mut self, transport: VoiceChatTransport) -> Self {
        self.voice_chat_transport = transport;
        self
    }

    pub fn enable_push_to_talk(mut self, enabled: bool) -> Self {
        self.enable_push_to_talk = enabled;
        self
    }

    pub fn use_silence_prompt(mut self, enabled: bool) -> Self {
        self.use_silence_prompt = enabled;
        self
    }

    pub fn chat_socket(mut self, url: Option<ChatSocketUrl>) -> Self {
        self.chat_socket = url;
        self
    }

    pub fn join_room(mut self, join: bool) -> Self {
        self.join_room = join;
        self
    }

    pub fn room(mut self, room: RoomOptions) -> Self {
        self.room = room;
        self
    }

    pub fn keep_alive_every(mut self, every: Option<Duration>) -> Self {
        self.keep_alive_every = every;
        self
    }
}

/// Which way `speak` goes (`heygen-api.md` §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpeakPath {
    /// `POST /v1/streaming.task`.
    Http,
    /// A pipecat `TextFrame` on the chat socket (TALK only: the server treats it as talk).
    ChatSocket,
    /// A JSON string as LiveKit data (TALK only).
    LiveKit,
}

/// When `start` reached each step, from the moment it was called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartTimings {
    /// `streaming.start` answered.
    pub started: Duration,
    /// The room is joined and its subscriber connected.
    pub room: Duration,
    /// The chat socket is open.
    pub socket: Duration,
    /// The room's own steps.
    pub join: JoinTimings,
}

/// The user's voice chat while it runs.
#[derive(Debug)]
struct VoiceChat {
    control: Arc<VoiceControl>,
    stop: CancellationToken,
}

/// One streaming session. Not `Clone`: it owns its sockets; share it behind an `Arc` if several
/// tasks need it (every call but `start`, `stop` and voice chat takes `&self`).
#[derive(Debug)]
pub struct Session {
    client: StreamingAvatar,
    info: NewSessionData,
    options: SessionOptions,
    stop: CancellationToken,
    tasks: TaskTracker,
    events: EventHub,
    media: MediaHub,
    room: Option<Room>,
    room_shared: Option<Arc<RoomShared>>,
    chat: Option<ChatSocket>,
    voice: Option<VoiceChat>,
    timings: StartTimings,
    quality: Arc<std::sync::Mutex<ConnectionQuality>>,
    stopped: bool,
}

impl Session {
    pub(crate) fn new(
        client: StreamingAvatar,
        info: NewSessionData,
        options: SessionOptions,
    ) -> Self {
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let events = EventHub::new(tasks.clone(), stop.clone());
        Self {
            client,
            info,
            options,
            stop,
            tasks,
            events,
            media: MediaHub::new(),
            room: None,
            room_shared: None,
            chat: None,
            voice: None,
            timings: StartTimings::default(),
            quality: Arc::new(std::sync::Mutex::new(ConnectionQuality::Unknown)),
            stopped: false,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.info.session_id
    }

    /// `streaming.new`'s answer: room URL, LiveKit token, limits.
    pub fn info(&self) -> &NewSessionData {
        &self.info
    }

    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// What the server said when the room was joined.
    pub fn join_info(&self) -> Option<&JoinInfo> {
        self.room.as_ref().map(|r| &r.join)
    }

    pub fn start_timings(&self) -> StartTimings {
        self.timings
    }

    /// Whether both of the avatar's tracks are subscribed (`StreamReady` was emitted).
    pub fn is_stream_ready(&self) -> bool {
        self.room_shared.as_ref().is_some_and(|r| r.is_ready())
    }

    /// When `StreamReady` was emitted.
    pub fn stream_ready_at(&self) -> Option<Instant> {
        self.room_shared.as_ref().and_then(|r| r.ready_at())
    }

    /// Whether the room has ended, and why.
    pub fn disconnected(&self) -> Option<DisconnectReason> {
        self.room.as_ref().and_then(Room::ended)
    }

    /// The official SDK's `connectionQuality`.
    pub fn connection_quality(&self) -> ConnectionQuality {
        *self.quality.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Data messages and signalling frames received that were not what LiveKit sends, dropped.
    pub fn garbage_received(&self) -> u64 {
        self.room_shared.as_ref().map_or(0, |r| {
            r.stats.garbage_data.load(Ordering::Relaxed)
                + r.stats.garbage_signal.load(Ordering::Relaxed)
        })
    }

    /// RTP packets received so far: (video, audio).
    pub fn packets_received(&self) -> (u64, u64) {
        self.room_shared.as_ref().map_or((0, 0), |r| {
            (
                r.stats.video_packets.load(Ordering::Relaxed),
                r.stats.audio_packets.load(Ordering::Relaxed),
            )
        })
    }

    /// How many events the session has published.
    pub fn events_published(&self) -> u64 {
        self.events.published()
    }

    /// Every event from now on, as a stream.
    pub fn events(&self) -> EventStream {
        self.events.stream()
    }

    /// Calls `listener` for each event named `name` (`"avatar_start_talking"`, …, or
    /// [`EventFilter::All`]), like the official SDK's `on`. It runs on a task of its own; a
    /// slow listener misses events rather than slowing the session.
    pub fn on<F>(&self, filter: impl Into<EventFilter>, listener: F) -> ListenerId
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.events.on(filter.into(), listener)
    }

    /// Removes a listener; false if it was not registered.
    pub fn off(&self, id: ListenerId) -> bool {
        self.events.off(id)
    }

    /// The avatar's video, whole encoded frames, from now on.
    pub fn video(&self) -> MediaStream<VideoFrame> {
        MediaStream::new(self.media.video.subscribe())
    }

    /// The avatar's audio, Opus packets, from now on.
    pub fn audio(&self) -> MediaStream<AudioPacket> {
        MediaStream::new(self.media.audio.subscribe())
    }

    /// `POST /v1/streaming.start` only (the official SDK's `startSession`).
    ///
    /// # Errors
    /// The API's state errors (10002, 10003, 10005) or transport failures.
    pub async fn start_session(&self) -> Result<(), Error> {
        self.client
            .rest()
            .call_empty(
                "/v1/streaming.start",
                &StartSessionRequest {
                    session_id: self.info.session_id.clone(),
                    sdp: None,
                },
            )
            .await
    }

    /// Starts the session as the official SDK's `startAvatar` does: `streaming.start`, then the
    /// room (returns once its subscriber is connected), then the chat socket; then the
    /// connection-quality monitor and the keep-alive loop, if asked for.
    ///
    /// # Errors
    /// The first failure: the API's, the room's ([`Error::Room`], [`Error::Disconnected`],
    /// [`Error::Timeout`]) or the socket's ([`Error::ChatSocket`]); [`Error::NotReady`] for a
    /// session already started or stopped.
    pub async fn start(&mut self) -> Result<(), Error> {
        if self.room.is_some() || self.chat.is_some() {
            return Err(Error::NotReady("the session has already been started"));
        }
        if self.stopped {
            return Err(Error::NotReady("the session has been stopped"));
        }
        let began = Instant::now();
        self.start_session().await?;
        self.timings.started = began.elapsed();
        self.connect_from(began).await
    }

    /// Joins the room and opens the chat socket (as the options say) of a session that is
    /// already started: the second half of [`Session::start`], for a client that called
    /// `streaming.start` itself (a conformance step, a second viewer of a session).
    ///
    /// # Errors
    /// As [`Session::start`] past `streaming.start`; [`Error::NotReady`] for a session already
    /// connected or stopped.
    pub async fn connect(&mut self) -> Result<(), Error> {
        if self.room.is_some() || self.chat.is_some() {
            return Err(Error::NotReady("the session is already connected"));
        }
        if self.stopped {
            return Err(Error::NotReady("the session has been stopped"));
        }
        self.connect_from(Instant::now()).await
    }

    async fn connect_from(&mut self, began: Instant) -> Result<(), Error> {
        if self.options.join_room {
            let (url, token) = match (&self.info.url, &self.info.access_token) {
                (Some(url), Some(token)) => (url.clone(), token.clone()),
                _ => {
                    return Err(Error::Room(
                        "streaming.new gave no room url or access token".into(),
                    ));
                }
            };
            let shared = RoomShared::new(
                self.events.clone(),
                self.media.clone(),
                self.tasks.clone(),
                self.stop.child_token(),
            );
            let tls = url.starts_with("https").then(|| self.client.socket_tls());
            let tls = tls.or_else(|| url.starts_with("wss").then(|| self.client.socket_tls()));
            self.room_shared = Some(Arc::clone(&shared));
            let room = Room::connect(&url, &token, &self.options.room, tls, shared).await?;
            self.timings.room = began.elapsed();
            self.timings.join = room.timings;
            self.room = Some(room);
            self.spawn_quality_monitor();
        }
        self.open_chat_socket().await?;
        self.timings.socket = began.elapsed();
        if let Some(every) = self.options.keep_alive_every {
            self.spawn_keep_alive(every);
        }
        Ok(())
    }

    async fn open_chat_socket(&mut self) -> Result<(), Error> {
        let Some(url) = self.options.chat_socket.clone() else {
            return Ok(());
        };
        let Credentials::Token(token) = self.client.credentials() else {
            // The socket authenticates with a session token only; API-key clients speak HTTP.
            return Ok(());
        };
        let query = ChatSocketQuery {
            session_id: self.info.session_id.clone(),
            session_token: token.clone(),
            livekit_transport: self.options.voice_chat_transport == VoiceChatTransport::LiveKit,
            silence_response: self.options.use_silence_prompt,
            push_to_talk: self.options.enable_push_to_talk,
        };
        let url = url.resolve(self.client.base_path(), &query)?;
        let tls = (url.scheme() == "wss").then(|| self.client.socket_tls());
        let socket = ChatSocket::open(
            url,
            tls,
            self.options.socket_timeout,
            self.events.clone(),
            &self.tasks,
            self.stop.child_token(),
        )
        .await?;
        self.chat = Some(socket);
        Ok(())
    }

    fn spawn_quality_monitor(&self) {
        let Some(shared) = self.room_shared.clone() else {
            return;
        };
        let quality = Arc::clone(&self.quality);
        let events = self.events.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(quality::CHECK_INTERVAL);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let now = quality::assess(quality::Observation {
                    stream_ready: shared.is_ready(),
                    room_ended: shared.closed.is_cancelled(),
                    since_media: shared.stats.since_media(),
                    server_says_poor: shared.stats.server_says_poor(),
                });
                let changed = {
                    let mut current = quality.lock().unwrap_or_else(|p| p.into_inner());
                    let changed = *current != now;
                    *current = now;
                    changed
                };
                if changed {
                    events.emit(
                        EventSource::Sdk,
                        StreamingEvent::ConnectionQualityChanged { quality: now },
                    );
                }
                if shared.closed.is_cancelled() {
                    return;
                }
            }
        });
    }

    fn spawn_keep_alive(&self, every: Duration) {
        let rest = self.client.rest().clone();
        let session_id = self.info.session_id.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {
                        if let Err(e) = rest.session_call("/v1/streaming.keep_alive", &session_id).await {
                            tracing::warn!(%e, "keep-alive failed");
                            if e.is_session_closed() || e.is_session_not_found() {
                                return;
                            }
                        }
                    }
                }
            }
        });
    }

    /// Makes the avatar speak, choosing the path as SDK 2.1.0 does: TALK + ASYNC goes as LiveKit
    /// data on the LiveKit transport, or on the chat socket on the WebSocket transport, and
    /// answers `None` (the events carry the server's task id); everything else goes over HTTP
    /// and answers the task.
    ///
    /// # Errors
    /// The API's errors over HTTP (400006 before the session connected, 10005 once closed); a
    /// closed socket or room on the others.
    pub async fn speak(&self, request: &SpeakRequest) -> Result<Option<TaskData>, Error> {
        self.speak_via(self.default_path(request), request).await
    }

    fn default_path(&self, request: &SpeakRequest) -> SpeakPath {
        if request.task_type != TaskType::Talk || request.task_mode != TaskMode::Async {
            return SpeakPath::Http;
        }
        match self.options.voice_chat_transport {
            VoiceChatTransport::LiveKit if self.room.is_some() => SpeakPath::LiveKit,
            VoiceChatTransport::WebSocket
                if self.chat.as_ref().is_some_and(|c| c.closed().is_none()) =>
            {
                SpeakPath::ChatSocket
            }
            _ => SpeakPath::Http,
        }
    }

    /// Speaks over the path given, whatever the SDK would choose. The socket and LiveKit paths
    /// carry only text: the server treats it as TALK, ASYNC.
    ///
    /// # Errors
    /// As [`Session::speak`]; [`Error::NotReady`] when the path is not open.
    pub async fn speak_via(
        &self,
        path: SpeakPath,
        request: &SpeakRequest,
    ) -> Result<Option<TaskData>, Error> {
        match path {
            SpeakPath::Http => {
                let body = TaskRequest {
                    session_id: self.info.session_id.clone(),
                    text: request.text.clone(),
                    task_type: Some(request.task_type),
                    task_mode: Some(request.task_mode),
                    interrupt: None,
                };
                let answer = self.client.rest().call("/v1/streaming.task", &body).await;
                tracing::trace!(target: hops::TARGET, hop = hops::SDK_HTTP_ANSWERED);
                answer.map(Some)
            }
            SpeakPath::ChatSocket => {
                let chat = self
                    .chat
                    .as_ref()
                    .ok_or(Error::NotReady("the chat socket is not open"))?;
                chat.send_text(&request.text).await.map(|()| None)
            }
            SpeakPath::LiveKit => self.publish_json_string(&request.text).await.map(|()| None),
        }
    }

    /// Sends `text` as SDK 2.x's `sendLivekitMessage` does: a JSON string literal, quotes and
    /// all, as a reliable data packet.
    async fn publish_json_string(&self, text: &str) -> Result<(), Error> {
        let room = self
            .room
            .as_ref()
            .ok_or(Error::NotReady("the room is not joined"))?;
        let payload = serde_json::to_vec(text).map_err(|e| Error::Voice(e.to_string()))?;
        room.publish_data(&payload).await?;
        tracing::trace!(target: hops::TARGET, hop = hops::SDK_DATA_QUEUED);
        Ok(())
    }

    /// Where a socket of the session's own (LiveAvatar LITE's) puts its events, runs its
    /// reader, and learns that the session is over.
    pub(crate) fn hooks(&self) -> (EventHub, TaskTracker, CancellationToken) {
        (self.events.clone(), self.tasks.clone(), self.stop.clone())
    }

    pub(crate) fn socket_tls(&self) -> Arc<rustls::ClientConfig> {
        self.client.socket_tls()
    }

    /// Sends `payload` as a reliable user packet on `topic` (LiveAvatar's `agent-control`).
    pub(crate) async fn publish_on(&self, topic: &str, payload: &[u8]) -> Result<(), Error> {
        let room = self
            .room
            .as_ref()
            .ok_or(Error::NotReady("the room is not joined"))?;
        room.publish_data_on(Some(topic), payload).await
    }

    /// `POST /v1/streaming.interrupt`.
    ///
    /// # Errors
    /// The API's state errors.
    pub async fn interrupt(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.interrupt").await
    }

    /// `POST /v1/streaming.start_listening`.
    ///
    /// # Errors
    /// The API's state errors.
    pub async fn start_listening(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.start_listening").await
    }

    /// `POST /v1/streaming.stop_listening`.
    ///
    /// # Errors
    /// The API's state errors.
    pub async fn stop_listening(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.stop_listening").await
    }

    /// `POST /v1/streaming.keep_alive`: resets the idle timeout.
    ///
    /// # Errors
    /// The API's state errors.
    pub async fn keep_alive(&self) -> Result<(), Error> {
        self.session_call("/v1/streaming.keep_alive").await
    }

    async fn session_call(&self, path: &str) -> Result<(), Error> {
        self.client
            .rest()
            .session_call(path, &self.info.session_id)
            .await
    }

    /// SDK 2.1.0's `pushToTalkStart`: `"push_to_talk:start"` as LiveKit data.
    ///
    /// # Errors
    /// [`Error::NotReady`] unless the transport is LiveKit, push-to-talk is enabled and voice
    /// chat is running (the official SDK's checks, in its order).
    pub async fn push_to_talk_start(&self) -> Result<(), Error> {
        self.check_push_to_talk(true)?;
        self.publish_json_string("push_to_talk:start").await
    }

    /// SDK 2.1.0's `pushToTalkStop`.
    ///
    /// # Errors
    /// As [`Session::push_to_talk_start`], except that voice chat need not be running.
    pub async fn push_to_talk_stop(&self) -> Result<(), Error> {
        self.check_push_to_talk(false)?;
        self.publish_json_string("push_to_talk:stop").await
    }

    fn check_push_to_talk(&self, need_voice: bool) -> Result<(), Error> {
        if self.options.voice_chat_transport != VoiceChatTransport::LiveKit {
            return Err(Error::NotReady(
                "push to talk is only supported for LiveKit transport",
            ));
        }
        if !self.options.enable_push_to_talk {
            return Err(Error::NotReady("push to talk is not enabled"));
        }
        if need_voice && self.voice.is_none() {
            return Err(Error::NotReady("voice chat is not active"));
        }
        Ok(())
    }

    /// Starts voice chat with `source` as the microphone, on the session's transport: audio
    /// frames on the chat socket, or an Opus track published into the room. `muted` starts
    /// it muted (`isInputAudioMuted`). A running voice chat is replaced.
    ///
    /// # Errors
    /// [`Error::NotReady`] when the transport is not open; the room's errors publishing the track.
    pub async fn start_voice_chat(&mut self, source: PcmSource, muted: bool) -> Result<(), Error> {
        self.close_voice_chat().await;
        let transport = self.options.voice_chat_transport;
        let control = VoiceControl::new(muted);
        let stop = self.stop.child_token();
        match transport {
            VoiceChatTransport::WebSocket => {
                let chat = self
                    .chat
                    .as_ref()
                    .ok_or(Error::NotReady("the chat socket is not open"))?;
                let outgoing = chat.outgoing();
                let pump = FramePump::new(source, voice::SOCKET_SAMPLE_RATE);
                self.tasks.spawn(run_socket_voice(
                    pump,
                    outgoing,
                    Arc::clone(&control),
                    stop.clone(),
                ));
            }
            VoiceChatTransport::LiveKit => {
                let room = self
                    .room
                    .as_ref()
                    .ok_or(Error::NotReady("the room is not joined"))?;
                let track_sid = room.publish_microphone(muted).await?;
                let opus = OpusFrames::new()?;
                let pump = FramePump::new(source, voice::OPUS_SAMPLE_RATE);
                let room = room.writer();
                self.tasks.spawn(run_livekit_voice(
                    pump,
                    opus,
                    room,
                    track_sid,
                    Arc::clone(&control),
                    stop.clone(),
                ));
            }
        }
        self.voice = Some(VoiceChat { control, stop });
        Ok(())
    }

    /// Stops sending the user's audio (`closeVoiceChat`).
    pub async fn close_voice_chat(&mut self) {
        if let Some(voice) = self.voice.take() {
            voice.stop.cancel();
        }
    }

    /// Whether voice chat runs.
    pub fn is_voice_chatting(&self) -> bool {
        self.voice.is_some()
    }

    /// `isInputAudioMuted`: true when no voice chat runs, as in the official SDK.
    pub fn is_input_audio_muted(&self) -> bool {
        self.voice.as_ref().is_none_or(|v| v.control.is_muted())
    }

    /// `muteInputAudio`: zeros on the socket transport, a muted track on LiveKit.
    pub fn mute_input_audio(&self) {
        if let Some(voice) = &self.voice {
            voice.control.muted.store(true, Ordering::SeqCst);
        }
    }

    /// `unmuteInputAudio`.
    pub fn unmute_input_audio(&self) {
        if let Some(voice) = &self.voice {
            voice.control.muted.store(false, Ordering::SeqCst);
        }
    }

    /// The official SDK's `stopAvatar`, and more: stops voice chat, calls `streaming.stop`,
    /// waits briefly for the server to end the room (so `StreamDisconnected` carries the
    /// server's reason, `RoomDeleted` on HeyGen), leaves the room itself if it did not, closes
    /// the chat socket, and waits for every task of the session to end.
    ///
    /// # Errors
    /// The `streaming.stop` call's (400004 for a session that had already ended); the
    /// session's sockets and tasks are ended either way.
    pub async fn stop(&mut self) -> Result<(), Error> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        self.close_voice_chat().await;
        let result = self.session_call("/v1/streaming.stop").await;
        if let Some(room) = &self.room {
            if result.is_ok() {
                room.wait_ended(LEAVE_WAIT).await;
            }
        }
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(TASKS_WAIT, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = self.tasks.len(),
                "session tasks still running after stop"
            );
        }
        result
    }

    /// Leaves the room and closes the socket without ending the session: for a second viewer
    /// or an observer of a session someone else runs (`stop` and `Drop` would end it for
    /// everyone). Waits for the session's tasks, bounded.
    pub async fn leave(mut self) {
        self.stopped = true;
        self.close_voice_chat().await;
        self.stop.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(TASKS_WAIT, self.tasks.wait()).await;
    }

    /// Tasks the session still runs (0 after `stop`).
    pub fn running_tasks(&self) -> usize {
        self.tasks.len()
    }
}

impl Drop for Session {
    /// Ends every task at once (they end on the stop signal: the room sends `leave`, the socket
    /// closes) and, when the session was never stopped and a runtime is there, calls
    /// `streaming.stop` on a task bounded by a timeout.
    fn drop(&mut self) {
        self.stop.cancel();
        self.tasks.close();
        if self.stopped {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let rest = self.client.rest().clone();
            let session_id = self.info.session_id.clone();
            runtime.spawn(async move {
                let stop = rest.session_call("/v1/streaming.stop", &session_id);
                let _ = tokio::time::timeout(DROP_STOP_TIMEOUT, stop).await;
            });
        }
    }
}

/// Sends the SDK's audio frames on the chat socket at real-time pace: 512 samples every 32 ms,
/// zeros while muted.
async fn run_socket_voice(
    mut pump: FramePump,
    outgoing: tokio::sync::mpsc::Sender<Vec<u8>>,
    control: Arc<VoiceControl>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(voice::frame_period(VoiceChatTransport::WebSocket));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut frame = pump.next_frame(voice::SOCKET_FRAME_SAMPLES);
        if control.is_muted() {
            frame.iter_mut().for_each(|s| *s = 0);
        }
        if outgoing.send(voice::socket_frame(&frame)).await.is_err() {
            return;
        }
    }
}

/// Sends 20 ms Opus packets to the microphone track; nothing while muted (the track is muted).
async fn run_livekit_voice(
    mut pump: FramePump,
    mut opus: OpusFrames,
    room: crate::room::RoomWriter,
    track_sid: String,
    control: Arc<VoiceControl>,
    stop: CancellationToken,
) {
    let period = voice::frame_period(VoiceChatTransport::LiveKit);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut was_muted = control.is_muted();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let muted = control.is_muted();
        if muted != was_muted {
            was_muted = muted;
            if room.set_microphone_muted(&track_sid, muted).await.is_err() {
                return;
            }
        }
        let frame = pump.next_frame(voice::OPUS_FRAME_SAMPLES);
        if muted {
            continue;
        }
        let packet = match opus.encode(&frame) {
            Ok(packet) => packet,
            Err(e) => {
                tracing::warn!(%e, "microphone encoding failed");
                return;
            }
        };
        if let Err(e) = room.write_microphone(packet, period).await {
            tracing::debug!(%e, "microphone stopped");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// An app spawns these on a multi-threaded runtime: their futures must be `Send`. Compiling
    /// this is the test (it is never called).
    #[allow(dead_code)]
    fn session_futures_are_send(session: &mut Session, request: &SpeakRequest) {
        assert_send(&session.start());
        assert_send(&session.connect());
        assert_send(&session.speak(request));
        assert_send(&session.stop());
    }

    #[allow(dead_code)]
    async fn leaving_is_send(session: Session) {
        let leave = session.leave();
        assert_send(&leave);
        leave.await;
    }
}
