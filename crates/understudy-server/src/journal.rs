//! The request journal (like wiremock's `received_requests`): a bounded log of what the mock
//! received and answered, filled by `routes::record`.
//!
//! Entries are kept as they came (the body's bytes are shared with the handler, not copied) and
//! turned into [`RecordedRequest`]s only when someone reads the journal: parsing bodies as JSON
//! and redacting secrets (`crate::redact`) are off the request path, and every export is
//! redacted, so no read of the journal shows an API key or token. Bounded twice: at most
//! `capacity` entries, and bodies past [`MAX_JOURNALED_BODY`] are kept only as their length.

use crate::redact;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Request and response bodies larger than this are journaled as a note of their length.
pub const MAX_JOURNALED_BODY: usize = 64 * 1024;

/// One request as the mock received it, and what it answered, as the journal's readers see it.
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
    /// The fault rule that changed this exchange, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<JournaledFault>,
}

/// A fired fault, beside the request or connection it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournaledFault {
    /// The rule's id in `/__understudy/faults`.
    pub id: u64,
    /// What it did, in words (`respond 500 10000`, `close 4000`, `leave 5`).
    pub action: String,
}

/// A body as kept: whole when small, else its length.
#[derive(Debug, Clone)]
pub enum KeptBody {
    Whole(Bytes),
    TooLarge(usize),
}

impl KeptBody {
    pub fn of(bytes: &Bytes) -> Self {
        if bytes.len() > MAX_JOURNALED_BODY {
            KeptBody::TooLarge(bytes.len())
        } else {
            KeptBody::Whole(bytes.clone())
        }
    }

    fn export(&self) -> serde_json::Value {
        let bytes = match self {
            KeptBody::TooLarge(len) => return serde_json::Value::String(format!("<{len} bytes>")),
            KeptBody::Whole(bytes) if bytes.is_empty() => return serde_json::Value::Null,
            KeptBody::Whole(bytes) => bytes,
        };
        let mut value = serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        });
        redact::json(&mut value);
        value
    }
}

/// One exchange as received: raw, unredacted, private to the journal.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub unix_ms: u128,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: KeptBody,
    pub status: StatusCode,
    pub response: KeptBody,
    pub fault: Option<JournaledFault>,
}

impl JournalEntry {
    /// The entry as readers see it: bodies parsed, secrets redacted.
    fn export(&self, seq: u64) -> RecordedRequest {
        RecordedRequest {
            seq,
            unix_ms: self.unix_ms,
            method: self.method.to_string(),
            path: self.uri.path().to_owned(),
            query: self.uri.query().map(redact::query),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes());
                    (k.as_str().to_owned(), redact::header(k.as_str(), &value))
                })
                .collect(),
            body: self.body.export(),
            status: self.status.as_u16(),
            response: self.response.export(),
            fault: self.fault.clone(),
        }
    }
}

/// A bounded log of requests, oldest dropped first.
#[derive(Debug)]
pub struct Journal {
    entries: VecDeque<(u64, JournalEntry)>,
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

    pub fn push(&mut self, entry: JournalEntry) {
        if self.capacity == 0 {
            return;
        }
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((self.next_seq, entry));
    }

    /// The raw entries, cheaply copied (bodies are shared), to export outside the lock.
    pub fn snapshot(&self) -> Vec<(u64, JournalEntry)> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Records a fault fired on a socket (the chat socket, the room, the realtime endpoint):
    /// an entry for the connection it changed, `WS` on the socket's path.
    pub fn push_socket_fault(&mut self, path: &str, session_id: &str, fault: JournaledFault) {
        let uri = format!("{path}?session_id={session_id}")
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        self.push(JournalEntry {
            unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            method: Method::from_bytes(b"WS").unwrap_or(Method::GET),
            uri,
            headers: HeaderMap::new(),
            body: KeptBody::Whole(Bytes::new()),
            status: StatusCode::SWITCHING_PROTOCOLS,
            response: KeptBody::Whole(Bytes::new()),
            fault: Some(fault),
        });
    }
}

/// Exports a snapshot for readers: parsed and redacted.
pub fn export(snapshot: &[(u64, JournalEntry)]) -> Vec<RecordedRequest> {
    snapshot
        .iter()
        .map(|(seq, entry)| entry.export(*seq))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &'static [u8]) -> JournalEntry {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "secret-key".parse().unwrap());
        JournalEntry {
            unix_ms: 1,
            method: Method::POST,
            uri: "/v1/streaming.new?access_token=abc".parse().unwrap(),
            headers,
            body: KeptBody::of(&Bytes::from_static(body)),
            status: StatusCode::OK,
            response: KeptBody::of(&Bytes::from_static(br#"{"data":{"token":"t0k3n"}}"#)),
            fault: None,
        }
    }

    #[test]
    fn exports_are_parsed_and_redacted() {
        let mut journal = Journal::new(10);
        journal.push(entry(br#"{"session_id":"s"}"#));
        let exported = export(&journal.snapshot());
        let text = serde_json::to_string(&exported).unwrap();
        for secret in ["secret-key", "abc", "t0k3n"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(exported[0].body["session_id"], "s");
        assert_eq!(exported[0].seq, 1);
    }

    #[test]
    fn the_journal_is_bounded_in_entries_and_bytes() {
        let mut journal = Journal::new(3);
        for _ in 0..5 {
            journal.push(entry(b"{}"));
        }
        let seqs: Vec<u64> = journal.snapshot().iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [3, 4, 5]);
        let big = Bytes::from(vec![b'a'; MAX_JOURNALED_BODY + 1]);
        assert!(matches!(KeptBody::of(&big), KeptBody::TooLarge(n) if n == MAX_JOURNALED_BODY + 1));
        assert_eq!(
            KeptBody::of(&big).export(),
            serde_json::Value::String(format!("<{} bytes>", MAX_JOURNALED_BODY + 1))
        );
    }
}
