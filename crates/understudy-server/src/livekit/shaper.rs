//! Network trouble on the avatar's outgoing media, as a fault rule asks (`impair`): packet
//! loss, jitter and a bandwidth cap, applied per encoded frame or audio packet before it is
//! packetised. A frame lost or over the cap is not sent, and the packetiser skips a sequence
//! number and the frame's time for it, so the client sees a gap it counts as lost, and the
//! stream's clock stays true. (A video frame of several packets counts as one lost packet: the
//! packetiser's skip is per sample.) Pure, over explicit instants; draws come from the rule's
//! seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use tokio::time::Instant;

/// What trouble to add.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Chance, 0 to 1, that a frame or packet is lost.
    pub loss: f64,
    /// Each frame or packet is held up to this long (uniformly drawn).
    pub jitter: Duration,
    /// Bits a second the media may use; more is dropped (a policer, not a queue).
    pub bandwidth_bps: Option<u64>,
}

/// One track's shaping state.
#[derive(Debug)]
pub struct Shaper {
    impairment: Impairment,
    rng: StdRng,
    /// Bits the cap lets through now (at most one second's worth).
    budget_bits: f64,
    refilled_at: Instant,
    /// Frames or packets not sent since the last one that was.
    dropped: u16,
}

/// What to do with one frame or packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it after `hold`, telling the packetiser `dropped` samples went missing before it.
    Send {
        hold: Duration,
        dropped: u16,
    },
    Drop,
}

impl Shaper {
    pub fn new(impairment: Impairment, seed: u64, now: Instant) -> Self {
        Self {
            impairment,
            rng: StdRng::seed_from_u64(seed),
            budget_bits: impairment.bandwidth_bps.map_or(0.0, |bps| bps as f64),
            refilled_at: now,
            dropped: 0,
        }
    }

    /// Judges a frame or packet of `bytes` at `now`.
    pub fn judge(&mut self, bytes: usize, now: Instant) -> Verdict {
        let lost = self.impairment.loss > 0.0 && self.rng.random::<f64>() < self.impairment.loss;
        let over_cap = match self.impairment.bandwidth_bps {
            Some(bps) => {
                let elapsed = now
                    .saturating_duration_since(self.refilled_at)
                    .as_secs_f64();
                self.refilled_at = now;
                self.budget_bits = (self.budget_bits + elapsed * bps as f64).min(bps as f64);
                let bits = (bytes * 8) as f64;
                if !lost && self.budget_bits >= bits {
                    self.budget_bits -= bits;
                    false
                } else {
                    true
                }
            }
            None => false,
        };
        if lost || over_cap {
            self.dropped = self.dropped.saturating_add(1);
            return Verdict::Drop;
        }
        let hold = if self.impairment.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.impairment.jitter.mul_f64(self.rng.random::<f64>())
        };
        Verdict::Send {
            hold,
            dropped: std::mem::take(&mut self.dropped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(verdicts: &[Verdict]) -> usize {
        verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Send { .. }))
            .count()
    }

    #[test]
    fn loss_drops_about_its_share_and_counts_the_gap() {
        let now = Instant::now();
        let mut shaper = Shaper::new(
            Impairment {
                loss: 0.3,
                ..Impairment::default()
            },
            1,
            now,
        );
        let verdicts: Vec<Verdict> = (0..1000).map(|_| shaper.judge(100, now)).collect();
        let kept = sent(&verdicts);
        assert!((600..800).contains(&kept), "{kept} of 1000 kept");
        // After a drop, the next one sent carries the gap.
        let after_drop = verdicts
            .windows(2)
            .find(|w| w[0] == Verdict::Drop && matches!(w[1], Verdict::Send { .. }))
            .unwrap()[1];
        assert!(matches!(after_drop, Verdict::Send { dropped, .. } if dropped >= 1));
    }

    #[test]
    fn the_cap_lets_through_its_rate_and_no_more() {
        let start = Instant::now();
        let mut shaper = Shaper::new(
            Impairment {
                bandwidth_bps: Some(80_000),
                ..Impairment::default()
            },
            0,
            start,
        );
        // 25 frames a second of 1,000 bytes (200 kbit/s) for 10 s through an 80 kbit/s cap.
        let kept = (0..250)
            .map(|i| shaper.judge(1000, start + Duration::from_millis(40 * i)))
            .filter(|v| matches!(v, Verdict::Send { .. }))
            .count();
        // 10 s at 80 kbit/s is 100 frames, plus the first second's full budget.
        assert!((100..=110).contains(&kept), "{kept} frames kept");
    }

    #[test]
    fn jitter_holds_within_its_bound_and_the_same_seed_draws_the_same() {
        let now = Instant::now();
        let impairment = Impairment {
            jitter: Duration::from_millis(30),
            ..Impairment::default()
        };
        let holds = |seed| {
            let mut shaper = Shaper::new(impairment, seed, now);
            (0..50)
                .map(|_| match shaper.judge(100, now) {
                    Verdict::Send { hold, .. } => hold,
                    Verdict::Drop => panic!("no loss asked"),
                })
                .collect::<Vec<_>>()
        };
        let first = holds(7);
        assert_eq!(first, holds(7));
        assert!(first.iter().all(|h| *h <= Duration::from_millis(30)));
        assert!(first.iter().any(|h| *h >= Duration::from_millis(15)));
    }
}
