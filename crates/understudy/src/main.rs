//! `understudy`: the command-line front of Understudy. `main` is policy only: it turns the
//! outcome of [`run`] into an exit code.
//!
//! Exit codes: 0 success; 1 a conformance scenario failed; 2 an error (bad arguments, a port
//! that cannot be bound, a malformed scenario file, ...); 3 the conformance or bench target could
//! not be reached; 4 a bench threshold was broken.

mod bench;
mod cli;
mod conformance;
mod profile;
mod serve;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("understudy: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Log filter when `RUST_LOG` is unset: our own crates at info; webrtc-rs only when something is
/// wrong, since its ICE and DTLS layers narrate every connection at info and warn about
/// harmless things (Chromium's mDNS candidates, DTLS extensions it does not use, and a v1
/// client's connectivity checks that arrive before its answer, which the SDK sends racing them).
const DEFAULT_LOG_FILTER: &str = "info,webrtc=warn,rtc=warn,rtc::peer_connection::handler=error,\
     rtc_ice=error,rtc_dtls=error,rtc_sctp=warn";

/// `understudy conformance` prints its own progress on stdout; the embedded mock's and the
/// SDK's logs on stderr would drown it, so only their errors show unless `RUST_LOG` says more.
const CONFORMANCE_LOG_FILTER: &str = "error";

fn run(args: cli::Cli) -> anyhow::Result<ExitCode> {
    let default_filter = match args.command {
        cli::Command::Serve(_) => DEFAULT_LOG_FILTER,
        cli::Command::Conformance(_) | cli::Command::Record(_) | cli::Command::Bench(_) => {
            CONFORMANCE_LOG_FILTER
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.command {
        cli::Command::Serve(serve) => {
            runtime.block_on(serve::run(serve.into_plan()?))?;
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Conformance(args) => runtime.block_on(conformance::run_all(args)),
        cli::Command::Record(args) => runtime.block_on(conformance::record(args)),
        cli::Command::Bench(args) => runtime.block_on(bench::run(args)),
    }
}
