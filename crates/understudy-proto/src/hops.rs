//! The hops of a speak, named once for the two sides that mark them and whoever reads them.
//!
//! The server and the Rust SDK each emit a `TRACE` event with target [`TARGET`] and a field
//! `hop` naming the step a speak just passed, from the request leaving the app to
//! `avatar_start_talking` arriving back. Nothing listens by default (the events are filtered out
//! and cost an atomic load); `RUST_LOG=understudy::hop=trace` prints them, and the
//! `room_latency` bench records their instants to say where the time of a speak goes.
//!
//! Names are in the order a speak passes them; each path has its own first hops.

/// The `tracing` target of every hop event.
pub const TARGET: &str = "understudy::hop";

/// SDK: a speak's chat-socket frame written to the socket by the socket's task.
pub const SDK_SOCKET_WRITTEN: &str = "sdk.socket_written";
/// SDK: a speak's LiveKit data packet handed to the publisher peer's driver.
pub const SDK_DATA_QUEUED: &str = "sdk.data_queued";
/// Server: a speak read off its door (the chat socket's frame, the HTTP task's body, the
/// client's LiveKit data packet), parsed.
pub const SERVER_SPEAK_READ: &str = "server.speak_read";
/// Server: the LiveKit data packet reached the viewer's signalling task.
pub const SERVER_SPEAK_AT_OWNER: &str = "server.speak_at_owner";
/// Server: the task is on the speech schedule and viewers are told.
pub const SERVER_SPEECH_QUEUED: &str = "server.speech_queued";
/// Server: a viewer's stage woke to the schedule change.
pub const STAGE_WOKEN: &str = "stage.woken";
/// Server: the stage encoded an event.
pub const STAGE_EVENT_ENCODED: &str = "stage.event_encoded";
/// Server: the event is queued on the peer's data channel (its driver puts it on the wire).
pub const STAGE_EVENT_QUEUED: &str = "stage.event_queued";
/// SDK: the HTTP answer to `streaming.task` arrived.
pub const SDK_HTTP_ANSWERED: &str = "sdk.http_answered";
/// SDK: the room's data channel delivered an event's message.
pub const SDK_EVENT_RECEIVED: &str = "sdk.event_received";
/// SDK: the event is on the session's event stream.
pub const SDK_EVENT_EMITTED: &str = "sdk.event_emitted";

/// Every hop, in the order a speak passes them.
pub const ALL: [&str; 11] = [
    SDK_SOCKET_WRITTEN,
    SDK_DATA_QUEUED,
    SERVER_SPEAK_READ,
    SERVER_SPEAK_AT_OWNER,
    SERVER_SPEECH_QUEUED,
    STAGE_WOKEN,
    STAGE_EVENT_ENCODED,
    STAGE_EVENT_QUEUED,
    SDK_HTTP_ANSWERED,
    SDK_EVENT_RECEIVED,
    SDK_EVENT_EMITTED,
];
