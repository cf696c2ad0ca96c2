//! Latency profiles: how long the mock takes at each phase of a session, so an app's timeouts,
//! spinners and queueing can be tested against a mock as slow as HeyGen, or slower.
//!
//! A profile gives each [`Phase`] a [`Distribution`]; a missing phase takes no time. Every
//! session draws from its own generator per phase, seeded from the profile's seed, the
//! session's creation number and the phase, so two runs with one seed draw the same delays for
//! the same sessions, however their requests interleave, and a phase's draws never depend on
//! how often another phase was drawn.
//!
//! `instant` (no delays) is the default and today's behaviour; `heygen` is built from the
//! figures observed on the real service (`heygen-api.md` §11, docs/fidelity.md).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution as _, LogNormal, Normal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the mock can be slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `streaming.new` answers this much later.
    New,
    /// `streaming.start` answers this much later.
    Start,
    /// `streaming.task` (async) answers this much later; the speech is scheduled when the
    /// request arrives, so this delays the answer only.
    Task,
    /// A `repeat` task starts talking this long after it was accepted, unless the avatar is
    /// still saying something (speech never overlaps).
    Speak,
    /// The same for a `talk` task; when the profile leaves it out, `speak` applies.
    Talk,
    /// The avatar keeps talking this long after an interrupt (cut short if its task ends
    /// sooner); queued tasks are dropped at once.
    InterruptTail,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::New,
        Phase::Start,
        Phase::Task,
        Phase::Speak,
        Phase::Talk,
        Phase::InterruptTail,
    ];

    /// The name profiles use for the phase.
    pub fn name(self) -> &'static str {
        match self {
            Phase::New => "new",
            Phase::Start => "start",
            Phase::Task => "task",
            Phase::Speak => "speak",
            Phase::Talk => "talk",
            Phase::InterruptTail => "interrupt_tail",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Phase::New => 1,
            Phase::Start => 2,
            Phase::Task => 3,
            Phase::Speak => 4,
            Phase::Talk => 5,
            Phase::InterruptTail => 6,
        }
    }
}

/// How one phase's delay is drawn, in milliseconds. `min_ms`/`max_ms` clamp a draw (and are
/// required to make sense: `min_ms <= max_ms`); no draw is ever negative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    Fixed {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    Normal {
        mean_ms: f64,
        stddev_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<f64>,
    },
    /// Log-normal with the given median (`exp(mu)`) and `sigma` (the standard deviation of
    /// the logarithm): the usual shape of service latencies, a long right tail.
    LogNormal {
        median_ms: f64,
        sigma: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<f64>,
    },
}

/// A profile or distribution that cannot be drawn from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatencyError {
    #[error("{}: {field} must be a finite number at or above 0, got {value}", phase.name())]
    Negative {
        phase: Phase,
        field: &'static str,
        value: f64,
    },
    #[error("{}: min_ms ({min}) is above max_ms ({max})", phase.name())]
    Bounds { phase: Phase, min: f64, max: f64 },
    #[error("{}: a log-normal median must be above 0", phase.name())]
    ZeroMedian { phase: Phase },
    #[error(
        "no latency profile is named {0:?}: built-in ones are `instant` and `heygen`; anything else must be a file"
    )]
    UnknownName(String),
}

impl LatencyError {
    /// The phase at fault, if the error is about one.
    pub fn phase(&self) -> Option<Phase> {
        match self {
            LatencyError::Negative { phase, .. }
            | LatencyError::Bounds { phase, .. }
            | LatencyError::ZeroMedian { phase } => Some(*phase),
            LatencyError::UnknownName(_) => None,
        }
    }
}

impl Distribution {
    fn check(&self, phase: Phase) -> Result<(), LatencyError> {
        let non_negative = |field: &'static str, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(LatencyError::Negative {
                    phase,
                    field,
                    value,
                })
            }
        };
        let bounds = |min: Option<f64>, max: Option<f64>| {
            if let Some(min) = min {
                non_negative("min_ms", min)?;
            }
            if let Some(max) = max {
                non_negative("max_ms", max)?;
            }
            match (min, max) {
                (Some(min), Some(max)) if min > max => {
                    Err(LatencyError::Bounds { phase, min, max })
                }
                _ => Ok(()),
            }
        };
        match *self {
            Distribution::Fixed { ms } => non_negative("ms", ms),
            Distribution::Uniform { min_ms, max_ms } => bounds(Some(min_ms), Some(max_ms)),
            Distribution::Normal {
                mean_ms,
                stddev_ms,
                min_ms,
                max_ms,
            } => {
                non_negative("mean_ms", mean_ms)?;
                non_negative("stddev_ms", stddev_ms)?;
                bounds(min_ms, max_ms)
            }
            Distribution::LogNormal {
                median_ms,
                sigma,
                min_ms,
                max_ms,
            } => {
                non_negative("median_ms", median_ms)?;
                non_negative("sigma", sigma)?;
                if median_ms == 0.0 {
                    return Err(LatencyError::ZeroMedian { phase });
                }
                bounds(min_ms, max_ms)
            }
        }
    }

    /// One draw, in milliseconds. Only called on a checked distribution.
    fn draw_ms(&self, rng: &mut StdRng) -> f64 {
        let clamp = |value: f64, min: Option<f64>, max: Option<f64>| {
            let value = min.map_or(value, |m| value.max(m));
            max.map_or(value, |m| value.min(m))
        };
        let ms = match *self {
            Distribution::Fixed { ms } => ms,
            Distribution::Uniform { min_ms, max_ms } => {
                if min_ms == max_ms {
                    min_ms
                } else {
                    rng.random_range(min_ms..=max_ms)
                }
            }
            Distribution::Normal {
                mean_ms,
                stddev_ms,
                min_ms,
                max_ms,
            } => {
                let value = Normal::new(mean_ms, stddev_ms).map_or(mean_ms, |d| d.sample(rng));
                clamp(value, min_ms, max_ms)
            }
            Distribution::LogNormal {
                median_ms,
                sigma,
                min_ms,
                max_ms,
            } => {
                let value =
                    LogNormal::new(median_ms.ln(), sigma).map_or(median_ms, |d| d.sample(rng));
                clamp(value, min_ms, max_ms)
            }
        };
        ms.max(0.0)
    }
}

