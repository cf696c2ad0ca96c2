//! The bench speaks both dialects: the Streaming API and LiveAvatar, against one mock with a
//! known speak delay, so a migrating team can compare the two on one target. Each phase is
//! timed once per speak, with no errors, and LiveAvatar's speaks meet the same speech schedule
//! (the profile's delay shows in both).

use std::sync::Arc;
use std::time::Duration;
use understudy_bench::{Dialect, Phase, Plan, Results};
use understudy_server::latency::{Distribution, LatencyProfile, Phase as MockPhase};
use understudy_server::{MockServer, ServerConfig};

const SPEAKS: usize = 5;
const DELAY: Duration = Duration::from_millis(150);

async fn bench(server: &MockServer, dialect: Dialect) -> Results {
    let plan = Plan {
        target: server.uri(),
        api_key: "dialects".into(),
        sessions: 1,
        speaks: SPEAKS,
        warmup: 1,
        dialect,
        ..Plan::default()
    };
    understudy_bench::run(&plan, |_| ()).await
}

#[tokio::test]
async fn both_dialects_are_timed_phase_by_phase_on_one_schedule() {
    let profile = LatencyProfile {
        name: "fixed speak".into(),
        seed: 1,
        phases: [(
            MockPhase::Speak,
            Distribution::Fixed {
                ms: DELAY.as_secs_f64() * 1000.0,
            },
        )]
        .into(),
    };
    let config = ServerConfig {
        concurrency_limit: 0,
        latency: Arc::new(profile),
        ..ServerConfig::default()
    };
    let server = MockServer::builder().config(config).start().await.unwrap();
    for dialect in [Dialect::Streaming, Dialect::LiveAvatar] {
        let results = bench(&server, dialect).await;
        assert!(results.errors.is_empty(), "{dialect}: {:?}", results.errors);
        let count = |phase| results.histograms.get(&phase).map_or(0, |h| h.len());
        for phase in [
            Phase::CreateToken,
            Phase::Start,
            Phase::StreamReady,
            Phase::FirstFrame,
        ] {
            assert_eq!(count(phase), 1, "{dialect}: {phase:?}");
        }
        for phase in [Phase::StartTalking, Phase::TalkingAudio, Phase::StopTalking] {
            assert_eq!(count(phase), SPEAKS as u64, "{dialect}: {phase:?}");
        }
        // LiveAvatar has no `new` (its token makes the session) and no HTTP answer to a speak.
        let live = dialect == Dialect::LiveAvatar;
        assert_eq!(count(Phase::New), u64::from(!live), "{dialect}");
        assert_eq!(
            count(Phase::Answer),
            if live { 0 } else { SPEAKS as u64 },
            "{dialect}"
        );
        let fastest = results.quantile(Phase::StartTalking, 0.0).unwrap();
        assert!(
            fastest >= DELAY,
            "{dialect}: a speak started after {fastest:?}"
        );
    }
    server.shutdown().await;
}
