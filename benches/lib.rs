//! Shared set-up for the criterion benches: a mock with one connected session whose idle
//! timeout is off, and requests for the routes under measurement.

pub mod bare_channel;
pub mod hops;
pub mod load;

use axum::body::Body;
use axum::http::Request;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::Duration;
use understudy_server::{MockServer, ServerConfig};

/// Bench key; any key works on the default configuration.
pub const KEY: &str = "bench-key";

/// Whether this is a measuring run (`cargo bench`, which passes `--bench`) rather than the
/// test command's single pass (`cargo test --benches`), where the passes that are not
/// criterion's own (from-idle samples, session counts) shrink so a broken bench fails fast.
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The Rust SDK as an app's front end holds it: a fresh session token minted with the API key.
pub async fn sdk_client(base: &str) -> streaming_avatar::StreamingAvatar {
    let backend = streaming_avatar::StreamingAvatar::builder()
        .base_path(base)
        .api_key("bench")
        .build()
        .expect("client");
    let token = backend.create_token().await.expect("token");
    streaming_avatar::StreamingAvatar::builder()
        .base_path(base)
        .token(token)
        .build()
        .expect("client")
}

/// Resident MiB of this process (0 where `/proc` cannot be read).
pub fn rss_mib() -> f64 {
    understudy_proto::stats::ProcessStats::read()
        .map_or(0.0, |stats| stats.rss_bytes as f64 / (1024.0 * 1024.0))
}

/// A plain-HTTP client. reqwest is built without a default crypto provider (ring is chosen
/// explicitly everywhere), so install ring as the process default first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A mock on loopback with one connected session; returns the server and the session id.
pub async fn server_with_session() -> (MockServer, String) {
    // Nobody joins the room here: the session connects on `start`.
    let config = ServerConfig {
        concurrency_limit: 0,
        connect_on_start: true,
        ..Default::default()
    };
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("mock starts");
    let client = http_client();
    let new: serde_json::Value = client
        .post(format!("{}/v1/streaming.new", server.uri()))
        .header("x-api-key", KEY)
        .json(&json!({"version": "v2", "disable_idle_timeout": true}))
        .send()
        .await
        .expect("new")
        .json()
        .await
        .expect("json");
    let id = new["data"]["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    client
        .post(format!("{}/v1/streaming.start", server.uri()))
        .header("x-api-key", KEY)
        .json(&json!({"session_id": id}))
        .send()
        .await
        .expect("start");
    (server, id)
}

/// The body of an async repeat task of ten words.
pub fn task_body(session_id: &str) -> String {
    json!({"session_id": session_id, "text": "one two three four five six seven eight nine ten", "task_type": "repeat", "task_mode": "async"})
        .to_string()
}

pub fn interrupt_body(session_id: &str) -> String {
    json!({"session_id": session_id}).to_string()
}

/// An in-process POST with the bench key.
pub fn post(path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header("x-api-key", KEY)
        .body(Body::from(body))
        .expect("request")
}

/// An in-process GET of the health route: the baseline that passes the same layers (CORS,
/// journal, panic guard) with no session work.
pub fn health() -> Request<Body> {
    Request::get("/__understudy/health")
        .body(Body::empty())
        .expect("request")
}

/// Sends `body` as JSON with one auth header; returns the parsed answer.
pub async fn post_json(
    client: &reqwest::Client,
    url: String,
    auth: (&str, &str),
    body: Value,
) -> Value {
    client
        .post(url)
        .header(auth.0, auth.1)
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Mints a token, creates and starts a session; returns `(token, session id, url, access token)`.
pub async fn start_session(
    client: &reqwest::Client,
    base: &str,
) -> (String, String, String, String) {
    let token = post_json(
        client,
        format!("{base}/v1/streaming.create_token"),
        ("x-api-key", "bench"),
        json!({}),
    )
    .await;
    let token = token["data"]["token"].as_str().expect("token").to_owned();
    let bearer = format!("Bearer {token}");
    let new = post_json(
        client,
        format!("{base}/v1/streaming.new"),
        ("authorization", &bearer),
        json!({"version": "v2", "quality": "low", "disable_idle_timeout": true}),
    )
    .await;
    let data = &new["data"];
    let id = data["session_id"].as_str().expect("id").to_owned();
    post_json(
        client,
        format!("{base}/v1/streaming.start"),
        ("authorization", &bearer),
        json!({"session_id": id}),
    )
    .await;
    (
        token,
        id,
        data["url"].as_str().expect("url").to_owned(),
        data["access_token"].as_str().expect("jwt").to_owned(),
    )
}

pub fn record(hist: &std::sync::Mutex<Histogram<u64>>, took: Duration) {
    let _ = hist
        .lock()
        .expect("histogram")
        .record(took.as_micros() as u64);
}

pub type Samples = std::sync::Mutex<Histogram<u64>>;

/// Adds a bare-channel baseline to `group` under `name` (`bare_data_channel`: one message
/// between two plain webrtc-rs peers), every sample also recorded in `hist`.
pub fn bench_bare_channel(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    bare: &std::sync::Arc<tokio::sync::Mutex<bare_channel::BareChannel>>,
    hist: &std::sync::Arc<Samples>,
) {
    group.bench_function(name, |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (bare, hist) = (std::sync::Arc::clone(bare), std::sync::Arc::clone(hist));
            async move {
                let mut bare = bare.lock().await;
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = bare.sample().await;
                    record(&hist, took);
                    total += took;
                }
                total
            }
        })
    });
}

