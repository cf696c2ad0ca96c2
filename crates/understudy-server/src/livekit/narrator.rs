//! Turns the speech schedule into avatar events, one frame tick at a time, so events agree with
//! the media the same tick sends.
//!
//! Two timelines (`EventTimeline`):
//!
//! - **Observed** (the default, heygen-api.md §7.2): a task's text goes out as soon as it is
//!   queued, before it starts talking: a `repeat` task's as one `avatar_talking_message` holding
//!   the whole text, a `talk` reply's in word and punctuation chunks that concatenate with `""`
//!   to the reply (or in one message, with `TalkReplyText::Whole`). Then `avatar_start_talking`
//!   when it starts talking (its first talking frame and audio packet follow on the stage's
//!   next media tick), `avatar_end_message` and `avatar_stop_talking` when it ends.
//! - **Progressive**: `avatar_start_talking` first, then the words in chunks as they are "said"
//!   (each carrying its own trailing space), then the end; a task cut by interrupt or close
//!   never sends its unsaid words.
//!
//! `avatar_stop_talking` carries the time actually spoken, on the first frame after the last
//! talking one, in either.

use crate::clock::TimeScale;
use crate::config::{EventTimeline, TalkReplyText};
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
    /// A client's audio (the realtime endpoint): no text, so no messages, only the start and
    /// the stop.
    audio: bool,
}

/// The event state of one viewer's stream.
#[derive(Debug, Default)]
pub struct Narrator {
    speaking: Option<Speaking>,
    /// `avatar_stop_talking`'s `duration_ms` is in the service's time.
    clock: TimeScale,
    timeline: EventTimeline,
    /// How a `talk` reply's text goes out ahead of its speech (observed timeline).
    talk_reply_text: TalkReplyText,
    /// Tasks whose text went out ahead of their speech (observed timeline).
    announced: Vec<String>,
}

impl Narrator {
    /// A narrator for a session whose timers run at `clock`, on `timeline`.
    pub fn new(clock: TimeScale, timeline: EventTimeline) -> Self {
        Self {
            speaking: None,
            clock,
            timeline,
            talk_reply_text: TalkReplyText::default(),
            announced: Vec::new(),
        }
    }

    /// On the observed timeline, sends a `talk` reply's text as `text` says.
    #[must_use]
    pub fn with_talk_reply_text(mut self, text: TalkReplyText) -> Self {
        self.talk_reply_text = text;
        self
    }

    /// On the observed timeline, the text of each task in `queued` (the speaking one, then
    /// those after it) that has not gone out yet and is not already being narrated.
    pub fn announce<'a>(
        &mut self,
        queued: impl IntoIterator<Item = &'a ScheduledTask>,
    ) -> Vec<DataChannelEvent> {
        if self.timeline != EventTimeline::Observed {
            return Vec::new();
        }
        let speaking = self.speaking.as_ref().map(|s| s.task_id.clone());
        let queued: Vec<&ScheduledTask> = queued.into_iter().collect();
        // Forget tasks that were dropped (an interrupt) or are done.
        self.announced
            .retain(|id| queued.iter().any(|t| t.task_id == *id) || speaking.as_ref() == Some(id));
        let mut events = Vec::new();
        for task in queued {
            if task.audio.is_some()
                || self.announced.contains(&task.task_id)
                || speaking.as_ref() == Some(&task.task_id)
            {
                continue;
            }
            self.announced.push(task.task_id.clone());
            let chunks = match (task.task_type, self.talk_reply_text) {
                (TaskType::Repeat, _) | (TaskType::Talk, TalkReplyText::Whole) => {
                    vec![task.spoken_text.clone()]
                }
                (TaskType::Talk, TalkReplyText::Words) => word_chunks(&task.spoken_text),
            };
            events.extend(chunks.into_iter().map(|message| {
                DataChannelEvent::AvatarTalkingMessage {
                    task_id: task.task_id.clone(),
                    message,
                }
            }));
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
                    audio: task.audio.is_some(),
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
        if !done.audio {
            events.push(DataChannelEvent::AvatarEndMessage {
                task_id: done.task_id.clone(),
            });
        }
        let spoken = self
            .clock
            .to_service(now.saturating_duration_since(done.starts_at));
        events.push(DataChannelEvent::AvatarStopTalking {
            task_id: done.task_id,
            duration_ms: Some(spoken.as_secs_f64() * 1000.0),
        });
    }
}

