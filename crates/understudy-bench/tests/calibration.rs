//! Self-calibration: the bench, run against the mock at a known latency profile, must recover
//! the profile. If the harness distorted what it times (queued behind its own work, timed from
//! the wrong instant, lost samples), the recovered figures would drift from the ones the mock
//! was told to produce.
//!
//! Each figure is compared with the profile's plus the `instant` profile's own figure, measured
//! in the same test: what the path costs without any delay. The path's own tail moves between
//! runs on a shared machine, so the instant profile runs before and after the fixed one, and a
//! fixed-delay quantile must lie within the tolerance of the band the two baselines span. Each
//! comparison gets up to three attempts: a distortion shows in all of them, two scheduler stalls
//! among 100 speaks do not come back on cue.

use std::sync::Arc;
use std::time::Duration;
use understudy_bench::{Phase, Plan, Results, SpeakPathChoice};
use understudy_server::latency::{
    Distribution, LatencyProfile, Phase as MockPhase, SessionLatency,
};
use understudy_server::{MockServer, ServerConfig};

/// One session: several would speak in step and queue behind each other's video frames on
/// this build's unoptimised WebRTC stack, which times the machine, not the harness.
const SESSIONS: usize = 1;
const WARMUP: usize = 2;
/// Enough that q0.99 is a 99th percentile, not the one worst speak: with 30, one scheduler
/// hiccup in the `instant` baseline moved the expected q0.99 by 14 ms and failed the test.
const SPEAKS: usize = 100;
/// The bound on calibration error (issue 10), plus the millisecond resolution of the timer a
/// delayed start waits on: that millisecond is the mock's, not the harness's.
const TOLERANCE: Duration = Duration::from_millis(3);

fn profile(seed: u64, speak: Distribution) -> LatencyProfile {
    LatencyProfile {
        name: "calibration".into(),
        seed,
        phases: [(MockPhase::Speak, speak)].into(),
    }
}

async fn bench(profile: LatencyProfile) -> Results {
    let config = ServerConfig {
        concurrency_limit: 0,
        latency: Arc::new(profile),
        ..ServerConfig::default()
    };
    let server = MockServer::builder().config(config).start().await.unwrap();
    let plan = Plan {
        target: server.uri(),
        api_key: "calibration".into(),
        sessions: SESSIONS,
        speaks: SPEAKS,
        warmup: WARMUP,
        path: SpeakPathChoice::Http,
        audio_threshold_dbfs: None,
        ..Plan::default()
    };
    let results = understudy_bench::run(&plan, |_| ()).await;
    server.shutdown().await;
    assert!(results.errors.is_empty(), "{:?}", results.errors);
    assert_eq!(
        results.histograms[&Phase::StartTalking].len(),
        (SESSIONS * SPEAKS) as u64,
        "every speak timed"
    );
    results
}

fn quantile(results: &Results, q: f64) -> Duration {
    results.quantile(Phase::StartTalking, q).unwrap()
}

/// `measured` within the tolerance of the band `[low, high]`, or why not.
fn within(measured: Duration, low: Duration, high: Duration, what: &str) -> Result<(), String> {
    let expected = measured.clamp(low, high);
    // HdrHistogram keeps 3 significant figures: 0.1% of the value on top of the bound.
    let slack = TOLERANCE + expected.mul_f64(0.001);
    let error = measured.abs_diff(expected);
    if error <= slack {
        Ok(())
    } else {
        Err(format!(
            "{what}: measured {measured:?}, expected {low:?} to {high:?} (off by {error:?}, allowed {slack:?})"
        ))
    }
}

/// Attempts at the fixed-delay comparison. A harness that distorts what it times is off in
/// every attempt; two scheduler stalls among a run's 100 speaks move its 99th percentile by
/// several milliseconds, and do not come back on cue.
const ATTEMPTS: usize = 3;

/// A fixed 200 ms speak delay: p50 and p99 within the tolerance of 200 ms plus the path's own,
/// as instant runs on either side of it measured it. Returns the instant run before it, for
/// the log-normal part.
async fn fixed_delay_is_recovered() -> Results {
    let mut misses = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let instant = bench(LatencyProfile::instant()).await;
        let fixed = bench(profile(1, Distribution::Fixed { ms: 200.0 })).await;
        let instant_after = bench(LatencyProfile::instant()).await;
        let delay = Duration::from_millis(200);
        let off: Vec<String> = [0.5, 0.99]
            .into_iter()
            .filter_map(|q| {
                let (a, b) = (quantile(&instant, q), quantile(&instant_after, q));
                within(
                    quantile(&fixed, q),
                    delay + a.min(b),
                    delay + a.max(b),
                    &format!("fixed 200 ms, q{q} (instant runs: {a:?}, {b:?})"),
                )
                .err()
            })
            .collect();
        if off.is_empty() {
            return instant;
        }
        eprintln!("calibration attempt {attempt} of {ATTEMPTS} off: {off:?}");
        misses.extend(off);
    }
    panic!("the fixed delay was not recovered in {ATTEMPTS} attempts: {misses:#?}");
}

