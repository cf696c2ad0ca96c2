//! The merged, timed event stream of one scenario run: REST replies, chat-socket events, room
//! data events and the SDK's own events, each stamped with when it arrived, on one time axis
//! that starts when the scenario does.

use serde::Serialize;
use serde_json::{Value, json};
use streaming_avatar::{Event, EventSource, StreamingEvent};
use tokio::time::Instant;

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub struct TimedEvent {
    /// Milliseconds since the scenario began.
    pub at_ms: f64,
    /// `rest`, `room`, `chat_socket` or `sdk`.
    pub source: &'static str,
    /// The event's name (`avatar_start_talking`), or `rest:<step>` for a reply.
    pub name: String,
    pub fields: Value,
}

/// Every event of a run, in order of arrival time.
#[derive(Debug)]
pub struct Timeline {
    began: Instant,
    events: Vec<TimedEvent>,
}

impl Timeline {
    pub fn new(began: Instant) -> Self {
        Self {
            began,
            events: Vec::new(),
        }
    }

    /// Milliseconds from the scenario's start to `at`.
    pub fn ms(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.began).as_secs_f64() * 1000.0
    }

    /// A REST reply to a step.
    pub fn reply(&mut self, at: Instant, step: &str, status: u16, body: &Value) {
        let event = TimedEvent {
            at_ms: self.ms(at),
            source: "rest",
            name: format!("rest:{step}"),
            fields: json!({"status": status, "code": body.get("code"), "shape": shape(body)}),
        };
        self.insert(event);
    }

    /// Keeps the timeline in time order: events reach it late (drained from the SDK after a
    /// step), replies at once.
    fn insert(&mut self, event: TimedEvent) {
        let at = self
            .events
            .iter()
            .rposition(|e| e.at_ms <= event.at_ms)
            .map_or(0, |i| i + 1);
        self.events.insert(at, event);
    }

    /// An event the SDK received.
    pub fn sdk_event(&mut self, event: &Event) {
        let timed = TimedEvent {
            at_ms: self.ms(event.at),
            source: match event.source {
                EventSource::Room => "room",
                EventSource::ChatSocket => "chat_socket",
                EventSource::Sdk => "sdk",
            },
            name: event.event.name().to_owned(),
            fields: fields(&event.event),
        };
        self.insert(timed);
    }

    pub fn events(&self) -> &[TimedEvent] {
        &self.events
    }

    pub fn into_events(self) -> Vec<TimedEvent> {
        self.events
    }
}

/// A JSON value's shape: its structure with every leaf replaced by its type (`"string"`,
/// `"number"`, …), so two replies compare equal when only their ids and times differ.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// An event's fields as JSON, as the wire carried them.
pub fn fields(event: &StreamingEvent) -> Value {
    match event {
        StreamingEvent::AvatarStartTalking { task_id }
        | StreamingEvent::AvatarEndMessage { task_id }
        | StreamingEvent::UserEndMessage { task_id } => json!({ "task_id": task_id }),
        StreamingEvent::AvatarStopTalking {
            task_id,
            duration_ms,
        } => json!({ "task_id": task_id, "duration_ms": duration_ms }),
        StreamingEvent::AvatarTalkingMessage { task_id, message }
        | StreamingEvent::UserTalkingMessage { task_id, message } => {
            json!({ "task_id": task_id, "message": message })
        }
        StreamingEvent::UserSilence {
            silence_times,
            count_down,
        } => json!({ "silence_times": silence_times, "count_down": count_down }),
        StreamingEvent::StreamDisconnected { reason } => json!({ "reason": format!("{reason:?}") }),
        StreamingEvent::ConnectionQualityChanged { quality } => {
            json!({ "quality": quality.as_str() })
        }
        StreamingEvent::Other { payload, .. } => payload.clone(),
        StreamingEvent::LiveAvatar(event) => serde_json::to_value(event).unwrap_or_default(),
        _ => json!({}),
    }
}
