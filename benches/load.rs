//! A closed-loop HTTP/1.1 load generator in the manner of wrk: a fixed number of keep-alive
//! connections, each sending its next request as soon as the last answer is read, for a fixed
//! time. Requests are serialised once up front and answers are parsed only as far as the status
//! and `Content-Length`, so the generator costs far less than the servers it loads (which is
//! what lets two servers be compared by their throughput on the same machine).

use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// One request as bytes on the wire.
pub fn post(host: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// What a run saw.
#[derive(Debug)]
pub struct LoadReport {
    pub requests: u64,
    /// Answers whose status was not 2xx.
    pub failures: u64,
    pub elapsed: Duration,
    /// Microseconds from a request's first byte sent to its answer's last byte read.
    pub latency: Histogram<u64>,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `connections` connections to `addr` for `duration`, each cycling through `requests`.
///
/// # Panics
/// When a connection fails or an answer cannot be parsed: a benchmark has no use for half a
/// result.
pub async fn run(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    connections: usize,
    duration: Duration,
) -> LoadReport {
    let began = Instant::now();
    let deadline = began + duration;
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let requests = Arc::clone(&requests);
            tokio::spawn(async move { connection(addr, &requests, i, deadline).await })
        })
        .collect();
    let mut report = LoadReport {
        requests: 0,
        failures: 0,
        elapsed: Duration::ZERO,
        latency: Histogram::new(3).expect("histogram"),
    };
    for worker in workers {
        let (requests, failures, latency) = worker.await.expect("connection task");
        report.requests += requests;
        report.failures += failures;
        report
            .latency
            .add(latency)
            .expect("histograms of one shape");
    }
    report.elapsed = began.elapsed();
    report
}

async fn connection(
    addr: SocketAddr,
    requests: &[Vec<u8>],
    offset: usize,
    deadline: Instant,
) -> (u64, u64, Histogram<u64>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut latency = Histogram::new(3).expect("histogram");
    let mut buffer = Vec::with_capacity(16 * 1024);
    let (mut sent, mut failures) = (0u64, 0u64);
    while Instant::now() < deadline {
        let request = &requests[(offset + sent as usize) % requests.len()];
        let started = Instant::now();
        stream.write_all(request).await.expect("send");
        let status = read_answer(&mut stream, &mut buffer).await;
        let _ = latency.record(started.elapsed().as_micros() as u64);
        sent += 1;
        if !(200..300).contains(&status) {
            failures += 1;
        }
    }
    (sent, failures, latency)
}

/// Reads one answer (headers, then `Content-Length` bytes of body); returns its status.
async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> u16 {
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).expect("an ASCII head");
            let status: u16 = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .expect("a status line");
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a content-length");
            let total = end + 4 + length;
            while buffer.len() < total {
                fill(stream, buffer).await;
            }
            buffer.drain(..total);
            return status;
        }
        fill(stream, buffer).await;
    }
}

async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await.expect("read");
    assert!(n > 0, "the server closed the connection");
    buffer.extend_from_slice(&chunk[..n]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
