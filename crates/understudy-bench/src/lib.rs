//! `understudy bench`'s engine: sessions through the Rust SDK against any target, each timing
//! its set-up and its speaks phase by phase into HdrHistograms.
//!
//! Open loop (`rate`) schedules each speak at its intended time and times it from then, not from
//! when it was sent, so a target that stalls shows up as latency instead of vanishing
//! (coordinated omission corrected, as wrk2 does). Closed loop sends the next speak when the
//! last one has stopped talking.
//!
//! - [`plan`]: what to run, in which dialect (the Streaming API, or LiveAvatar).
//! - [`phases`]: the phases and their histograms.
//! - [`output`]: NDJSON, `.hgrm`, Markdown and HTML.
//! - [`threshold`]: `start_talking.p99<4s` gates.

mod chart;
pub mod output;
pub mod phases;
pub mod plan;
pub mod resources;
pub mod run;
mod speaker;
pub mod threshold;

pub use phases::{Phase, Results};
pub use plan::{Dialect, Plan, SpeakPathChoice};
pub use run::run;
pub use threshold::Threshold;
