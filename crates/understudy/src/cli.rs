//! Raw command-line arguments (clap derive) and their conversion into a validated plan before
//! any I/O happens.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use understudy_server::{
    AuthPolicy, EventTimeline, MockServerBuilder, OfferDtlsRole, ServerConfig, TalkReplyText,
    TlsSource, VadConfig,
};

#[derive(Debug, Parser)]
#[command(
    name = "understudy",
    version,
    about = "An offline stand-in for HeyGen's Streaming Avatar service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mock server until Ctrl-C.
    Serve(ServeArgs),
    /// Replay scenario files against a target (by default an embedded mock) and report.
    Conformance(ConformanceArgs),
    /// A proxy that records a client's session against a target as a runnable scenario.
    Record(RecordArgs),
    /// Measure speak-to-start-talking latency (and session set-up) against a target.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The API to measure. Default: an embedded mock on a free loopback port.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// The API key for --target.
    #[arg(long, env = "HEYGEN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Timed speaks per session.
    #[arg(long, default_value_t = 20)]
    pub speaks: usize,
    /// Untimed speaks per session first.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// The speak path: http (repeat, async), socket or livekit (talk).
    #[arg(long, default_value = "http")]
    pub path: understudy_bench::SpeakPathChoice,
    /// The API spoken: `streaming` (HeyGen's Streaming API) or `liveavatar` (its successor,
    /// FULL mode: each speak an `avatar.speak_text` command, timed to `avatar.speak_started`;
    /// --path does not apply). Against a real LiveAvatar, --target https://api.liveavatar.com
    /// with its API key.
    #[arg(long, default_value = "streaming")]
    pub dialect: understudy_bench::Dialect,
    /// Open loop: speaks per second per session, each timed from its scheduled start
    /// (coordinated omission corrected). Default: closed loop.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// What each speak says.
    #[arg(long, default_value = "hi")]
    pub text: String,
    /// Speak for this many seconds after warm-up instead of --speaks times.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Time `talking_audio` from the first audio packet at or above this level (dBFS).
    #[arg(long, value_name = "DBFS", default_value_t = understudy_bench::plan::DEFAULT_AUDIO_THRESHOLD_DBFS, allow_negative_numbers = true)]
    pub audio_threshold_dbfs: f64,
    /// Decode no audio and skip `talking_audio` (cheaper with many sessions; packets are
    /// still counted).
    #[arg(long)]
    pub no_audio: bool,
    /// Time talking_frame: request H264 and read the mock's talking marker from every decoded
    /// frame (costly: keep --sessions small).
    #[arg(long)]
    pub video_marker: bool,
    /// Sessions setting up at once (the rest wait their turn).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub setup_concurrency: usize,
    /// Sessions only create_token, new and start over REST (no room, no speaks), wait for
    /// each other, then stop: with a mock target, what an idle session costs it.
    #[arg(long)]
    pub rest_only: bool,
    /// The embedded mock's latency profile: instant, heygen or a file (see docs/latency.md).
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "target")]
    pub latency_profile: Option<String>,
    /// Seed of the embedded mock's latency profile.
    #[arg(long, value_name = "N", conflicts_with = "target")]
    pub latency_seed: Option<u64>,
    /// Run the embedded mock's timers K times faster (see `serve --time-scale`).
    #[arg(long, value_name = "K", conflicts_with = "target")]
    pub time_scale: Option<f64>,
    /// Write the summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write every sample, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub ndjson: Option<PathBuf>,
    /// Write each phase's histogram as HdrHistogram text, DIR/<phase>.hgrm.
    #[arg(long, value_name = "DIR")]
    pub hgrm: Option<PathBuf>,
    /// Write the summary as a Markdown table.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write one self-contained HTML page: histograms, percentile curves, time series.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// A gate, e.g. 'start_talking.p99<4s' (repeatable); a broken one exits 4.
    #[arg(long = "threshold", value_name = "PHASE.pNN<LIMIT")]
    pub thresholds: Vec<understudy_bench::Threshold>,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The API the client's calls go to (e.g. http://127.0.0.1:8080 or https://api.heygen.com).
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// The port to listen on (127.0.0.1); point the client's basePath at it.
    #[arg(long, value_name = "PORT", default_value_t = 8090)]
    pub listen: u16,
    /// Where the scenario is written (YAML).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The scenario's name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Scenario files or directories (every *.yaml under them). Default: the built-in corpus.
    pub paths: Vec<PathBuf>,
    /// The API to test (e.g. https://api.heygen.com). Default: an embedded mock on a free
    /// loopback port, started and stopped by this command.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// The API key for --target.
    #[arg(long, env = "HEYGEN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Run only scenarios with one of these tags (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Skip scenarios with any of these tags (repeatable); use `mock-only` against a real
    /// service.
    #[arg(long = "exclude-tag", value_name = "TAG")]
    pub exclude_tags: Vec<String>,
    /// Write the full report (steps, timelines) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write one self-contained HTML page: each scenario's steps and events on a time axis,
    /// and a diff for every failed expectation.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// List the selected scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Run the scenarios against two targets (URLs, or `mock` for an embedded mock) and report
    /// where replies' codes and shapes, event orders or timings differ, ids and times aside.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "target")]
    pub compare: Option<Vec<String>>,
    /// The API key for the second --compare target (default: --api-key).
    #[arg(long, env = "HEYGEN_API_KEY_B", hide_env_values = true)]
    pub api_key_b: Option<String>,
    /// Where LiveAvatar scenarios (`dialect: liveavatar`) run, when not at --target: the real
    /// service is https://api.liveavatar.com, with keys of its own.
    #[arg(long, value_name = "URL", requires = "target")]
    pub liveavatar_target: Option<String>,
    /// The API key for --liveavatar-target.
    #[arg(long, env = "LIVEAVATAR_API_KEY", hide_env_values = true)]
    pub liveavatar_api_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "UNDERSTUDY_HOST")]
    pub host: IpAddr,
    /// Plain HTTP (and ws://) port; 0 picks a free one.
    #[arg(long, default_value_t = 8080, env = "UNDERSTUDY_PORT")]
    pub port: u16,
    /// Turn the plain HTTP listener off.
    #[arg(long)]
    pub no_http: bool,
    /// HTTPS (and wss://) port. The official SDK dials wss://<basePath host> on 443, so give
    /// 443 here for browser tests (it needs root or CAP_NET_BIND_SERVICE).
    #[arg(long, default_value_t = 8443, env = "UNDERSTUDY_HTTPS_PORT")]
    pub https_port: u16,
    /// Turn the HTTPS listener off.
    #[arg(long)]
    pub no_https: bool,
    /// UDP port of the STUN responder v1 sessions name in `ice_servers`; 0 (the default)
    /// picks a free one, since each answer says where it is.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 0,
        env = "UNDERSTUDY_STUN_PORT"
    )]
    pub stun_port: u16,
    /// No STUN responder: v1 sessions get empty `ice_servers`.
    #[arg(long, conflicts_with = "stun_port")]
    pub no_stun: bool,
    /// Extra host name or IP for the generated certificate (repeatable); localhost, 127.0.0.1
    /// and ::1 are always in it.
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Where the generated certificate and key are written and reused from.
    #[arg(long, value_name = "DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Serve this PEM certificate chain instead of generating one (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept only these API keys (repeatable). Without it any non-empty key is accepted.
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "UNDERSTUDY_API_KEYS",
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,
    /// Live sessions one API key may hold; 0 means no limit.
    #[arg(long, default_value_t = 3)]
    pub concurrency_limit: usize,
    /// Seconds before a session ends on its own (session_duration_limit).
    #[arg(long, default_value_t = 600)]
    pub session_duration_limit: u64,
    /// Idle seconds before a session ends when streaming.new gives no activity_idle_timeout.
    #[arg(long, default_value_t = 120)]
    pub idle_timeout: u64,
    /// Speaking rate at voice.rate = 1, in words per minute.
    #[arg(long, default_value_t = 150.0)]
    pub words_per_minute: f64,
    /// Seconds a token from create_token stays valid.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl: u64,
    /// Let one session token create more than one session.
    #[arg(long)]
    pub allow_token_reuse: bool,
    /// Let a second LiveKit join with the same identity in beside the first, instead of
    /// replacing it with leave{DUPLICATE_IDENTITY} as a LiveKit server does.
    #[arg(long)]
    pub allow_duplicate_identity: bool,
    /// Reject avatar ids that avatar.list does not show (10012).
    #[arg(long)]
    pub strict_avatars: bool,
    /// Answer as a paid account (is_paid: true).
    #[arg(long)]
    pub paid: bool,
    /// Seed for the deterministic replies to talk tasks.
    #[arg(long, default_value_t = 0)]
    pub reply_seed: u64,
    /// Connect a session on streaming.start instead of when its client joins the LiveKit room
    /// (for REST-only clients that never join).
    #[arg(long)]
    pub connect_on_start: bool,
    /// Voice: RMS level (dBFS) below which microphone audio is silence, whatever it sounds like.
    #[arg(long, default_value_t = -50.0, allow_negative_numbers = true)]
    pub vad_threshold_dbfs: f64,
    /// Voice: the voice detector's score (0 to 1) at or above which a 16 ms frame is speech.
    #[arg(long, default_value_t = 0.5)]
    pub vad_speech_score: f32,
    /// Voice: milliseconds of silence that end a user turn.
    #[arg(long, default_value_t = 600)]
    pub vad_hangover_ms: u64,
    /// Voice: keep talking when the user starts speaking (default: the user cuts the avatar).
    #[arg(long)]
    pub no_barge_in: bool,
    /// Voice: seconds of quiet before a `user_silence` prompt (with `silence_response=true`).
    #[arg(long, default_value_t = 15)]
    pub silence_prompt_after: u64,
    /// Voice: prompts per silence before the server stops prompting.
    #[arg(long, default_value_t = 3)]
    pub silence_prompts: u32,
    /// Voice: milliseconds a client's audio may run ahead of the wall clock before frames are
    /// dropped; raise it to feed recorded audio faster than real time.
    #[arg(long, default_value_t = 2000)]
    pub max_audio_ahead_ms: u64,
    /// Where encoded video loops are kept between runs, so a fresh server does not encode
    /// them again [default: $XDG_CACHE_HOME/understudy/media or ~/.cache/understudy/media].
    #[arg(long, value_name = "DIR", env = "UNDERSTUDY_MEDIA_CACHE")]
    pub media_cache: Option<PathBuf>,
    /// Keep encoded media in memory only.
    #[arg(long, conflicts_with = "media_cache")]
    pub no_media_cache: bool,
    /// How slow the mock is: `instant` (no delays), `heygen` (the real service's observed
    /// figures) or a YAML/JSON file giving each phase a distribution (see docs/latency.md).
    #[arg(long, value_name = "NAME|FILE", default_value = "instant")]
    pub latency_profile: String,
    /// Seed of the latency profile's draws, instead of the profile's own.
    #[arg(long, value_name = "N")]
    pub latency_seed: Option<u64>,
    /// When a task's text (avatar_talking_message) goes out: `observed` (when the task is
    /// queued, before avatar_start_talking, as seen on the real service) or `progressive`
    /// (after avatar_start_talking, in chunks as it is said).
    #[arg(long, value_name = "TIMELINE", default_value = "observed", value_parser = parse_timeline)]
    pub event_timeline: EventTimeline,
    /// How the observed timeline sends a talk reply's text: `words` (word and punctuation
    /// chunks, as seen in January 2025) or `whole` (one message, as seen in May 2025).
    #[arg(long, value_name = "FORM", default_value = "words", value_parser = parse_talk_reply_text)]
    pub talk_reply_text: TalkReplyText,
    /// The DTLS role the avatar's LiveKit offer asks for: `auto` (`active` for browsers, so
    /// the mock dials DTLS and a browser's early ClientHello cannot be lost; `actpass` for other
    /// clients) or `actpass` (to every client, as a LiveKit server offers).
    #[arg(long, value_name = "ROLE", default_value = "auto", value_parser = parse_dtls_role)]
    pub offer_dtls_role: OfferDtlsRole,
    /// Requests kept in the journal (`/__understudy/requests`), the oldest dropped first; 0
    /// keeps none.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub journal_capacity: usize,
    /// Open the admin API (/__understudy: journal, faults, sessions, reset) to clients off
    /// loopback, to those that send this secret (`Authorization: Bearer` or
    /// `x-understudy-admin-token`). Without it the admin API answers loopback clients only.
    #[arg(long, value_name = "SECRET", env = "UNDERSTUDY_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Run the mock's timers K times faster (speech, idle timeout, duration limit, token
    /// lifetime, silence prompts, latency profile); what clients are told stays in real-service
    /// time, and media keeps real-time pacing.
    #[arg(long, value_name = "K", default_value_t = 1.0)]
    pub time_scale: f64,
}

