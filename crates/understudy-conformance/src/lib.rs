//! Understudy's conformance runner: scenario files replayed against HeyGen's Streaming Avatar
//! API, or against the Understudy mock, with expectations on every reply and on the merged,
//! timed event stream across REST, the chat socket and the LiveKit room.
//!
//! - [`scenario`]: the file format (YAML), as plain data.
//! - [`load`]: reading files (errors with file, line and column) and the built-in corpus.
//! - [`runner`]: running a scenario against a [`Target`].
//! - [`matchers`]: subset matching with `$uuid`, `$regex …`, `$range a..b`, `$absent`, ….
//! - [`timeline`]: the merged event stream.
//! - [`report`]: progress, summary, JSON and JUnit.
//! - [`html`]: the self-contained HTML report.
//! - [`compare`]: where two targets differ on the same scenarios.
//! - [`record`]: the recording proxy that writes scenarios.
//!
//! The runner depends on the Rust SDK and the wire types only: it never knows whether the
//! target is the mock, and the mock does not know it is being judged.

pub mod compare;
pub mod html;
pub mod load;
pub mod matchers;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
mod speech_clips;
pub mod timeline;

pub use load::{LoadError, Loaded};
pub use runner::{ScenarioReport, Target, run};
pub use scenario::Scenario;

/// Keeps the scenarios whose tags pass the filters: any of `include` (when given), none of
/// `exclude`.
pub fn select(scenarios: Vec<Loaded>, include: &[String], exclude: &[String]) -> Vec<Loaded> {
    scenarios
        .into_iter()
        .filter(|l| {
            let tags = &l.scenario.tags;
            (include.is_empty() || include.iter().any(|t| tags.contains(t)))
                && !exclude.iter().any(|t| tags.contains(t))
        })
        .collect()
}