/// Delays for each phase of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyProfile {
    /// Shown in logs and the admin dump.
    #[serde(default)]
    pub name: String,
    /// Two runs with one seed draw the same delays for the same sessions.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub phases: BTreeMap<Phase, Distribution>,
}

impl LatencyProfile {
    /// No delays anywhere: the mock answers and talks as soon as it can.
    pub fn instant() -> Self {
        Self {
            name: "instant".into(),
            ..Self::default()
        }
    }

    /// The real service's observed figures (`heygen-api.md` §11): speak -> start talking
    /// 2.5-3.6 s, talk -> start talking 6-9 s (the observed event timeline sends the reply's
    /// text at once, as seen), a
    /// session loading in 6-7 s from `new`, speech going on 1-1.5 s after an interrupt. Uniform between the observed bounds, since two or
    /// three observations say nothing of the shape. [INF] the split of the 6-7 s between
    /// `new` and `start`, and the task answer's 100-300 ms, are guesses (docs/fidelity.md).
    pub fn heygen() -> Self {
        let uniform = |min_ms: f64, max_ms: f64| Distribution::Uniform { min_ms, max_ms };
        Self {
            name: "heygen".into(),
            seed: 0,
            phases: BTreeMap::from([
                (Phase::New, uniform(1000.0, 1500.0)),
                (Phase::Start, uniform(5000.0, 5500.0)),
                (Phase::Task, uniform(100.0, 300.0)),
                (Phase::Speak, uniform(2500.0, 3600.0)),
                (Phase::Talk, uniform(6000.0, 9000.0)),
                (Phase::InterruptTail, uniform(1000.0, 1500.0)),
            ]),
        }
    }

    /// A built-in profile by name.
    ///
    /// # Errors
    /// [`LatencyError::UnknownName`] for anything but `instant` and `heygen`.
    pub fn named(name: &str) -> Result<Self, LatencyError> {
        match name {
            "instant" => Ok(Self::instant()),
            "heygen" => Ok(Self::heygen()),
            other => Err(LatencyError::UnknownName(other.to_owned())),
        }
    }

    /// Checks every distribution.
    ///
    /// # Errors
    /// The first distribution with a negative or non-finite figure, bounds the wrong way
    /// round, or a log-normal median of zero.
    pub fn validate(&self) -> Result<(), LatencyError> {
        self.phases
            .iter()
            .try_for_each(|(phase, d)| d.check(*phase))
    }

    /// Whether every phase takes no time.
    pub fn is_instant(&self) -> bool {
        self.phases.is_empty()
    }

    fn distribution(&self, phase: Phase) -> Option<&Distribution> {
        match phase {
            Phase::Talk => self
                .phases
                .get(&Phase::Talk)
                .or_else(|| self.phases.get(&Phase::Speak)),
            other => self.phases.get(&other),
        }
    }
}

/// Waits `delay`, or not at all: the `instant` profile's zero delays stay off the timer, which
/// every REST answer would otherwise pass through.
pub async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// One session's draws from a profile.
#[derive(Debug, Clone)]
pub struct SessionLatency {
    profile: std::sync::Arc<LatencyProfile>,
    session_seq: u64,
    /// One generator per phase, made on first use.
    generators: BTreeMap<Phase, StdRng>,
}

impl SessionLatency {
    /// The draws of the session created `session_seq`-th under `profile`.
    pub fn new(profile: std::sync::Arc<LatencyProfile>, session_seq: u64) -> Self {
        Self {
            profile,
            session_seq,
            generators: BTreeMap::new(),
        }
    }

    pub fn profile(&self) -> &LatencyProfile {
        &self.profile
    }

