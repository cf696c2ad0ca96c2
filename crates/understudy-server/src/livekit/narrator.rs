//! Turns the speech schedule into avatar events, one frame tick at a time, so events agree with
//! the media the same tick sends.
//!
//! Per task, in order: `avatar_start_talking` on the first talking frame; `avatar_talking_message`
//! chunks as the words are "said" (each chunk carries its own trailing space, since clients join
//! chunks with `""`); `avatar_end_message`; `avatar_stop_talking` with the time actually spoken
//! on the first frame after the last talking one. A task cut by interrupt or close stops at once
//! and its unsaid words are never sent.
//!
//! With a latency profile's `talk_text_first` (the `heygen` profile), a `talk` task's whole
//! reply goes out as one `avatar_talking_message` as soon as it is queued, before it starts
//! talking, as observed on the real service; its speech then sends no more chunks.

use crate::clock::TimeScale;
use crate::speech::ScheduledTask;
use tokio::time::Instant;
use understudy_proto::events::DataChannelEvent;
use understudy_proto::rest::task::TaskType;

#[derive(Debug)]
struct Speaking {
    task_id: String,
    words: Vec<String>,
    said: usize,
    starts_at: Instant,
    ends_at: Instant,
}

/// The event state of one viewer's stream.
#[derive(Debug, Default)]
pub struct Narrator {
    speaking: Option<Speaking>,
    /// `avatar_stop_talking`'s `duration_ms` is in the service's time.
    clock: TimeScale,
    /// Send a `talk` reply's text when it is queued (see the module's doc).
    talk_text_first: bool,
    /// `talk` tasks whose text went out ahead of their speech.
    announced: Vec<String>,
}

impl Narrator {
    /// A narrator for a session whose timers run at `clock`, sending `talk` replies' text ahead
    /// of their speech when `talk_text_first`.
    pub fn new(clock: TimeScale, talk_text_first: bool) -> Self {
        Self {
            speaking: None,
            clock,
            talk_text_first,
            announced: Vec::new(),
        }
    }

    /// With `talk_text_first`, the whole text of each `talk` task among `upcoming` (queued,
    /// not yet talking) not announced yet, one event per task.
    pub fn announce(&mut self, upcoming: &[ScheduledTask]) -> Vec<DataChannelEvent> {
        if !self.talk_text_first {
            return Vec::new();
        }
        let speaking = self.speaking.as_ref().map(|s| s.task_id.as_str());
        // Forget tasks that were dropped (an interrupt) or have started.
        self.announced.retain(|id| {
            upcoming.iter().any(|t| t.task_id == *id) || Some(id.as_str()) == speaking
        });
        let mut events = Vec::new();
        for task in upcoming.iter().filter(|t| t.task_type == TaskType::Talk) {
            if !self.announced.contains(&task.task_id) {
                self.announced.push(task.task_id.clone());
                events.push(DataChannelEvent::AvatarTalkingMessage {
                    task_id: task.task_id.clone(),
                    message: task.spoken_text.clone(),
                });
            }
        }
        events
    }

    /// Whether the frame going out now shows talking.
    pub fn is_talking(&self) -> bool {
        self.speaking.is_some()
    }

    /// Advances to `now`, given the task the schedule says is speaking (if any), and returns
    /// the events to send with this frame, in order.
    pub fn tick(&mut self, now: Instant, current: Option<&ScheduledTask>) -> Vec<DataChannelEvent> {
        let mut events = Vec::new();
        let same_task =
            matches!((&self.speaking, current), (Some(s), Some(c)) if s.task_id == c.task_id);
        if !same_task {
            if let Some(done) = self.speaking.take() {
                self.finish(done, now, &mut events);
            }
            if let Some(task) = current {
                events.push(DataChannelEvent::AvatarStartTalking {
                    task_id: task.task_id.clone(),
                });
                let words: Vec<String> = task
                    .spoken_text
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                // An announced task's text is out already.
                let said = if self.announced.contains(&task.task_id) {
                    words.len()
                } else {
                    0
                };
                self.speaking = Some(Speaking {
                    task_id: task.task_id.clone(),
                    words,
                    said,
                    starts_at: now,
                    ends_at: task.ends_at.max(now),
                });
            }
        }
        if let Some(speaking) = self.speaking.as_mut() {
            let due = words_due(speaking, now);
            if let Some(chunk) = chunk(speaking, due) {
                events.push(chunk);
            }
        }
        events
    }

    /// Ends the current task because the stream is closing.
    pub fn finish_now(&mut self, now: Instant) -> Vec<DataChannelEvent> {
        let mut events = Vec::new();
        if let Some(done) = self.speaking.take() {
            self.finish(done, now, &mut events);
        }
        events
    }

    fn finish(&self, mut done: Speaking, now: Instant, events: &mut Vec<DataChannelEvent>) {
        if now >= done.ends_at {
            let all = done.words.len();
            if let Some(rest) = chunk(&mut done, all) {
                events.push(rest);
            }
        }
        events.push(DataChannelEvent::AvatarEndMessage {
            task_id: done.task_id.clone(),
        });
        let spoken = self
            .clock
            .to_service(now.saturating_duration_since(done.starts_at));
        events.push(DataChannelEvent::AvatarStopTalking {
            task_id: done.task_id,
            duration_ms: Some(spoken.as_secs_f64() * 1000.0),
        });
    }
}