/// A client of the chat WebSocket, as the benches hold it.
pub type ChatSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the session's chat WebSocket with `TCP_NODELAY`, as browsers do.
pub async fn chat_socket(base: &str, session_id: &str, token: &str) -> ChatSocket {
    let url = format!(
        "{}/v1/ws/streaming.chat?session_id={session_id}&session_token={token}",
        base.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("chat socket")
        .0
}

/// An empty histogram of microseconds.
pub fn new_samples() -> Samples {
    std::sync::Mutex::new(Histogram::new(3).expect("histogram"))
}

/// How long [`settle`] pauses.
pub const IDLE_PAUSE: Duration = Duration::from_millis(2);

/// Pauses long enough for the runtime's worker threads to park and for an avatar that just
/// stopped talking to finish sending its idle key frame, so that the next sample starts from
/// an idle process, as each utterance of a real conversation does.
pub async fn settle() {
    tokio::time::sleep(IDLE_PAUSE).await;
}

/// Percentiles of every sample criterion took (warm-up included), and each path's ratio of
/// means to the bare channel.
pub fn report(bare: &Samples, paths: &[(&str, &Samples)]) {
    let bare = bare.lock().expect("histogram");
    let line = |name: &str, h: &Histogram<u64>| {
        println!(
            "{name}: n={} p50={}us p90={}us p99={}us max={}us",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.max()
        );
    };
    line("bare_data_channel", &bare);
    for (name, samples) in paths {
        let h = samples.lock().expect("histogram");
        line(name, &h);
        println!(
            "{name} / bare_data_channel (means): {:.2}; (medians): {:.2}",
            h.mean() / bare.mean(),
            median_ratio(&h, &bare)
        );
    }
}

/// `path`'s median over `baseline`'s: unlike the ratio of means, a burst of noise from the
/// machine (a stall of milliseconds in a few samples of either) barely moves it.
fn median_ratio(path: &Histogram<u64>, baseline: &Histogram<u64>) -> f64 {
    path.value_at_quantile(0.5) as f64 / baseline.value_at_quantile(0.5) as f64
}

/// A path beside the transport work it cannot avoid, measured in the same pass: what the
/// path takes beyond it is Understudy's own share (the mock's hops, tasks and encoding, the
/// SDK's reading), and the transport's ratio to the bare message is the least the path's
/// ratio can be.
pub fn report_transport_share(bare: &Samples, path: (&str, &Samples), transport: (&str, &Samples)) {
    let bare = bare.lock().expect("histogram");
    let (path_name, path) = (path.0, path.1.lock().expect("histogram"));
    let (transport_name, transport) = (transport.0, transport.1.lock().expect("histogram"));
    println!(
        "{transport_name}: n={} p50={}us p90={}us p99={}us max={}us",
        transport.len(),
        transport.value_at_quantile(0.5),
        transport.value_at_quantile(0.9),
        transport.value_at_quantile(0.99),
        transport.max()
    );
    println!(
        "{transport_name} / bare_data_channel (means): {:.2}; (medians): {:.2}",
        transport.mean() / bare.mean(),
        median_ratio(&transport, &bare)
    );
    println!(
        "{path_name} / {transport_name} (means): {:.2}; Understudy's own share (mock and SDK): {:.0}us",
        path.mean() / transport.mean(),
        path.mean() - transport.mean()
    );
}

/// `ms` of speech at `sample_rate`: the recorded "Hello, how are you today?" in
/// `fixtures/speech/`, cut short or said again as often as it takes. The mock's voice detector
/// hears it as a person talking (a tone, it would not).
pub fn speech(ms: u64, sample_rate: u32) -> Vec<i16> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/speech/hello.wav");
    let (mono, rate) = streaming_avatar::voice::read_wav(&path).expect("the speech fixture reads");
    let clip = streaming_avatar::voice::resample(&mono, rate, sample_rate);
    let n = (u64::from(sample_rate) * ms / 1000) as usize;
    clip.iter().copied().cycle().take(n).collect()
}
