//! Waiting on the SDK's event stream in tests: the next event of a name or shape, or the next
//! one from the room, each with the suite's timeout.

use std::time::Duration;
use streaming_avatar::{EventSource, EventStream, StreamingEvent};

/// How long a test waits for any one event.
pub const EVENT_WAIT: Duration = Duration::from_secs(15);

/// The next event named `name`, skipping others.
///
/// # Panics
/// When none comes within [`EVENT_WAIT`].
pub async fn next_named(events: &mut EventStream, name: &str) -> StreamingEvent {
    events
        .wait_for(EVENT_WAIT, |e| e.name() == name)
        .await
        .unwrap_or_else(|e| panic!("no {name}: {e}"))
        .event
}

/// The next avatar or user event that came over the room's data channel, skipping the SDK's
/// own (stream ready, connection quality) and the chat socket's.
///
/// # Panics
/// When none comes within [`EVENT_WAIT`], or the stream lagged.
pub async fn next_from_room(events: &mut EventStream) -> StreamingEvent {
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, events.next())
            .await
            .expect("an event in time")
            .expect("the session is alive")
            .expect("the stream kept up");
        if event.source == EventSource::Room {
            return event.event;
        }
    }
}
