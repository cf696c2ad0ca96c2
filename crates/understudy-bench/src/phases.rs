//! The phases timed, and a histogram per phase.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What is timed. Session set-up phases are measured from `create_token`'s send; speak phases
/// from the speak's intended start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    CreateToken,
    New,
    Start,
    StreamReady,
    FirstFrame,
    /// The HTTP answer to a speak (the `http` path only).
    Answer,
    /// `avatar_start_talking` for the speak.
    StartTalking,
    /// The first video frame showing the talking marker after the speak (`--video-marker`,
    /// against the mock: its synthetic avatar marks every frame idle or talking).
    TalkingFrame,
    /// The first audible audio packet after the speak (its level above the plan's
    /// threshold): when the user hears the avatar, on the mock or on any real target.
    TalkingAudio,
    /// `avatar_stop_talking` for the speak.
    StopTalking,
}

impl Phase {
    pub const ALL: [Phase; 10] = [
        Phase::CreateToken,
        Phase::New,
        Phase::Start,
        Phase::StreamReady,
        Phase::FirstFrame,
        Phase::Answer,
        Phase::StartTalking,
        Phase::TalkingFrame,
        Phase::TalkingAudio,
        Phase::StopTalking,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::CreateToken => "create_token",
            Phase::New => "new",
            Phase::Start => "start",
            Phase::StreamReady => "stream_ready",
            Phase::FirstFrame => "first_frame",
            Phase::Answer => "answer",
            Phase::StartTalking => "start_talking",
            Phase::TalkingFrame => "talking_frame",
            Phase::TalkingAudio => "talking_audio",
            Phase::StopTalking => "stop_talking",
        }
    }

    pub fn from_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One measurement, as the raw-sample output writes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub phase: Phase,
    /// Which session (0-based, in the order the bench started them).
    pub session: usize,
    /// When the measurement ended, from the start of the run, in microseconds.
    pub at_us: u64,
    /// The measurement, in microseconds.
    pub value_us: u64,
}

/// The avatar's audio packets that arrived, against those due: from each session's first
/// packet to its last, by RTP timestamp (20 ms, 960 ticks at 48 kHz, per packet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AudioTally {
    pub received: u64,
    pub due: u64,
    #[serde(skip)]
    first_timestamp: Option<u32>,
    #[serde(skip)]
    last_timestamp: u32,
}

/// RTP ticks per audio packet: 20 ms at 48 kHz.
const TICKS_PER_PACKET: u32 = 960;

impl AudioTally {
    /// Counts one packet of a session's stream.
    pub fn count(&mut self, rtp_timestamp: u32) {
        self.received += 1;
        let first = *self.first_timestamp.get_or_insert_with(|| {
            self.last_timestamp = rtp_timestamp;
            rtp_timestamp
        });
        // Later packets only: a reordered one does not move the end back.
        if rtp_timestamp.wrapping_sub(first) >= self.last_timestamp.wrapping_sub(first) {
            self.last_timestamp = rtp_timestamp;
        }
        self.due = u64::from(self.last_timestamp.wrapping_sub(first) / TICKS_PER_PACKET) + 1;
    }

    /// Adds another session's tally.
    pub fn add(&mut self, other: &AudioTally) {
        self.received += other.received;
        self.due += other.due;
    }

