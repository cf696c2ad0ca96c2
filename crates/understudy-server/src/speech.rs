//! The speech schedule: when each task of a session speaks. Pure data over explicit instants,
//! so the events and media of the real-time layer, and `sync` task answers, all read one truth.
//!
//! Tasks queue back to back; a new task never cuts the current one (§3.5). A task may start
//! later than it could (a latency profile's `speak` delay). `interrupt` cuts the current task,
//! at once or after a tail, and drops the queue.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use understudy_proto::rest::task::TaskType;

/// How the mock turns a task into speech: its speaking rate (words per minute at voice rate
/// 1.0) and the seed of its deterministic `talk` replies. Read from the server's config once,
/// when a session is created, so every writer of speech uses the same model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechModel {
    pub words_per_minute: f64,
    pub reply_seed: u64,
}

/// The shortest utterance the mock speaks, so that even one word yields visible talking.
pub const MIN_SPEECH: Duration = Duration::from_millis(400);

/// One task on the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledTask {
    pub task_id: String,
    /// What the avatar says: the text for `repeat`, the reply for `talk`.
    pub spoken_text: String,
    pub task_type: TaskType,
    pub starts_at: Instant,
    pub ends_at: Instant,
    /// What the room plays while it speaks: the client's own audio for a task from the
    /// realtime endpoint, or `None` for the synthetic voice.
    pub audio: Option<SpokenAudio>,
}

/// Audio a client sent for the avatar to say (the realtime endpoint), as the Opus packets the
/// room plays, 20 ms each. The socket that receives it appends while viewers play it, so it is
/// shared; two are equal only when they are the same audio.
#[derive(Debug, Clone, Default)]
pub struct SpokenAudio(Arc<Mutex<Vec<Bytes>>>);

impl SpokenAudio {
    pub fn push(&self, packets: impl IntoIterator<Item = Bytes>) {
        self.packets().extend(packets);
    }

    /// Packet `index`, once it has arrived.
    pub fn packet(&self, index: usize) -> Option<Bytes> {
        self.packets().get(index).cloned()
    }

    pub fn len(&self) -> usize {
        self.packets().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn packets(&self) -> std::sync::MutexGuard<'_, Vec<Bytes>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PartialEq for SpokenAudio {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl ScheduledTask {
    pub fn duration(&self) -> Duration {
        self.ends_at - self.starts_at
    }
}

/// Tasks a session may have queued (the speaking one included). A client that queues faster
/// than the avatar speaks is refused past this, so one session cannot grow without bound.
/// [INF] HeyGen's own limit is not documented; see docs/fidelity.md.
pub const MAX_QUEUED_TASKS: usize = 256;

/// The queue is full ([`MAX_QUEUED_TASKS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The queue of one session's tasks, in speaking order.
#[derive(Debug, Default)]
pub struct SpeechSchedule {
    tasks: VecDeque<ScheduledTask>,
}

impl SpeechSchedule {
    /// Appends a task that starts when the last queued one ends or at `now + lead`, whichever
    /// is later: speech never overlaps, and a task is not said before its lead has passed.
    ///
    /// # Errors
    /// [`QueueFull`] when [`MAX_QUEUED_TASKS`] tasks are still to be said.
    pub fn enqueue(
        &mut self,
        now: Instant,
        task_id: String,
        spoken_text: String,
        task_type: TaskType,
        lead: Duration,
        duration: Duration,
    ) -> Result<ScheduledTask, QueueFull> {
        self.push(now, task_id, spoken_text, task_type, None, lead, duration)
    }

