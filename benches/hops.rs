//! Where a speak's time goes: a `tracing` layer that stamps the hop events the server and the
//! SDK emit (`understudy_proto::hops`) while a sample is being traced, and a table of when each
//! hop was passed, measured from the speak call.
//!
//! Recording is off except inside [`HopTrace::sample`], so the passes that produce the bench's
//! headline figures run with the layer installed but idle (one atomic load per hop event).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use understudy_proto::hops;

/// The hops passed so far in the sample being traced, in order.
#[derive(Debug, Default)]
struct Recording {
    on: AtomicBool,
    /// Each hop's index in [`hops::ALL`] and when it was passed.
    passed: Mutex<Vec<(usize, Instant)>>,
}

struct HopLayer(Arc<Recording>);

impl<S: Subscriber> Layer<S> for HopLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == hops::TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == hops::TARGET && self.0.on.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let at = Instant::now();
        let mut hop = HopIndex(None);
        event.record(&mut hop);
        if let Some(index) = hop.0 {
            self.0.passed.lock().expect("hops").push((index, at));
        }
    }
}

/// Reads the `hop` field back to the hop's index in [`hops::ALL`].
struct HopIndex(Option<usize>);

impl Visit for HopIndex {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "hop" {
            self.0 = hops::ALL.iter().position(|name| *name == value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// Per (hop's index in [`hops::ALL`], 0 for its last passing or 1 for its first when it was
/// passed more than once): every sample's time from the speak call to it.
type HopTable = BTreeMap<(usize, u8), Vec<Duration>>;

/// The process's hop recorder (a process has one global subscriber, so one recorder).
#[derive(Clone, Debug)]
pub struct HopTrace {
    recording: Arc<Recording>,
    table: Arc<Mutex<HopTable>>,
    /// Every sample's whole time, speak call to `avatar_start_talking` in the app's stream.
    ends: Arc<Mutex<Vec<Duration>>>,
}

impl HopTrace {
    /// Installs the recorder as the global subscriber (once per process).
    ///
    /// # Panics
    /// When another global subscriber was installed first.
    pub fn install() -> HopTrace {
        static TRACE: OnceLock<HopTrace> = OnceLock::new();
        TRACE
            .get_or_init(|| {
                let recording = Arc::new(Recording::default());
                let subscriber =
                    tracing_subscriber::registry().with(HopLayer(Arc::clone(&recording)));
                tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
                HopTrace {
                    recording,
                    table: Arc::default(),
                    ends: Arc::default(),
                }
            })
            .clone()
    }

    /// Runs `speak` with recording on; it returns the instant the speak began and its whole
    /// time to `avatar_start_talking`. Each hop's last passing before recording stopped goes
    /// into the table (and its first, when it was passed more than once): a talk's
    /// `avatar_talking_message` chunks pass the stage and the SDK just before its
    /// `avatar_start_talking`, so the last is the one the sample waited for.
    pub async fn sample<F>(&self, speak: F)
    where
        F: std::future::Future<Output = (Instant, Duration)>,
    {
        self.recording.passed.lock().expect("hops").clear();
        self.recording.on.store(true, Ordering::Relaxed);
        let (began, took) = speak.await;
        self.recording.on.store(false, Ordering::Relaxed);
        self.ends.lock().expect("ends").push(took);
        let passed = std::mem::take(&mut *self.recording.passed.lock().expect("hops"));
        // Keyed by (hop, 0) for the last passing and (hop, 1) for the first, when they differ.
        let mut seen = BTreeMap::new();
        for (index, at) in passed {
            let since = at.saturating_duration_since(began);
            if let Some(first) = seen.insert((index, 0), since) {
                seen.entry((index, 1)).or_insert(first);
            }
        }
        let mut table = self.table.lock().expect("table");
        for (key, since) in seen {
            table.entry(key).or_default().push(since);
        }
    }

    /// Prints each hop's median time since the speak call and the step from the hop before,
    /// then forgets the samples.
    pub fn report(&self, title: &str) {
        let mut table = std::mem::take(&mut *self.table.lock().expect("table"));
        let mut ends = std::mem::take(&mut *self.ends.lock().expect("ends"));
        let end = median(&mut ends);
        println!(
            "{title} ({} samples): median time from the speak call to each hop (us)",
            ends.len()
        );
        let mut previous = Duration::ZERO;
        let mut rows: Vec<(String, Duration)> = table
            .iter_mut()
            .map(|((index, first), times)| {
                let name = hops::ALL[*index];
                let name = if *first == 1 {
                    format!("{name} (first of several)")
                } else {
                    name.to_owned()
                };
                (name, median(times))
            })
            .collect();
        rows.sort_by_key(|(_, at)| *at);
        rows.push(("avatar_start_talking in the app's stream".into(), end));
        for (name, at) in rows {
            println!(
                "  {name:<52} {:>7.1}  (+{:.1})",
                micros(at),
                micros(at.saturating_sub(previous))
            );
            previous = at;
        }
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