    /// The next delay of `phase` (zero when the profile leaves the phase out).
    pub fn draw(&mut self, phase: Phase) -> Duration {
        let Some(distribution) = self.profile.distribution(phase) else {
            return Duration::ZERO;
        };
        // `talk` falling back to `speak` still has its own sequence.
        let (seed, seq) = (self.profile.seed, self.session_seq);
        let rng = self
            .generators
            .entry(phase)
            .or_insert_with(|| StdRng::seed_from_u64(mix(seed, seq, phase.salt())));
        Duration::from_secs_f64(distribution.draw_ms(rng) / 1000.0)
    }
}

/// SplitMix64's finaliser over the three inputs: nearby seeds and sessions get unrelated
/// generators.
fn mix(seed: u64, seq: u64, salt: u64) -> u64 {
    let mut z =
        seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn profile(phase: Phase, d: Distribution, seed: u64) -> Arc<LatencyProfile> {
        Arc::new(LatencyProfile {
            name: "t".into(),
            seed,
            phases: BTreeMap::from([(phase, d)]),
        })
    }

    fn draws(p: &Arc<LatencyProfile>, seq: u64, phase: Phase, n: usize) -> Vec<Duration> {
        let mut s = SessionLatency::new(Arc::clone(p), seq);
        (0..n).map(|_| s.draw(phase)).collect()
    }

    #[test]
    fn instant_takes_no_time_anywhere() {
        let mut s = SessionLatency::new(Arc::new(LatencyProfile::instant()), 1);
        for phase in Phase::ALL {
            assert_eq!(s.draw(phase), Duration::ZERO);
        }
    }

    #[test]
    fn one_seed_draws_the_same_delays_whatever_else_is_drawn() {
        let d = Distribution::LogNormal {
            median_ms: 300.0,
            sigma: 0.5,
            min_ms: None,
            max_ms: None,
        };
        let p = profile(Phase::Speak, d.clone(), 7);
        let first = draws(&p, 3, Phase::Speak, 50);
        // Interleaving another phase's draws changes nothing.
        let mut s = SessionLatency::new(Arc::clone(&p), 3);
        let mixed: Vec<_> = (0..50)
            .map(|_| {
                s.draw(Phase::InterruptTail);
                s.draw(Phase::Speak)
            })
            .collect();
        assert_eq!(first, mixed);
        // Another session, or another seed, draws something else.
        assert_ne!(first, draws(&p, 4, Phase::Speak, 50));
        assert_ne!(
            first,
            draws(&profile(Phase::Speak, d, 8), 3, Phase::Speak, 50)
        );
    }

    #[test]
    fn talk_falls_back_to_speak() {
        let p = profile(Phase::Speak, Distribution::Fixed { ms: 200.0 }, 0);
        let mut s = SessionLatency::new(p, 1);
        assert_eq!(s.draw(Phase::Talk), Duration::from_millis(200));
    }

    #[test]
    fn draws_stay_within_bounds_and_match_the_model() {
        let p = profile(
            Phase::Speak,
            Distribution::Normal {
                mean_ms: 100.0,
                stddev_ms: 50.0,
                min_ms: Some(60.0),
                max_ms: Some(130.0),
            },
            1,
        );
        let all = draws(&p, 1, Phase::Speak, 2000);
        assert!(all.iter().all(|d| (60..=130).contains(&d.as_millis())));
        let p = profile(
            Phase::Speak,
            Distribution::LogNormal {
                median_ms: 250.0,
                sigma: 0.4,
                min_ms: None,
                max_ms: None,
            },
            2,
        );
        let mut all = draws(&p, 1, Phase::Speak, 4001);
        all.sort();
        let median = all[2000].as_secs_f64() * 1000.0;
        assert!((median - 250.0).abs() < 250.0 * 0.05, "median {median}");
    }

    #[test]
    fn nonsense_is_refused() {
        let bad = [
            Distribution::Fixed { ms: -1.0 },
            Distribution::Fixed { ms: f64::NAN },
            Distribution::Uniform {
                min_ms: 5.0,
                max_ms: 1.0,
            },
            Distribution::LogNormal {
                median_ms: 0.0,
                sigma: 1.0,
                min_ms: None,
                max_ms: None,
            },
        ];
        for d in bad {
            let p = LatencyProfile {
                phases: BTreeMap::from([(Phase::Speak, d.clone())]),
                ..LatencyProfile::default()
            };
            assert!(p.validate().is_err(), "{d:?} accepted");
        }
        assert!(LatencyProfile::heygen().validate().is_ok());
        assert!(matches!(
            LatencyProfile::named("slow"),
            Err(LatencyError::UnknownName(_))
        ));
    }

    #[test]
    fn a_profile_reads_from_json() {
        let p: LatencyProfile = serde_json::from_str(
            r#"{"name":"x","seed":9,"phases":{"speak":{"kind":"fixed","ms":200},
                "interrupt_tail":{"kind":"log_normal","median_ms":1200,"sigma":0.1}}}"#,
        )
        .unwrap();
        assert_eq!(p.phases.len(), 2);
        assert!(
            serde_json::from_str::<LatencyProfile>(
                r#"{"phases":{"speak":{"kind":"fixed","ms":1,"extra":2}}}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<LatencyProfile>(
                r#"{"phases":{"sleep":{"kind":"fixed","ms":1}}}"#
            )
            .is_err()
        );
    }
}
