//! What a run costs: the target's process (through a mock's `GET /__understudy/stats`; a real
//! service has none) and the bench's own (from `/proc/self`), read before the run, once every
//! session is up, and at the end. Divided by the sessions up, it gives the cost of one session.

use serde::Serialize;
use std::time::Duration;
use streaming_avatar::proto::stats::{MockStats, ProcessStats as Reading};

/// Reads a target's process through its stats route; `None` for a target without one.
#[derive(Debug, Clone)]
pub struct StatsProbe {
    http: reqwest::Client,
    url: String,
}

impl StatsProbe {
    pub fn new(target: &str) -> Option<Self> {
        // reqwest is built without a default crypto provider; ring, as everywhere else.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        Some(Self {
            http,
            url: format!("{}/__understudy/stats", target.trim_end_matches('/')),
        })
    }

    pub async fn read(&self) -> Option<Reading> {
        let response = self.http.get(&self.url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<MockStats>().await.ok()?.process
    }
}

/// One process over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    pub before: Reading,
    /// Once every session was up.
    pub all_up: Reading,
    pub after: Reading,
}

impl Usage {
    /// Resident memory added per session up, in bytes (0 if it shrank).
    pub fn bytes_per_session(&self, sessions: usize) -> f64 {
        self.all_up.rss_bytes.saturating_sub(self.before.rss_bytes) as f64 / sessions.max(1) as f64
    }

    /// CPU seconds over the run.
    pub fn cpu_seconds(&self) -> f64 {
        self.after.cpu_seconds - self.before.cpu_seconds
    }
}

/// The run's cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    /// Sessions that were set up.
    pub sessions_up: usize,
    /// The target's process, when it is a mock that reports itself.
    pub server: Option<Usage>,
    pub bench: Option<Usage>,
    /// The target is a mock in the bench's own process: one set of figures for both.
    pub one_process: bool,
}

impl Resources {
    /// Lines for the summary: memory per session and CPU as a share of one core.
    pub fn lines(&self, wall: Duration) -> Vec<String> {
        let mib = |b: f64| b / (1024.0 * 1024.0);
        let describe = |who: &str, u: &Usage| {
            let cores = u.cpu_seconds() / wall.as_secs_f64().max(1e-9);
            format!(
                "{who}: RSS {:.1} MiB with {} sessions up ({:.1} KiB per session), peak {:.1} MiB; CPU {:.1} s over {:.1} s ({:.0}% of one core)",
                mib(u.all_up.rss_bytes as f64),
                self.sessions_up,
                u.bytes_per_session(self.sessions_up) / 1024.0,
                mib(u.after.peak_rss_bytes as f64),
                u.cpu_seconds(),
                wall.as_secs_f64(),
                cores * 100.0
            )
        };
        let mut lines = Vec::new();
        if self.one_process {
            if let Some(both) = &self.bench {
                lines.push(describe("bench and embedded mock (one process)", both));
            }
            return lines;
        }
        if let Some(server) = &self.server {
            lines.push(describe("server", server));
        }
        if let Some(bench) = &self.bench {
            lines.push(describe("bench", bench));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_session_figures() {
        let r = |rss: u64, cpu: f64| Reading {
            rss_bytes: rss,
            peak_rss_bytes: rss,
            cpu_seconds: cpu,
        };
        let usage = Usage {
            before: r(10_000_000, 1.0),
            all_up: r(50_000_000, 2.0),
            after: r(40_000_000, 6.0),
        };
        assert_eq!(usage.bytes_per_session(10_000), 4000.0);
        assert_eq!(usage.cpu_seconds(), 5.0);
        let lines = Resources {
            sessions_up: 10_000,
            server: Some(usage),
            bench: None,
            one_process: false,
        }
        .lines(Duration::from_secs(10));
        assert!(lines[0].contains("3.9 KiB per session"), "{lines:?}");
        assert!(lines[0].contains("50% of one core"), "{lines:?}");
        assert!(Reading::read().is_some());
    }
}
