//! Self-calibration: the bench, run against the mock at a known latency profile, must recover
//! the profile. If the harness distorted what it times (queued behind its own work, timed from
//! the wrong instant, lost samples), the recovered figures would drift from the ones the mock
//! was told to produce.
//!
//! Each figure is compared with the profile's plus the `instant` profile's own figure, measured
//! in the same test: what the path costs without any delay.

use std::sync::Arc;
use std::time::Duration;
use understudy_bench::{Phase, Plan, Results, SpeakPathChoice};
use understudy_server::latency::{
    Distribution, LatencyProfile, Phase as MockPhase, SessionLatency,
};
use understudy_server::{MockServer, ServerConfig};

const SESSIONS: usize = 3;
const WARMUP: usize = 2;
const SPEAKS: usize = 15;
/// The bound on calibration error.
const TOLERANCE: Duration = Duration::from_millis(2);

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

fn close(measured: Duration, expected: Duration, what: &str) {
    // HdrHistogram keeps 3 significant figures: 0.1% of the value on top of the bound.
    let slack = TOLERANCE + expected.mul_f64(0.001);
    let error = measured.abs_diff(expected);
    assert!(
        error <= slack,
        "{what}: measured {measured:?}, expected {expected:?} (off by {error:?}, allowed {slack:?})"
    );
}

/// One test, so the three runs do not share the machine with each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_recovers_the_latency_profile_it_is_run_against() {
    let instant = bench(LatencyProfile::instant()).await;

    // A fixed 200 ms speak delay: p50 and p99 within 2 ms of 200 ms plus the path's own.
    let fixed = bench(profile(1, Distribution::Fixed { ms: 200.0 })).await;
    for q in [0.5, 0.99] {
        close(
            quantile(&fixed, q),
            Duration::from_millis(200) + quantile(&instant, q),
            &format!("fixed 200 ms, q{q}"),
        );
    }

    // Log-normal: the mock's draws are seeded per session, so the exact delays it drew can be
    // drawn again here; the bench's quantiles must match theirs plus the path's own.
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
    let mut drawn: Vec<Duration> = (1..=SESSIONS as u64)
        .flat_map(|seq| {
            let mut session = SessionLatency::new(Arc::clone(&lognormal), seq);
            (0..WARMUP + SPEAKS)
                .map(|_| session.draw(MockPhase::Speak))
                .skip(WARMUP)
                .collect::<Vec<_>>()
        })
        .collect();
    drawn.sort();
    let model =
        |q: f64| drawn[((q * drawn.len() as f64).ceil() as usize).clamp(1, drawn.len()) - 1];
    // Each measurement is a drawn delay plus what the path costs, and the path's cost lies
    // between the instant run's fastest and slowest (plus up to a millisecond: a delayed start
    // waits on a timer of millisecond resolution). So the k-th fastest measurement lies
    // between the k-th fastest draw plus the one and plus the other, to the histogram's
    // precision.
    let (fastest, slowest) = (quantile(&instant, 0.0), quantile(&instant, 1.0));
    for q in [0.1, 0.5, 0.9, 0.99] {
        let measured = quantile(&measured, q);
        let precision = measured.mul_f64(0.001);
        let low = model(q) + fastest;
        let high = model(q) + slowest + Duration::from_millis(1);
        assert!(
            measured + precision >= low && measured <= high + precision,
            "log-normal q{q}: measured {measured:?}, drawn {:?}, path {fastest:?}..{slowest:?}",
            model(q)
        );
    }
}
