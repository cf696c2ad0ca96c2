//! `understudy bench`: run the plan against the target (an embedded mock by default) with a
//! progress bar, print the table, write the JSON, and judge the thresholds. Exit 0, 2 on a usage
//! error, 3 when no session could be set up, 4 when a threshold failed.

use crate::cli::BenchArgs;
use anyhow::{Context, bail};
use std::process::ExitCode;
use understudy_bench::{Phase, Plan};
use understudy_server::{MockServer, ServerConfig};

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.sessions == 0 || args.speaks == 0 {
        bail!("--sessions and --speaks must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--rate must be a positive number of speaks per second");
    }
    let (target, api_key, embedded) = match args.target {
        Some(url) => {
            let Some(key) = args.api_key else {
                bail!("--target needs --api-key (or HEYGEN_API_KEY)");
            };
            (url, key, None)
        }
        None => {
            let config = ServerConfig {
                concurrency_limit: 0,
                ..ServerConfig::default()
            };
            let server = MockServer::builder()
                .config(config)
                .start()
                .await
                .context("could not start the embedded mock")?;
            (server.uri(), "understudy-bench".to_owned(), Some(server))
        }
    };
    let plan = Plan {
        target: target.clone(),
        api_key,
        sessions: args.sessions,
        speaks: args.speaks,
        warmup: args.warmup,
        path: args.path,
        rate: args.rate,
        text: args.text,
        ..Plan::default()
    };
    println!(
        "understudy bench: {} sessions x {} speaks over {:?}, {}, against {}",
        plan.sessions,
        plan.speaks,
        plan.path,
        plan.rate.map_or("closed loop".to_owned(), |r| format!(
            "open loop at {r}/s per session"
        )),
        if embedded.is_some() {
            format!("an embedded mock ({target})")
        } else {
            target.clone()
        }
    );
    let bar = indicatif::ProgressBar::new((plan.sessions * plan.speaks) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} speaks {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticker = bar.clone();
    let results = understudy_bench::run(&plan, move |n| ticker.set_position(n as u64)).await;
    bar.finish_and_clear();
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    print!("{}", results.table());
    println!("wall time {:.1} s", results.wall.as_secs_f64());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results.json())?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if results.quantile(Phase::CreateToken, 0.5).is_none() {
        eprintln!("understudy: no session could be set up against {target}");
        return Ok(ExitCode::from(3));
    }
    let broken: Vec<String> = args
        .thresholds
        .iter()
        .filter_map(|t| t.check(&results).err())
        .collect();
    for line in &broken {
        eprintln!("threshold broken: {line}");
    }
    Ok(if broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    })
}