fn parse_timeline(text: &str) -> Result<EventTimeline, String> {
    match text {
        "observed" => Ok(EventTimeline::Observed),
        "progressive" => Ok(EventTimeline::Progressive),
        other => Err(format!("`{other}`: observed or progressive")),
    }
}

fn parse_talk_reply_text(text: &str) -> Result<TalkReplyText, String> {
    match text {
        "words" => Ok(TalkReplyText::Words),
        "whole" => Ok(TalkReplyText::Whole),
        other => Err(format!("`{other}`: words or whole")),
    }
}

fn parse_dtls_role(text: &str) -> Result<OfferDtlsRole, String> {
    match text {
        "auto" => Ok(OfferDtlsRole::Auto),
        "actpass" => Ok(OfferDtlsRole::Actpass),
        other => Err(format!("`{other}`: auto or actpass")),
    }
}

/// The user's cache directory for media: `$XDG_CACHE_HOME/understudy/media`, else
/// `$HOME/.cache/understudy/media`; none when neither is set.
fn default_media_cache() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("understudy").join("media"))
}

/// A validated `serve` invocation.
#[derive(Debug)]
pub struct ServePlan {
    pub builder: MockServerBuilder,
    pub host: IpAddr,
}

impl ServeArgs {
    /// Checks the arguments and builds the server description; nothing is bound yet.
    ///
    /// # Errors
    /// Both listeners off, or configuration values the server would refuse.
    pub fn into_plan(self) -> anyhow::Result<ServePlan> {
        if self.no_http && self.no_https {
            bail!("--no-http and --no-https together leave nothing to serve");
        }
        let auth = if self.api_keys.is_empty() {
            AuthPolicy::AnyKey
        } else {
            AuthPolicy::Keys(
                self.api_keys
                    .into_iter()
                    .filter(|k| !k.is_empty())
                    .collect(),
            )
        };
        let mut latency = crate::profile::load(&self.latency_profile)?;
        if let Some(seed) = self.latency_seed {
            latency.seed = seed;
        }
        let config = ServerConfig {
            latency: std::sync::Arc::new(latency),
            time_scale: self.time_scale,
            journal_capacity: self.journal_capacity,
            admin_token: self.admin_token.filter(|t| !t.is_empty()),
            event_timeline: self.event_timeline,
            talk_reply_text: self.talk_reply_text,
            offer_dtls_role: self.offer_dtls_role,
            auth,
            concurrency_limit: self.concurrency_limit,
            session_duration_limit: Duration::from_secs(self.session_duration_limit),
            default_idle_timeout: Duration::from_secs(self.idle_timeout),
            words_per_minute: self.words_per_minute,
            token_ttl: Duration::from_secs(self.token_ttl),
            allow_token_reuse: self.allow_token_reuse,
            allow_duplicate_identity: self.allow_duplicate_identity,
            strict_avatars: self.strict_avatars,
            is_paid: self.paid,
            reply_seed: self.reply_seed,
            connect_on_start: self.connect_on_start,
            vad: VadConfig {
                threshold_dbfs: self.vad_threshold_dbfs,
                speech_score: self.vad_speech_score,
                hangover: Duration::from_millis(self.vad_hangover_ms),
                ..VadConfig::default()
            },
            barge_in: !self.no_barge_in,
            silence_prompt_after: Duration::from_secs(self.silence_prompt_after),
            silence_prompts: self.silence_prompts,
            max_audio_ahead: Duration::from_millis(self.max_audio_ahead_ms),
            media_cache: if self.no_media_cache {
                None
            } else {
                self.media_cache.or_else(default_media_cache)
            },
            ..ServerConfig::default()
        };
        config.validate().context("invalid server configuration")?;

        let mut builder = MockServerBuilder::default().config(config);
        builder = if self.no_http {
            builder.no_http()
        } else {
            builder.http(SocketAddr::new(self.host, self.port))
        };
        builder = if self.no_stun {
            builder.no_stun()
        } else {
            builder.stun(SocketAddr::new(self.host, self.stun_port))
        };
        if !self.no_https {
            let tls = match (self.tls_cert, self.tls_key) {
                (Some(cert), Some(key)) => TlsSource::Files { cert, key },
                _ => {
                    let mut names = self.tls_names;
                    if !self.host.is_loopback() && !self.host.is_unspecified() {
                        names.push(self.host.to_string());
                    }
                    match self.tls_dir {
                        Some(dir) => TlsSource::Generated { dir, names },
                        None => TlsSource::generated(names),
                    }
                }
            };
            builder = builder.https(SocketAddr::new(self.host, self.https_port), tls);
        }
        Ok(ServePlan {
            builder,
            host: self.host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve_args(argv: &[&str]) -> ServeArgs {
        match Cli::parse_from(argv).command {
            Command::Serve(args) => args,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_make_a_valid_plan() {
        let args = serve_args(&["understudy", "serve"]);
        assert_eq!(args.port, 8080);
        assert!(args.into_plan().is_ok());
    }

    #[test]
    fn turning_both_listeners_off_is_refused() {
        let args = serve_args(&["understudy", "serve", "--no-http", "--no-https"]);
        assert!(args.into_plan().is_err());
    }

    #[test]
    fn the_talk_reply_text_is_words_unless_whole_is_asked_for() {
        let words = serve_args(&["understudy", "serve"]);
        assert_eq!(words.talk_reply_text, TalkReplyText::Words);
        let whole = serve_args(&["understudy", "serve", "--talk-reply-text", "whole"]);
        assert_eq!(whole.talk_reply_text, TalkReplyText::Whole);
        let wrong = Cli::try_parse_from(["understudy", "serve", "--talk-reply-text", "lines"]);
        let message = wrong.expect_err("refused").to_string();
        assert!(message.contains("words or whole"), "{message}");
    }

    #[test]
    fn a_zero_speaking_rate_is_refused_before_binding() {
        let args = serve_args(&["understudy", "serve", "--words-per-minute", "0"]);
        assert!(args.into_plan().is_err());
    }
}
