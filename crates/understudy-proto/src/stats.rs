//! The mock's `GET /__understudy/stats` answer: what its process costs (resident memory and CPU
//! time from `/proc/self`, Linux; `None` elsewhere) and what it holds. A bench in another
//! process reads it before and after a run, and reads its own process the same way, to report
//! the cost of one session on each side.

use serde::{Deserialize, Serialize};

/// `GET /__understudy/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MockStats {
    pub process: Option<ProcessStats>,
    /// Sessions not closed.
    pub live_sessions: usize,
    /// Sessions held, closed ones included (the history is bounded).
    pub sessions: usize,
    /// Background tasks running on the server.
    pub tasks: usize,
    /// STUN binding requests the mock's STUN responder answered (v1's `ice_servers`).
    #[serde(default)]
    pub stun_answers: u64,
}

/// A process's resource use so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessStats {
    /// Resident set size now, in bytes.
    pub rss_bytes: u64,
    /// The largest resident set size so far, in bytes.
    pub peak_rss_bytes: u64,
    /// User plus system CPU time, in seconds, over all threads.
    pub cpu_seconds: f64,
}

/// Clock ticks per second in `/proc/*/stat`: `USER_HZ`, 100 on every Linux architecture that
/// exports it to user space.
const USER_HZ: f64 = 100.0;

impl ProcessStats {
    /// The calling process's figures, or `None` where `/proc/self` cannot be read.
    pub fn read() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&status, &stat)
    }

    fn parse(status: &str, stat: &str) -> Option<Self> {
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| n * 1024)
        };
        // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
        let after_name = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        let cpu_ticks = ticks(11)? + ticks(12)?;
        Some(Self {
            rss_bytes: kib("VmRSS:")?,
            peak_rss_bytes: kib("VmHWM:")?,
            cpu_seconds: cpu_ticks as f64 / USER_HZ,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_files() {
        let status = "Name:\tunderstudy\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        let stat = "4242 (under stu)dy) S 1 4242 4242 0 -1 4194560 2990 0 0 0 250 50 0 0 20 0 9";
        let stats = ProcessStats::parse(status, stat).unwrap();
        assert_eq!(stats.rss_bytes, 10_485_760);
        assert_eq!(stats.peak_rss_bytes, 20_971_520);
        assert_eq!(stats.cpu_seconds, 3.0);
        assert!(ProcessStats::parse("", stat).is_none());
    }

    #[test]
    fn this_process_can_be_read() {
        let stats = ProcessStats::read().expect("Linux /proc");
        assert!(stats.rss_bytes > 0 && stats.peak_rss_bytes >= stats.rss_bytes);
    }
}