    /// Appends a task that says `audio` (the realtime endpoint), as [`Self::enqueue`] does a
    /// text: its duration is the audio received so far, and [`Self::extend`] lengthens it as
    /// more arrives.
    ///
    /// # Errors
    /// [`QueueFull`] when [`MAX_QUEUED_TASKS`] tasks are still to be said.
    pub fn enqueue_audio(
        &mut self,
        now: Instant,
        task_id: String,
        audio: SpokenAudio,
        lead: Duration,
        duration: Duration,
    ) -> Result<ScheduledTask, QueueFull> {
        self.push(
            now,
            task_id,
            String::new(),
            TaskType::Repeat,
            Some(audio),
            lead,
            duration,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        now: Instant,
        task_id: String,
        spoken_text: String,
        task_type: TaskType,
        audio: Option<SpokenAudio>,
        lead: Duration,
        duration: Duration,
    ) -> Result<ScheduledTask, QueueFull> {
        self.prune(now);
        if self.tasks.len() >= MAX_QUEUED_TASKS {
            return Err(QueueFull);
        }
        let earliest = now + lead;
        let starts_at = self
            .tasks
            .back()
            .map_or(earliest, |last| last.ends_at.max(earliest));
        let task = ScheduledTask {
            task_id,
            spoken_text,
            task_type,
            starts_at,
            ends_at: starts_at + duration,
            audio,
        };
        self.tasks.push_back(task.clone());
        Ok(task)
    }

    /// Lengthens task `task_id` by `by` (more of its audio arrived), moving every task after it
    /// back by as much so speech still never overlaps. `None` when the task is no longer to be
    /// said at `now` (it ended, or an interrupt dropped it): the caller starts a new one.
    pub fn extend(&mut self, now: Instant, task_id: &str, by: Duration) -> Option<ScheduledTask> {
        self.prune(now);
        let index = self
            .tasks
            .iter()
            .position(|t| t.task_id == task_id && t.ends_at > now)?;
        self.tasks[index].ends_at += by;
        for later in self.tasks.iter_mut().skip(index + 1) {
            later.starts_at += by;
            later.ends_at += by;
        }
        Some(self.tasks[index].clone())
    }

    /// Forgets tasks that have finished speaking.
    pub fn prune(&mut self, now: Instant) {
        while self.tasks.front().is_some_and(|t| t.ends_at <= now) {
            self.tasks.pop_front();
        }
    }

    /// The task speaking at `now`, if any.
    pub fn current(&self, now: Instant) -> Option<&ScheduledTask> {
        self.tasks
            .iter()
            .find(|t| t.starts_at <= now && now < t.ends_at)
    }

    /// Tasks not yet finished at `now`, the speaking one first.
    pub fn pending(&self, now: Instant) -> impl Iterator<Item = &ScheduledTask> {
        self.tasks.iter().filter(move |t| t.ends_at > now)
    }

    /// Lets the speaking task go on for `tail` (or to its end, if sooner) and drops every task
    /// not yet started. Returns the task that was cut (with its new end), if one was speaking.
    pub fn interrupt(&mut self, now: Instant, tail: Duration) -> Option<ScheduledTask> {
        let cut = self.current(now).cloned().map(|mut t| {
            t.ends_at = t.ends_at.min(now + tail);
            t
        });
        self.tasks.clear();
        if let Some(task) = cut.as_ref().filter(|t| t.ends_at > now) {
            self.tasks.push_back(task.clone());
        }
        cut
    }

    /// The next instant after `now` at which a task starts or stops talking: when a viewer must
    /// look again, however far apart its frames are.
    pub fn next_change(&self, now: Instant) -> Option<Instant> {
        self.tasks
            .iter()
            .flat_map(|t| [t.starts_at, t.ends_at])
            .filter(|at| *at > now)
            .min()
    }
}

/// How long `text` takes to say at `words_per_minute`, scaled by the voice's `rate`.
///
/// Words are whitespace-separated runs; each CJK character counts as a word of its own since
/// those scripts put no spaces between words. The result is never below [`MIN_SPEECH`].
pub fn speech_duration(text: &str, words_per_minute: f64, rate: f64) -> Duration {
    let words = count_words(text) as f64;
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
    };
    let seconds = words * 60.0 / (words_per_minute * rate);
    Duration::from_secs_f64(seconds).max(MIN_SPEECH)
}

fn count_words(text: &str) -> usize {
    text.split_whitespace()
        .map(|token| {
            let cjk = token.chars().filter(|c| is_cjk(*c)).count();
            let other = token.chars().any(|c| c.is_alphanumeric() && !is_cjk(c));
            cjk + usize::from(other)
        })
        .sum()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF) // CJK Compatibility Ideographs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_queue_refuses_until_the_avatar_catches_up() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        for i in 0..MAX_QUEUED_TASKS {
            s.enqueue(
                t0,
                format!("t{i}"),
                "x".into(),
                TaskType::Repeat,
                Duration::ZERO,
                ms(100),
            )
            .unwrap();
        }
        let full = s.enqueue(
            t0,
            "more".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(100),
        );
        assert_eq!(full, Err(QueueFull));
        // Once the first task has been said there is room for one more.
        assert!(
            s.enqueue(
                t0 + ms(100),
                "more".into(),
                "x".into(),
                TaskType::Repeat,
                Duration::ZERO,
                ms(100)
            )
            .is_ok()
        );
    }

    #[test]
    fn tasks_queue_back_to_back() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        let a = s
            .enqueue(
                t0,
                "a".into(),
                "x".into(),
                TaskType::Repeat,
                Duration::ZERO,
                ms(1000),
            )
            .unwrap();
        let b = s
            .enqueue(
                t0 + ms(100),
                "b".into(),
                "y".into(),
                TaskType::Repeat,
                Duration::ZERO,
                ms(500),
            )
            .unwrap();
        assert_eq!(a.starts_at, t0);
        assert_eq!(b.starts_at, a.ends_at);
        assert_eq!(
            s.current(t0 + ms(1200)).map(|t| t.task_id.as_str()),
            Some("b")
        );
    }

    #[test]
    fn a_task_after_silence_starts_now() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        s.enqueue(
            t0,
            "a".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(100),
        )
        .unwrap();
        let b = s
            .enqueue(
                t0 + ms(5000),
                "b".into(),
                "y".into(),
                TaskType::Repeat,
                Duration::ZERO,
                ms(100),
            )
            .unwrap();
        assert_eq!(b.starts_at, t0 + ms(5000));
        assert_eq!(s.pending(t0 + ms(5000)).count(), 1);
    }

    #[test]
    fn interrupt_cuts_the_current_task_and_drops_the_queue() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        s.enqueue(
            t0,
            "a".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(1000),
        )
        .unwrap();
        s.enqueue(
            t0,
            "b".into(),
            "y".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(1000),
        )
        .unwrap();
        let cut = s
            .interrupt(t0 + ms(300), Duration::ZERO)
            .expect("a was speaking");
        assert_eq!(cut.task_id, "a");
        assert_eq!(cut.duration(), ms(300));
        assert!(s.current(t0 + ms(301)).is_none());
        assert_eq!(s.pending(t0).count(), 0);
    }

    #[test]
    fn a_lead_delays_an_idle_avatar_but_not_behind_a_longer_task() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        let a = s
            .enqueue(
                t0,
                "a".into(),
                "x".into(),
                TaskType::Repeat,
                ms(200),
                ms(1000),
            )
            .unwrap();
        assert_eq!(a.starts_at, t0 + ms(200));
        assert!(s.current(t0 + ms(100)).is_none());
        assert_eq!(s.next_change(t0), Some(t0 + ms(200)));
        // Queued behind a task that ends later than its own lead: back to back.
        let b = s
            .enqueue(
                t0,
                "b".into(),
                "y".into(),
                TaskType::Repeat,
                ms(200),
                ms(100),
            )
            .unwrap();
        assert_eq!(b.starts_at, a.ends_at);
        // Queued late: its lead runs past the end of what is being said.
        let c = s
            .enqueue(
                t0 + ms(1200),
                "c".into(),
                "z".into(),
                TaskType::Repeat,
                ms(200),
                ms(100),
            )
            .unwrap();
        // b ends at 1300; c's lead runs to 1400.
        assert_eq!(c.starts_at, t0 + ms(1400));
    }

    #[test]
    fn an_interrupt_with_a_tail_lets_the_current_task_go_on() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        s.enqueue(
            t0,
            "a".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(5000),
        )
        .unwrap();
        s.enqueue(
            t0,
            "b".into(),
            "y".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(1000),
        )
        .unwrap();
        let cut = s.interrupt(t0 + ms(100), ms(1200)).expect("a was speaking");
        assert_eq!(cut.ends_at, t0 + ms(1300));
        assert_eq!(
            s.current(t0 + ms(1299)).map(|t| t.task_id.as_str()),
            Some("a")
        );
        assert!(s.current(t0 + ms(1300)).is_none());
        assert_eq!(s.pending(t0 + ms(100)).count(), 1);
        // A tail longer than what is left ends with the task.
        let mut s = SpeechSchedule::default();
        s.enqueue(
            t0,
            "a".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(500),
        )
        .unwrap();
        assert_eq!(s.interrupt(t0, ms(1200)).unwrap().ends_at, t0 + ms(500));
    }

    #[test]
    fn an_audio_task_grows_as_its_audio_arrives_and_pushes_later_tasks_back() {
        let t0 = Instant::now();
        let mut s = SpeechSchedule::default();
        let audio = SpokenAudio::default();
        let first = s
            .enqueue_audio(t0, "a".into(), audio.clone(), Duration::ZERO, ms(400))
            .unwrap();
        assert_eq!(first.audio.as_ref(), Some(&audio));
        s.enqueue(
            t0,
            "b".into(),
            "x".into(),
            TaskType::Repeat,
            Duration::ZERO,
            ms(100),
        )
        .unwrap();
        let grown = s.extend(t0 + ms(300), "a", ms(1000)).unwrap();
        assert_eq!(grown.ends_at, t0 + ms(1400));
        let after: Vec<_> = s.pending(t0).map(|t| (t.starts_at, t.ends_at)).collect();
        assert_eq!(after[1], (t0 + ms(1400), t0 + ms(1500)), "b moved back");
        // Once it has been said (or cut), it is not extended: a new task starts.
        assert_eq!(s.extend(t0 + ms(1400), "a", ms(100)), None);
        s.interrupt(t0 + ms(1450), Duration::ZERO);
        assert_eq!(s.extend(t0 + ms(1450), "b", ms(100)), None);
    }

    #[test]
    fn spoken_audio_is_shared_between_its_holders() {
        let audio = SpokenAudio::default();
        let held = audio.clone();
        audio.push([Bytes::from_static(b"one"), Bytes::from_static(b"two")]);
        assert_eq!(held.len(), 2);
        assert_eq!(held.packet(1), Some(Bytes::from_static(b"two")));
        assert_eq!(held.packet(2), None);
        assert_ne!(held, SpokenAudio::default());
    }

    #[test]
    fn interrupt_while_silent_does_nothing() {
        let mut s = SpeechSchedule::default();
        assert!(s.interrupt(Instant::now(), Duration::ZERO).is_none());
    }

    #[test]
    fn duration_follows_words_and_rate() {
        // 150 wpm: 10 words take 4 s; at rate 2 they take 2 s.
        let ten = "one two three four five six seven eight nine ten";
        assert_eq!(speech_duration(ten, 150.0, 1.0), Duration::from_secs(4));
        assert_eq!(speech_duration(ten, 150.0, 2.0), Duration::from_secs(2));
        assert_eq!(speech_duration("hi", 150.0, 1.0), MIN_SPEECH);
    }

    #[test]
    fn cjk_characters_count_as_words() {
        assert_eq!(count_words("你好世界"), 4);
        assert_eq!(count_words("hello 世界!"), 3);
        assert_eq!(count_words("  ...  "), 0);
    }
}
