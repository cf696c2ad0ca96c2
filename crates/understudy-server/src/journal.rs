//! The request journal (like wiremock's `received_requests`): a bounded log of what the mock
//! received and answered. `routes::record` fills it, redacting secrets as it goes.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// One request as the mock received it, and what it answered.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub seq: u64,
    pub unix_ms: u128,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// The body as JSON when it parses, as a string when it does not, `null` when empty.
    pub body: serde_json::Value,
    pub status: u16,
    pub response: serde_json::Value,
}

/// A bounded log of requests, oldest dropped first.
#[derive(Debug)]
pub struct Journal {
    entries: VecDeque<RecordedRequest>,
    capacity: usize,
    next_seq: u64,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            next_seq: 0,
        }
    }

    pub fn push(&mut self, mut entry: RecordedRequest) {
        if self.capacity == 0 {
            return;
        }
        self.next_seq += 1;
        entry.seq = self.next_seq;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn entries(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