/// How many words have been started by `now`: words are spread evenly over the task and a
/// word counts from its first moment, so the first goes out with `avatar_start_talking`.
fn words_due(speaking: &Speaking, now: Instant) -> usize {
    let total = speaking
        .ends_at
        .saturating_duration_since(speaking.starts_at)
        .as_secs_f64();
    if total <= 0.0 {
        return speaking.words.len();
    }
    let elapsed = now
        .saturating_duration_since(speaking.starts_at)
        .as_secs_f64();
    let fraction = (elapsed / total).clamp(0.0, 1.0);
    ((fraction * speaking.words.len() as f64).floor() as usize + 1).min(speaking.words.len())
}

/// The words from `said` up to `due` as one message, or nothing.
fn chunk(speaking: &mut Speaking, due: usize) -> Option<DataChannelEvent> {
    if due <= speaking.said {
        return None;
    }
    let last = speaking.words.len();
    let message: String = speaking.words[speaking.said..due]
        .iter()
        .enumerate()
        .map(|(i, word)| {
            if speaking.said + i + 1 == last {
                word.clone()
            } else {
                format!("{word} ")
            }
        })
        .collect();
    speaking.said = due;
    Some(DataChannelEvent::AvatarTalkingMessage {
        task_id: speaking.task_id.clone(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn task(id: &str, text: &str, start: Instant, ms: u64) -> ScheduledTask {
        ScheduledTask {
            task_id: id.into(),
            spoken_text: text.into(),
            task_type: TaskType::Repeat,
            starts_at: start,
            ends_at: start + Duration::from_millis(ms),
        }
    }

    fn names(events: &[DataChannelEvent]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                DataChannelEvent::AvatarStartTalking { .. } => "start",
                DataChannelEvent::AvatarTalkingMessage { .. } => "message",
                DataChannelEvent::AvatarEndMessage { .. } => "end",
                DataChannelEvent::AvatarStopTalking { .. } => "stop",
                _ => "other",
            })
            .collect()
    }

    fn text(events: &[DataChannelEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                DataChannelEvent::AvatarTalkingMessage { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_task_is_narrated_in_order_and_its_chunks_rebuild_the_text() {
        let t0 = Instant::now();
        let spoken = task("a", "one two three four", t0, 400);
        let mut narrator = Narrator::default();
        let mut all = Vec::new();
        for frame in 0..=12 {
            let now = t0 + Duration::from_millis(frame * 40);
            let current = (now < spoken.ends_at).then_some(&spoken);
            all.extend(narrator.tick(now, current));
        }
        let order = names(&all);
        assert_eq!(order.first(), Some(&"start"));
        assert_eq!(&order[order.len() - 2..], ["end", "stop"]);
        assert!(order[1..order.len() - 2].iter().all(|n| *n == "message"));
        assert_eq!(text(&all), "one two three four");
        assert!(!narrator.is_talking());
    }

    #[test]
    fn talk_text_first_sends_the_reply_before_the_speech_and_once() {
        let t0 = Instant::now();
        let mut reply = task(
            "a",
            "one two three four",
            t0 + Duration::from_millis(3000),
            400,
        );
        reply.task_type = TaskType::Talk;
        let repeat = task("b", "five six", t0 + Duration::from_millis(3400), 400);
        let mut narrator = Narrator::new(TimeScale::REAL, true);
        let upcoming = [reply.clone(), repeat.clone()];
        let early = narrator.announce(&upcoming);
        assert_eq!(names(&early), ["message"], "the talk reply only");
        assert_eq!(text(&early), "one two three four");
        assert!(narrator.announce(&upcoming).is_empty(), "once");
        let mut later = Vec::new();
        for frame in 0..=10 {
            let now = reply.starts_at + Duration::from_millis(frame * 40);
            let current = (now < reply.ends_at).then_some(&reply);
            later.extend(narrator.tick(now, current));
        }
        assert_eq!(
            names(&later),
            ["start", "end", "stop"],
            "no second copy of the text"
        );
        // Without the flag nothing goes ahead.
        let mut plain = Narrator::default();
        assert!(plain.announce(&upcoming).is_empty());
    }

    #[test]
    fn an_interrupted_task_stops_at_once_without_its_unsaid_words() {
        let t0 = Instant::now();
        let spoken = task("a", "one two three four five six seven eight", t0, 800);
        let mut narrator = Narrator::default();
        let mut all = narrator.tick(t0, Some(&spoken));
        all.extend(narrator.tick(t0 + Duration::from_millis(200), Some(&spoken)));
        let cut = narrator.tick(t0 + Duration::from_millis(240), None);
        assert_eq!(names(&cut), ["end", "stop"]);
        match &cut[1] {
            DataChannelEvent::AvatarStopTalking { duration_ms, .. } => {
                assert_eq!(*duration_ms, Some(240.0))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(text(&all), "one two three ");
    }

    #[test]
    fn back_to_back_tasks_stop_one_before_starting_the_next() {
        let t0 = Instant::now();
        let a = task("a", "hello", t0, 400);
        let b = task("b", "world", a.ends_at, 400);
        let mut narrator = Narrator::default();
        narrator.tick(t0, Some(&a));
        let switch = narrator.tick(a.ends_at, Some(&b));
        assert_eq!(names(&switch), ["end", "stop", "start", "message"]);
    }
}
