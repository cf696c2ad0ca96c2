//! `understudy conformance`: load the scenarios (any malformed file stops everything before a
//! run, exit 2), pick the target (an embedded mock unless `--target`), run each scenario in
//! turn with a progress line, then the summary and the reports. Exit 0 when all passed, 1 when
//! one failed, 3 when the target could not be reached.

use crate::cli::{ConformanceArgs, RecordArgs};
use anyhow::{Context, bail};
use std::process::ExitCode;
use std::time::Instant;
use understudy_conformance::{Loaded, Target, load, report, run, select};
use understudy_server::{MockServer, ServerConfig};

/// The API key the embedded mock is called with (any key works on it).
const EMBEDDED_KEY: &str = "understudy-conformance";

/// The target `spec` names: a URL (with its API key), or `mock` for an embedded mock on a free
/// loopback port, returned too so the caller shuts it down.
async fn open_target(
    spec: &str,
    api_key: Option<String>,
) -> anyhow::Result<(Target, Option<MockServer>)> {
    if spec != "mock" {
        let Some(api_key) = api_key else {
            bail!("target {spec} needs an API key (--api-key or HEYGEN_API_KEY)");
        };
        return Ok((Target::new(spec.to_owned(), api_key), None));
    }
    let server = MockServer::builder()
        .config(ServerConfig::default())
        .start()
        .await
        .context("could not start the embedded mock")?;
    let target = Target::new(server.uri(), EMBEDDED_KEY);
    Ok((target, Some(server)))
}

/// Runs a scenario on `target`, or, when `target` is an embedded mock and the scenario asks the
/// embedded mock for settings, on a mock of its own.
async fn run_on(
    scenario: &understudy_conformance::Scenario,
    file: &str,
    target: &Target,
    embedded: bool,
) -> anyhow::Result<understudy_conformance::ScenarioReport> {
    match (&scenario.embedded_mock, embedded) {
        (Some(settings), true) => {
            let (own, server) = own_mock(settings).await?;
            let report = run(scenario, file, &own).await;
            server.shutdown().await;
            Ok(report)
        }
        _ => Ok(run(scenario, file, target).await),
    }
}

/// An embedded mock with a scenario's settings.
async fn own_mock(
    settings: &understudy_conformance::scenario::EmbeddedMock,
) -> anyhow::Result<(Target, MockServer)> {
    let mut config = ServerConfig::default();
    if let Some(seconds) = settings.session_duration_limit_s {
        config.session_duration_limit = std::time::Duration::from_secs(seconds);
    }
    config.strict_avatars = settings.strict_avatars;
    if let Some(scale) = settings.time_scale {
        config.time_scale = scale;
    }
    config
        .validate()
        .context("the scenario's embedded_mock settings")?;
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .context("could not start the scenario's embedded mock")?;
    let target = Target::new(server.uri(), EMBEDDED_KEY);
    Ok((target, server))
}

/// `--compare A B`: each scenario against both, then the differences.
async fn compare(
    scenarios: &[Loaded],
    a: (&str, Option<String>),
    b: (&str, Option<String>),
) -> anyhow::Result<ExitCode> {
    let (target_a, mock_a) = open_target(a.0, a.1).await?;
    let (target_b, mock_b) = open_target(b.0, b.1).await?;
    println!(
        "understudy conformance: {} scenarios, A = {}, B = {}",
        scenarios.len(),
        target_a.base_url,
        target_b.base_url
    );
    let (mut unequal, mut unreachable) = (0, false);
    for Loaded { file, scenario } in scenarios {
        let ra = run_on(scenario, file, &target_a, mock_a.is_some()).await?;
        let rb = run_on(scenario, file, &target_b, mock_b.is_some()).await?;
        unreachable |= ra.unreachable || rb.unreachable;
        let differences = understudy_conformance::compare::compare(&ra, &rb);
        let real = differences.iter().filter(|d| !d.is_timing()).count();
        println!(
            "{} {} ({} differences{})",
            if real == 0 { "same" } else { "DIFF" },
            scenario.name,
            real,
            match differences.len() - real {
                0 => String::new(),
                n => format!(", {n} in timing"),
            }
        );
        for d in &differences {
            println!("    {} at {}: A {} | B {}", d.kind, d.at, d.a, d.b);
        }
        if real > 0 {
            unequal += 1;
        }
        if unreachable {
            break;
        }
    }
    println!("\n{unequal} of {} scenarios differ", scenarios.len());
    for server in [mock_a, mock_b].into_iter().flatten() {
        server.shutdown().await;
    }
    Ok(if unreachable {
        ExitCode::from(3)
    } else if unequal == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

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

    if let Some(pair) = &args.compare {
        let key_b = args.api_key_b.clone().or_else(|| args.api_key.clone());
        return compare(
            &scenarios,
            (&pair[0], args.api_key.clone()),
            (&pair[1], key_b),
        )
        .await;
    }
    let (mut target, embedded) = match &args.target {
        Some(url) => open_target(url, args.api_key.clone()).await?,
        None => open_target("mock", None).await?,
    };
    if let Some(url) = &args.liveavatar_target {
        let Some(key) = args.liveavatar_api_key.clone() else {
            bail!(
                "--liveavatar-target needs an API key (--liveavatar-api-key or LIVEAVATAR_API_KEY)"
            );
        };
        target.liveavatar = Some((url.clone(), key));
    }
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
        let result = run_on(scenario, file, &target, embedded.is_some()).await?;
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

/// `understudy record`: proxy until Ctrl-C or SIGTERM, then write the scenario (refusing to
/// write one that still holds a secret).
pub async fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], args.listen));
    let recorder = understudy_conformance::record::Recorder::start(&args.upstream, listen).await?;
    println!(
        "understudy record: forwarding to {}; point the client's basePath at http://{}",
        args.upstream,
        recorder.addr()
    );
    println!("Press Ctrl-C to stop and write {}.", args.output.display());
    crate::serve::wait_for_stop_signal().await;
    let name = args.name.unwrap_or_else(|| {
        args.output
            .file_stem()
            .map_or("recorded".into(), |s| s.to_string_lossy().into_owned())
    });
    let yaml = recorder.finish(&name).await?;
    std::fs::write(&args.output, yaml)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("wrote {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