/// A reply in word and punctuation chunks, each word with the space before it, so that the
/// chunks concatenate with `""` to the reply: `"Sorry! I can."` is `"Sorry"`, `"!"`, `" I"`,
/// `" can"`, `"."`.
fn word_chunks(text: &str) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_is_word = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !current.trim().is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            current.push(c);
            current_is_word = false;
            continue;
        }
        let is_word = c.is_alphanumeric() || c == '\'' || c == '\u{2019}';
        if !current.trim().is_empty() && is_word != current_is_word {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(c);
        current_is_word = is_word;
    }
    if !current.is_empty() {
        match chunks.last_mut() {
            // Trailing whitespace belongs to the last chunk, so nothing is lost.
            Some(last) if current.trim().is_empty() => last.push_str(&current),
            _ => chunks.push(current),
        }
    }
    chunks
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
            audio: None,
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
        let mut narrator = Narrator::new(TimeScale::REAL, EventTimeline::Progressive);
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
    fn a_clients_audio_only_starts_and_stops_talking() {
        let t0 = Instant::now();
        let mut spoken = task("a", "", t0, 200);
        spoken.audio = Some(crate::speech::SpokenAudio::default());
        for timeline in [EventTimeline::Observed, EventTimeline::Progressive] {
            let mut narrator = Narrator::new(TimeScale::REAL, timeline);
            let mut all = narrator.announce([&spoken]);
            for frame in 0..=6 {
                let now = t0 + Duration::from_millis(frame * 40);
                all.extend(narrator.tick(now, (now < spoken.ends_at).then_some(&spoken)));
            }
            assert_eq!(names(&all), ["start", "stop"], "{timeline:?}");
        }
    }

    #[test]
    fn the_observed_timeline_sends_the_text_first_and_once() {
        let t0 = Instant::now();
        let mut reply = task(
            "a",
            "Sorry! I can't, today.",
            t0 + Duration::from_millis(3000),
            400,
        );
        reply.task_type = TaskType::Talk;
        let repeat = task("b", "five six", t0 + Duration::from_millis(3400), 400);
        let mut narrator = Narrator::new(TimeScale::REAL, EventTimeline::Observed);
        let queued = [reply.clone(), repeat.clone()];
        let early = narrator.announce(&queued);
        let reply_chunks: Vec<&str> = early
            .iter()
            .filter_map(|e| match e {
                DataChannelEvent::AvatarTalkingMessage { task_id, message } if task_id == "a" => {
                    Some(message.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            reply_chunks,
            ["Sorry", "!", " I", " can't", ",", " today", "."]
        );
        assert_eq!(
            text(&early),
            "Sorry! I can't, today.five six",
            "repeat: one message"
        );
        assert!(narrator.announce(&queued).is_empty(), "once");
        let mut later = Vec::new();
        for frame in 0..=10 {
            let now = reply.starts_at + Duration::from_millis(frame * 40);
            let current = (now < reply.ends_at).then_some(&reply);
            later.extend(narrator.announce(current));
            later.extend(narrator.tick(now, current));
        }
        assert_eq!(
            names(&later),
            ["start", "end", "stop"],
            "no second copy of the text"
        );
        // The progressive timeline sends nothing ahead.
        let mut progressive = Narrator::new(TimeScale::REAL, EventTimeline::Progressive);
        assert!(progressive.announce(&queued).is_empty());
    }

    #[test]
    fn a_whole_talk_reply_goes_out_in_one_message_before_the_start() {
        let t0 = Instant::now();
        let mut reply = task("a", "Sorry! I can't, today.", t0, 400);
        reply.task_type = TaskType::Talk;
        let mut narrator = Narrator::new(TimeScale::REAL, EventTimeline::Observed)
            .with_talk_reply_text(TalkReplyText::Whole);
        let mut all = narrator.announce([&reply]);
        for frame in 0..=11 {
            let now = t0 + Duration::from_millis(frame * 40);
            let current = (now < reply.ends_at).then_some(&reply);
            all.extend(narrator.announce(current));
            all.extend(narrator.tick(now, current));
        }
        assert_eq!(names(&all), ["message", "start", "end", "stop"]);
        assert_eq!(text(&all), "Sorry! I can't, today.");
    }

    #[test]
    fn word_chunks_concatenate_to_the_text() {
        for text in [
            "Hello there, world!",
            "  a  b ",
            "",
            "Déjà vu… ok?",
            "你好 世界",
        ] {
            assert_eq!(word_chunks(text).concat(), text);
        }
    }

    #[test]
    fn an_interrupted_task_stops_at_once_without_its_unsaid_words() {
        let t0 = Instant::now();
        let spoken = task("a", "one two three four five six seven eight", t0, 800);
        let mut narrator = Narrator::new(TimeScale::REAL, EventTimeline::Progressive);
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
        let mut narrator = Narrator::new(TimeScale::REAL, EventTimeline::Progressive);
        narrator.tick(t0, Some(&a));
        let switch = narrator.tick(a.ends_at, Some(&b));
        assert_eq!(names(&switch), ["end", "stop", "start", "message"]);
    }
}