    /// Received over due; 1 when nothing was due.
    pub fn delivered(&self) -> f64 {
        if self.due == 0 {
            1.0
        } else {
            self.received as f64 / self.due as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_due_runs_from_the_first_packet_to_the_last() {
        let mut tally = AudioTally::default();
        // Packets 0..10 from a timestamp near the wrap, packet 5 lost, 7 and 8 swapped.
        let start = u32::MAX - 3 * TICKS_PER_PACKET;
        for i in [0u32, 1, 2, 3, 4, 6, 8, 7, 9] {
            tally.count(start.wrapping_add(i * TICKS_PER_PACKET));
        }
        assert_eq!((tally.received, tally.due), (9, 10));
        let mut other = AudioTally::default();
        other.count(5000);
        tally.add(&other);
        assert_eq!((tally.received, tally.due), (10, 11));
        assert!((tally.delivered() - 10.0 / 11.0).abs() < 1e-12);
    }
}

/// A run's samples (microseconds) and errors.
#[derive(Debug, Default)]
pub struct Results {
    /// The avatar's audio, over every session.
    pub audio: AudioTally,
    /// What the run cost the target and the bench.
    pub resources: crate::resources::Resources,
    pub histograms: BTreeMap<Phase, Histogram<u64>>,
    /// Every sample, for the raw and time-series outputs.
    pub samples: Vec<Sample>,
    /// Errors by phase and by HeyGen code (`"none"` when the failure had no code).
    pub errors: BTreeMap<(Phase, String), u64>,
    pub wall: Duration,
}

/// One phase's summary, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub phase: Phase,
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
}

/// The summary's columns, in order.
pub const SUMMARY_COLUMNS: [&str; 8] = [
    "phase", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors",
];

impl Summary {
    /// The row under [`SUMMARY_COLUMNS`], as every rendering (table, Markdown, HTML) shows it.
    pub fn cells(&self) -> [String; 8] {
        let ms = |v: f64| format!("{v:.2}");
        [
            self.phase.name().to_owned(),
            self.count.to_string(),
            ms(self.p50_ms),
            ms(self.p90_ms),
            ms(self.p99_ms),
            ms(self.p999_ms),
            ms(self.max_ms),
            self.errors.to_string(),
        ]
    }
}

impl Results {
    /// Records `took` for `phase`, measured by `session` and ending `at` into the run.
    pub fn record(&mut self, phase: Phase, took: Duration, session: usize, at: Duration) {
        let value_us = took.as_micros().max(1) as u64;
        let histogram = self
            .histograms
            .entry(phase)
            .or_insert_with(|| Histogram::new(3).expect("3 significant figures is valid"));
        let _ = histogram.record(value_us);
        self.samples.push(Sample {
            phase,
            session,
            at_us: at.as_micros() as u64,
            value_us,
        });
    }

    pub fn error(&mut self, phase: Phase, code: Option<i64>) {
        let code = code.map_or("none".to_owned(), |c| c.to_string());
        *self.errors.entry((phase, code)).or_default() += 1;
    }

    pub fn merge(&mut self, other: Results) {
        self.samples.extend(other.samples);
        self.audio.add(&other.audio);
        for (phase, histogram) in other.histograms {
            match self.histograms.get_mut(&phase) {
                Some(mine) => {
                    let _ = mine.add(&histogram);
                }
                None => {
                    self.histograms.insert(phase, histogram);
                }
            }
        }
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
    }

    /// A quantile of a phase, when it has samples.
    pub fn quantile(&self, phase: Phase, q: f64) -> Option<Duration> {
        let h = self.histograms.get(&phase).filter(|h| !h.is_empty())?;
        Some(Duration::from_micros(h.value_at_quantile(q)))
    }

    pub fn summaries(&self) -> Vec<Summary> {
        let ms = |us: u64| us as f64 / 1000.0;
        Phase::ALL
            .into_iter()
            .filter_map(|phase| {
                let h = self.histograms.get(&phase)?;
                let errors = self
                    .errors
                    .iter()
                    .filter(|((p, _), _)| *p == phase)
                    .map(|(_, n)| n)
                    .sum();
                Some(Summary {
                    phase,
                    count: h.len(),
                    p50_ms: ms(h.value_at_quantile(0.5)),
                    p90_ms: ms(h.value_at_quantile(0.9)),
                    p99_ms: ms(h.value_at_quantile(0.99)),
                    p999_ms: ms(h.value_at_quantile(0.999)),
                    max_ms: ms(h.max()),
                    errors,
                })
            })
            .collect()
    }

    /// The summary table.
    pub fn table(&self) -> String {
        let line = |c: &[String; 8]| {
            format!(
                "{:<14} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}\n",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
            )
        };
        let mut out = line(&SUMMARY_COLUMNS.map(str::to_owned));
        for s in self.summaries() {
            out.push_str(&line(&s.cells()));
        }
        for ((phase, code), n) in &self.errors {
            out.push_str(&format!("errors: {} code {code}: {n}\n", phase.name()));
        }
        out
    }

    /// The run as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "wall_ms": self.wall.as_secs_f64() * 1000.0,
            "phases": self.summaries(),
            "errors": self.errors.iter().map(|((p, c), n)| serde_json::json!({"phase": p.name(), "code": c, "count": n})).collect::<Vec<_>>(),
            "audio": {
                "received": self.audio.received,
                "due": self.audio.due,
                "delivered": self.audio.delivered(),
            },
            "resources": self.resources,
        })
    }
}
