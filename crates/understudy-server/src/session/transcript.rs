//! What was said in a session, by whom and when: the avatar's tasks and the user's turns, as
//! LiveAvatar's `/transcript` reports them. Bounded, oldest lines dropped first.

use std::collections::VecDeque;
use std::time::Duration;
use understudy_proto::liveavatar::rest::Speaker;

/// Lines kept per session.
const MAX_LINES: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
    /// Unix seconds (with fractions) when it was said.
    pub at_unix: f64,
    /// Since the session was created.
    pub since_start: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct TranscriptLog {
    lines: VecDeque<TranscriptLine>,
}

impl TranscriptLog {
    pub fn push(&mut self, speaker: Speaker, text: &str, since_start: Duration) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        let at_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.lines.push_back(TranscriptLine {
            speaker,
            text: text.to_owned(),
            at_unix,
            since_start,
        });
    }

    pub fn lines(&self) -> impl Iterator<Item = &TranscriptLine> {
        self.lines.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_lines() {
        let mut log = TranscriptLog::default();
        for i in 0..MAX_LINES + 3 {
            log.push(Speaker::User, &i.to_string(), Duration::from_secs(i as u64));
        }
        let texts: Vec<_> = log.lines().map(|l| l.text.clone()).collect();
        assert_eq!(texts.len(), MAX_LINES);
        assert_eq!(texts[0], "3");
    }
}
