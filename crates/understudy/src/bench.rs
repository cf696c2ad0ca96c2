//! `understudy bench`: run the plan against the target (an embedded mock by default, at the
//! latency profile asked for) with a progress bar, print the table, write the reports asked
//! for, and judge the thresholds. Exit 0, 2 on a usage error, 3 when no session could be set
//! up, 4 when a threshold failed.

use crate::cli::BenchArgs;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use understudy_bench::output::{self, RunInfo};
use understudy_bench::{Phase, Plan};
use understudy_server::{MockServer, ServerConfig};

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.sessions == 0 || args.speaks == 0 {
        bail!("--sessions and --speaks must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--rate must be a positive number of speaks per second");
    }
    let duration = match args.duration {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => bail!("--duration must be a positive number of seconds"),
        None => None,
    };
    let (target, api_key, embedded) = match args.target {
        Some(url) => {
            let Some(key) = args.api_key else {
                bail!("--target needs --api-key (or HEYGEN_API_KEY)");
            };
            (url, key, None)
        }
        None => {
            let mut latency =
                crate::profile::load(args.latency_profile.as_deref().unwrap_or("instant"))?;
            if let Some(seed) = args.latency_seed {
                latency.seed = seed;
            }
            let config = ServerConfig {
                concurrency_limit: 0,
                latency: std::sync::Arc::new(latency),
                time_scale: args.time_scale.unwrap_or(1.0),
                ..ServerConfig::default()
            };
            config.validate().context("the embedded mock's settings")?;
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
        duration,
        warmup: args.warmup,
        audio_threshold_dbfs: (!args.no_audio).then_some(args.audio_threshold_dbfs),
        rest_only: args.rest_only,
        video_marker: args.video_marker,
        setup_concurrency: args.setup_concurrency,
        path: args.path,
        dialect: args.dialect,
        rate: args.rate,
        text: args.text,
        ..Plan::default()
    };
    let work = if plan.rest_only {
        match plan.dialect {
            understudy_bench::Dialect::Streaming => {
                "REST only (create_token, new, start, stop)".to_owned()
            }
            understudy_bench::Dialect::LiveAvatar => {
                "REST only (LiveAvatar's token, start, stop)".to_owned()
            }
        }
    } else {
        let amount = plan
            .duration
            .map_or(format!("{} speaks", plan.speaks), |d| {
                format!("{:.0} s of speaks", d.as_secs_f64())
            });
        let pacing = plan.rate.map_or("closed loop".to_owned(), |r| {
            format!("open loop at {r}/s per session")
        });
        match plan.dialect {
            understudy_bench::Dialect::Streaming => {
                format!("{amount} over {}, {pacing}", plan.path)
            }
            understudy_bench::Dialect::LiveAvatar => {
                format!("{amount} as LiveAvatar's avatar.speak_text, {pacing}")
            }
        }
    };
    let against = match &embedded {
        Some(_) => format!(
            "an embedded mock ({target}, latency profile {})",
            args.latency_profile.as_deref().unwrap_or("instant")
        ),
        None => target.clone(),
    };
    let description = format!("{} sessions x {work}, against {against}", plan.sessions);
    println!("understudy bench: {description}");
    let info = RunInfo {
        description,
        started: started_at(),
    };
    let (total, unit) = if plan.rest_only {
        (plan.sessions, "sessions")
    } else {
        (plan.sessions * plan.speaks, "speaks")
    };
    // With --duration the count is not known ahead: a spinner instead of a bar.
    let (bar, template) = match plan.duration {
        Some(_) if !plan.rest_only => (
            indicatif::ProgressBar::new_spinner(),
            format!("{{spinner}} {{pos}} {unit} {{elapsed}}"),
        ),
        _ => (
            indicatif::ProgressBar::new(total as u64),
            format!("{{bar:40}} {{pos}}/{{len}} {unit} {{elapsed}}"),
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    let ticker = bar.clone();
    let mut results = understudy_bench::run(&plan, move |n| ticker.set_position(n as u64)).await;
    results.resources.one_process = embedded.is_some();
    bar.finish_and_clear();
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    print!("{}", results.table());
    println!("wall time {:.1} s", results.wall.as_secs_f64());
    if results.audio.due > 0 {
        println!(
            "audio: {} of {} packets due arrived ({:.2}%)",
            results.audio.received,
            results.audio.due,
            results.audio.delivered() * 100.0
        );
    }
    for line in results.resources.lines(results.wall) {
        println!("{line}");
    }
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    if let Some(path) = &args.json {
        write(path, serde_json::to_string_pretty(&results.json())?)?;
    }
    if let Some(path) = &args.ndjson {
        write(path, output::ndjson(&results))?;
    }
    if let Some(dir) = &args.hgrm {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (phase, histogram) in &results.histograms {
            write(
                &dir.join(format!("{}.hgrm", phase.name())),
                output::hgrm(histogram),
            )?;
        }
    }
    if let Some(path) = &args.markdown {
        write(path, output::markdown(&results, &info))?;
    }
    if let Some(path) = &args.html {
        write(path, output::html(&results, &info))?;
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

/// Now, in UTC, as RFC 3339 to the second.
fn started_at() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
