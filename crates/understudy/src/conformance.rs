//! `understudy conformance`: load the scenarios (any malformed file stops everything before a
//! run, exit 2), pick the target (an embedded mock unless `--target`), run each scenario in
//! turn with a progress line, then the summary and the reports. Exit 0 when all passed, 1 when
//! one failed, 3 when the target could not be reached.

use crate::cli::ConformanceArgs;
use anyhow::{Context, bail};
use std::process::ExitCode;
use std::time::Instant;
use understudy_conformance::{Loaded, Target, load, report, run, select};
use understudy_server::{MockServer, ServerConfig};

/// The API key the embedded mock is called with (any key works on it).
const EMBEDDED_KEY: &str = "understudy-conformance";

pub async fn run_all(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    let scenarios = if args.paths.is_empty() {
        load::builtin()
    } else {
        load::load_paths(&args.paths)
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let scenarios = select(scenarios, &args.tags, &args.exclude_tags);
    if args.list {
        for Loaded { file, scenario } in &scenarios {
            println!("{file}: {} [{}]", scenario.name, scenario.tags.join(", "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if scenarios.is_empty() {
        bail!("no scenario selected");
    }

    let (target, embedded) = match args.target {
        Some(url) => {
            let Some(api_key) = args.api_key else {
                bail!("--target needs --api-key (or HEYGEN_API_KEY)");
            };
            (
                Target {
                    base_url: url,
                    api_key,
                },
                None,
            )
        }
        None => {
            let server = MockServer::builder()
                .config(ServerConfig::default())
                .start()
                .await
                .context("could not start the embedded mock")?;
            let target = Target {
                base_url: server.uri(),
                api_key: EMBEDDED_KEY.to_owned(),
            };
            (target, Some(server))
        }
    };
    println!(
        "understudy conformance: {} scenarios against {}",
        scenarios.len(),
        if embedded.is_some() {
            format!("an embedded mock ({})", target.base_url)
        } else {
            target.base_url.clone()
        }
    );

    let began = Instant::now();
    let mut reports = Vec::with_capacity(scenarios.len());
    for (i, Loaded { file, scenario }) in scenarios.iter().enumerate() {
        let result = run(scenario, file, &target).await;
        println!("{}", report::progress_line(i + 1, scenarios.len(), &result));
        let unreachable = result.unreachable;
        reports.push(result);
        if unreachable {
            break;
        }
    }
    let mut stdout = std::io::stdout().lock();
    report::summary(&reports, began.elapsed(), &mut stdout)?;
    if let Some(path) = &args.json {
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        report::json(&reports, &mut file)?;
    }
    if let Some(path) = &args.junit {
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        report::junit(&reports, &mut file)?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, understudy_conformance::html::page(&reports))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    Ok(if reports.iter().any(|r| r.unreachable) {
        eprintln!("understudy: the target could not be reached");
        ExitCode::from(3)
    } else if reports.iter().all(|r| r.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
