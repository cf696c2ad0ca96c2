//! The mock's time scale (`--time-scale K`): its own timers run K times faster than the wall
//! clock, so a test of a 10-minute session limit, an idle timeout or a 3-second speak delay
//! finishes in seconds.
//!
//! What a client is told stays in the service's time ("virtual" time): a task of ten words
//! still answers `duration_ms: 4000` and stops talking with `duration_ms` near 4000, a session
//! still reports a `session_duration_limit` of 600; only the waiting is shorter. Media keeps
//! real-time pacing (frames and audio packets at their normal rate); the talking is shorter.
//! A user's microphone audio is real time too: the voice detector is not scaled.

use std::time::Duration;

/// How many times faster than the wall clock the mock's timers run. 1 is real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

impl TimeScale {
    pub const REAL: Self = Self(1.0);

    /// `None` unless `factor` is a finite number above zero.
    pub fn new(factor: f64) -> Option<Self> {
        (factor.is_finite() && factor > 0.0).then_some(Self(factor))
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// How long the mock actually waits for `service` of the service's time.
    pub fn to_wall(self, service: Duration) -> Duration {
        if self.0 == 1.0 {
            service
        } else {
            service.div_f64(self.0)
        }
    }

    /// How much of the service's time `wall` of waiting stands for.
    pub fn to_service(self, wall: Duration) -> Duration {
        if self.0 == 1.0 {
            wall
        } else {
            wall.mul_f64(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_directions_undo_each_other() {
        let k = TimeScale::new(60.0).unwrap();
        assert_eq!(k.to_wall(Duration::from_secs(600)), Duration::from_secs(10));
        assert_eq!(
            k.to_service(Duration::from_secs(10)),
            Duration::from_secs(600)
        );
        assert_eq!(
            TimeScale::REAL.to_wall(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert!(TimeScale::new(0.0).is_none() && TimeScale::new(f64::NAN).is_none());
    }
}