/// Log-normal: the mock's draws are seeded per session, so the exact delay it held each speak
/// can be drawn again here, and each of the bench's samples split into that delay and what the
/// path cost on top. Checked: no sample below its delay (a harness timing from the wrong
/// instant, never noise); the path's cost the instant profile's (`instant_median`), at the
/// median; and the bench's reported quantiles its samples' exact ones, to the histogram's
/// precision. So each sample is the mock's delay plus the path's cost, and the report is the
/// samples.
///
/// Why not the draws' quantiles plus the median cost: on a loaded machine the path's cost is
/// skewed (most speaks cost a few ms, some tens), and the quantile of a sum is not the sum of
/// the quantiles; with 100 samples that moved p50 by 6-8 ms on clean CI runs, while every
/// sample was its delay plus a cost the instant profile also shows.
async fn lognormal_is_recovered(instant_median: Duration) -> Result<(), Vec<String>> {
    let lognormal = profile(
        7,
        Distribution::LogNormal {
            median_ms: 120.0,
            sigma: 0.6,
            min_ms: None,
            max_ms: Some(1500.0),
        },
    );
    let measured = bench(lognormal.clone()).await;

    let lognormal = Arc::new(lognormal);
    // The mock's exact delays, session by session. The bench primes one session first on a
    // mock that reports its stats (creation number 1); its own are 2 to SESSIONS + 1.
    let drawn: Vec<Vec<Duration>> = (2..=SESSIONS as u64 + 1)
        .map(|seq| {
            let mut session = SessionLatency::new(Arc::clone(&lognormal), seq);
            (0..WARMUP + SPEAKS)
                .map(|_| session.draw(MockPhase::Speak))
                .skip(WARMUP)
                .collect()
        })
        .collect();
    // The bench's samples, session by session, in the order they were taken.
    let timed: Vec<Vec<Duration>> = (0..SESSIONS)
        .map(|session| {
            let mut samples: Vec<_> = measured
                .samples
                .iter()
                .filter(|s| s.phase == Phase::StartTalking && s.session == session)
                .map(|s| (s.at_us, Duration::from_micros(s.value_us)))
                .collect();
            samples.sort();
            samples.into_iter().map(|(_, v)| v).collect()
        })
        .collect();
    // Which mock session each bench session was is not known (they start concurrently): pair
    // each with the draws it is closest to. What is left of each sample is what the path cost.
    let mut costs: Vec<Duration> = Vec::new();
    for samples in &timed {
        let error = |draws: &Vec<Duration>| -> Duration {
            samples.iter().zip(draws).map(|(m, d)| m.abs_diff(*d)).sum()
        };
        let draws = drawn.iter().min_by_key(|d| error(d)).expect("draws");
        for (measured, delay) in samples.iter().zip(draws) {
            assert!(
                measured >= delay,
                "a speak timed at {measured:?} though the mock held it {delay:?}: timed from the wrong instant"
            );
            costs.push(*measured - *delay);
        }
    }
    costs.sort();
    let mut off = Vec::new();
    // The path's cost under this profile is the instant profile's, to within the tolerance.
    let median_cost = costs[costs.len() / 2];
    if median_cost.abs_diff(instant_median) > TOLERANCE {
        off.push(format!(
            "log-normal: the path cost {median_cost:?} at the median, {instant_median:?} without delays"
        ));
    }
    // And the bench's quantiles are its samples', to HdrHistogram's 3 significant figures.
    let mut samples: Vec<Duration> = timed.concat();
    samples.sort();
    let exact =
        |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    for q in [0.1, 0.5, 0.9, 0.99] {
        let (reported, expected) = (quantile(&measured, q), exact(q));
        let slack = expected.mul_f64(0.001) + Duration::from_micros(1);
        if reported.abs_diff(expected) > slack {
            off.push(format!(
                "log-normal q{q}: the bench reported {reported:?}, its samples' is {expected:?} (allowed {slack:?})"
            ));
        }
    }
    if off.is_empty() { Ok(()) } else { Err(off) }
}

/// One test, so the runs do not share the machine with each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_recovers_the_latency_profile_it_is_run_against() {
    let instant = fixed_delay_is_recovered().await;
    let instant_median = quantile(&instant, 0.5);
    let mut misses = Vec::new();
    for attempt in 1..=ATTEMPTS {
        match lognormal_is_recovered(instant_median).await {
            Ok(()) => return,
            Err(off) => {
                eprintln!("calibration log-normal attempt {attempt} of {ATTEMPTS} off: {off:?}");
                misses.extend(off);
            }
        }
    }
    panic!("the log-normal profile was not recovered in {ATTEMPTS} attempts: {misses:#?}");
}
