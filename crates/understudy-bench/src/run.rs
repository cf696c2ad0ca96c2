//! Running a plan: every session on its own task, each timing its set-up and then its speaks.

use crate::phases::AudioTally;
use crate::phases::{Phase, Results};
use crate::plan::{Plan, SpeakPathChoice};
use crate::resources::{Resources, StatsProbe, Usage};
use crate::speaker::{self, Backend, Speaker};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use streaming_avatar::media::MediaStream;
use streaming_avatar::media::decode::VideoDecoder;
use streaming_avatar::media::decode::{AudioDecoder, level_dbfs};
use streaming_avatar::media::frames::{AudioPacket, VideoFrame};
use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality, VideoEncoding};
use streaming_avatar::proto::stats::ProcessStats as Reading;
use streaming_avatar::{ChatSocketUrl, Error, SessionOptions, StreamingEvent, VoiceChatTransport};
use tokio::sync::{Barrier, Semaphore, mpsc, watch};
use tokio::time::Instant;

/// Runs `plan`, calling `progress` with the number of finished speaks (REST-only: sessions)
/// as they finish.
///
/// Every session sets up, then waits for the others, so the speaks are timed with all of
/// them up; the target's and the bench's processes are read before, then, and at the end.
pub async fn run(plan: &Plan, progress: impl Fn(usize) + Send + Sync + 'static) -> Results {
    // One client with the API key, as an app's server holds it; sessions' clients share its
    // connections.
    let backend = match Backend::new(plan) {
        Ok(backend) => backend,
        Err(e) => {
            let mut results = Results::default();
            for _ in 0..plan.sessions {
                results.error(Phase::CreateToken, e.code());
            }
            return results;
        }
    };
    let probe = StatsProbe::new(&plan.target);
    let read_server = || async {
        match &probe {
            Some(probe) => probe.read().await,
            None => None,
        }
    };
    // A mock encodes media and fills caches for its first session: one session first, so the
    // per-session figures count what every session costs. Only on a target that reports
    // itself (a real service would bill the extra session).
    if probe.is_some() && read_server().await.is_some() {
        prime(plan, &backend).await;
    }
    let (server_before, bench_before) = (read_server().await, Reading::read());
    let began = Instant::now();
    let setups = Arc::new(Semaphore::new(plan.setup_concurrency.max(1)));
    let progress = Arc::new(progress);
    let done = Arc::new(AtomicUsize::new(0));
    let gates = Arc::new(Gates {
        // The sessions, and this task, which reads the processes once all are up.
        all_set_up: Barrier::new(plan.sessions + 1),
        measured: Barrier::new(plan.sessions + 1),
        up: AtomicUsize::new(0),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..plan.sessions {
        let (plan, backend, progress, done, gates, setups) = (
            plan.clone(),
            backend.clone(),
            progress.clone(),
            done.clone(),
            gates.clone(),
            setups.clone(),
        );
        tasks.spawn(async move {
            let finished_one = move || progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            let mut recorder = Recorder {
                results: Results::default(),
                session: index,
                run_began: began,
            };
            session(
                &plan,
                &mut recorder,
                &backend,
                &gates,
                &setups,
                &finished_one,
            )
            .await;
            recorder.results
        });
    }
    gates.all_set_up.wait().await;
    let (server_up, bench_up) = (read_server().await, Reading::read());
    gates.measured.wait().await;
    let mut results = Results::default();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(one) = joined {
            results.merge(one);
        }
    }
    results.wall = began.elapsed();
    let (server_after, bench_after) = (read_server().await, Reading::read());
    let usage = |before, all_up, after| match (before, all_up, after) {
        (Some(before), Some(all_up), Some(after)) => Some(Usage {
            before,
            all_up,
            after,
        }),
        _ => None,
    };
    results.resources = Resources {
        sessions_up: gates.up.load(Ordering::Relaxed),
        server: usage(server_before, server_up, server_after),
        bench: usage(bench_before, bench_up, bench_after),
        one_process: false,
    };
    results
}

/// Where sessions wait for each other. Every session passes exactly once, whether its set-up
/// worked or not, or the run would never go on.
struct Gates {
    all_set_up: Barrier,
    measured: Barrier,
    /// Sessions whose set-up worked.
    up: AtomicUsize,
}

impl Gates {
    async fn pass(&self, set_up: bool) {
        if set_up {
            self.up.fetch_add(1, Ordering::Relaxed);
        }
        self.all_set_up.wait().await;
        self.measured.wait().await;
    }
}

/// One session's results, with what a raw sample needs besides its value.
struct Recorder {
    results: Results,
    session: usize,
    run_began: Instant,
}

impl Recorder {
    fn record(&mut self, phase: Phase, took: Duration) {
        let at = self.run_began.elapsed();
        self.results.record(phase, took, self.session, at);
    }

    fn error(&mut self, phase: Phase, error: Option<&Error>) {
        self.results.error(phase, error.and_then(Error::code));
    }
}

/// One session: set-up, the gates, warm-up, the timed speaks, stop. REST-only: set-up without
/// the room, the gates, stop.
async fn session(
    plan: &Plan,
    out: &mut Recorder,
    backend: &Backend,
    gates: &Gates,
    setups: &Semaphore,
    finished_one: &(dyn Fn() + Send + Sync),
) {
    let turn = setups.acquire().await.ok();
    let began = Instant::now();
    let Some(mut session) = set_up(plan, backend, out, began).await else {
        drop(turn);
        gates.pass(false).await;
        return;
    };
    if plan.rest_only {
        // LiveAvatar's REST start was its set-up's last call.
        let started = match &session {
            Speaker::Streaming(s) => s.start_session().await,
            Speaker::LiveAvatar(_) => Ok(()),
        };
        match &started {
            Ok(()) => out.record(Phase::Start, began.elapsed()),
            Err(e) => out.error(Phase::Start, Some(e)),
        }
        drop(turn);
        gates.pass(started.is_ok()).await;
        session.stop().await;
        finished_one();
        return;
    }
    let mut events = session.events();
    let mut video = session.video();
    let (mut onsets, tally) = listen(session.audio(), plan.audio_threshold_dbfs);
    let mut talking_frames = plan.video_marker.then(|| watch_marker(session.video()));
    if let Err(e) = session.connect().await {
        out.error(Phase::Start, Some(&e));
        drop(turn);
        gates.pass(false).await;
        return;
    }
    out.record(Phase::Start, began.elapsed());
    match events
        .wait_for(plan.timeout, |e| matches!(e, StreamingEvent::StreamReady))
        .await
    {
        Ok(ready) => out.record(Phase::StreamReady, ready.at.duration_since(began)),
        Err(_) => out.error(Phase::StreamReady, None),
    }
    match tokio::time::timeout(plan.timeout, video.next()).await {
        Ok(Some(Ok(frame))) => {
            out.record(Phase::FirstFrame, frame.received_at.duration_since(began))
        }
        _ => out.error(Phase::FirstFrame, None),
    }
    drop(video);
    drop(turn);
    gates.pass(true).await;

    let interval = plan
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(1e-6)));
    let schedule_start = Instant::now();
    let mut timed_since = None;
    for i in 0.. {
        let timed = i >= plan.warmup;
        if timed {
            let since = *timed_since.get_or_insert_with(Instant::now);
            let enough = match plan.duration {
                Some(duration) => since.elapsed() >= duration,
                None => i - plan.warmup >= plan.speaks,
            };
            if enough {
                break;
            }
        }
        // Open loop: the intended start is on the schedule, whatever happened before; each
        // sample is timed from it.
        let intended = match interval {
            Some(every) => {
                let at = schedule_start + every.mul_f64(i as f64);
                tokio::time::sleep_until(at).await;
                at
            }
            None => Instant::now(),
        };
        let spoken = match session.speak(plan).await {
            Ok((spoken, answered_over_http)) => {
                if timed && answered_over_http {
                    out.record(Phase::Answer, intended.elapsed());
                }
                spoken
            }
            Err(e) => {
                if timed {
                    out.error(Phase::Answer, Some(&e));
                }
                continue;
            }
        };
        let started = events
            .wait_for(plan.timeout, |e| {
                session.is_own(e, spoken.id.as_deref(), true)
            })
            .await;
        let Ok(started) = started else {
            if timed {
                out.error(Phase::StartTalking, None);
            }
            continue;
        };
        let task = session.own_id(&started.event, &spoken);
        if timed {
            out.record(Phase::StartTalking, started.at.duration_since(intended));
        }
        // Only from a silent, idle avatar (closed loop): speaks that queue behind one another
        // in open loop run into continuous talking with no onset to time.
        if let Some(frames) = talking_frames.as_mut().filter(|_| interval.is_none()) {
            match frames.first_after(intended, started.at + ONSET_GRACE).await {
                Some(at) if timed => out.record(Phase::TalkingFrame, at.duration_since(intended)),
                None if timed => out.error(Phase::TalkingFrame, None),
                _ => {}
            }
        }
        if let Some(onsets) = onsets.as_mut().filter(|_| interval.is_none()) {
            match onsets.first_after(intended, started.at + ONSET_GRACE).await {
                Some(at) if timed => out.record(Phase::TalkingAudio, at.duration_since(intended)),
                None if timed => out.error(Phase::TalkingAudio, None),
                _ => {}
            }
        }
        let stopped = events
            .wait_for(plan.timeout, |e| session.is_own(e, task.as_deref(), false))
            .await;
        match stopped {
            Ok(stopped) if timed => {
                out.record(Phase::StopTalking, stopped.at.duration_since(intended));
            }
            Err(_) if timed => out.error(Phase::StopTalking, None),
            _ => {}
        }
        // The next closed-loop speak starts from an avatar whose media is idle too (untimed).
        if interval.is_none() {
            let deadline = Instant::now() + ONSET_GRACE;
            for media in [talking_frames.as_mut(), onsets.as_mut()]
                .into_iter()
                .flatten()
            {
                media.until_off(deadline).await;
            }
        }
        if timed {
            finished_one();
        }
    }
    session.stop().await;
    drop(onsets);
    drop(talking_frames);
    out.results
        .audio
        .add(&tally.lock().unwrap_or_else(|e| e.into_inner()));
}

/// One session through set-up (with its room unless REST-only), then stopped; nothing timed.
async fn prime(plan: &Plan, backend: &Backend) {
    let mut out = Recorder {
        results: Results::default(),
        session: 0,
        run_began: Instant::now(),
    };
    if let Some(mut session) = set_up(plan, backend, &mut out, Instant::now()).await {
        let started = match (&session, plan.rest_only) {
            (Speaker::Streaming(s), true) => s.start_session().await,
            (Speaker::LiveAvatar(_), true) => Ok(()),
            (_, false) => session.connect().await,
        };
        if started.is_ok() && !plan.rest_only {
            let mut video = session.video();
            let _ = tokio::time::timeout(plan.timeout, video.next()).await;
        }
        session.stop().await;
    }
}

/// `create_token` with the API key, then `streaming.new` with the token; or LiveAvatar's
/// token and REST start.
async fn set_up(
    plan: &Plan,
    backend: &Backend,
    out: &mut Recorder,
    began: Instant,
) -> Option<Speaker> {
    let backend = match backend {
        Backend::Streaming(backend) => backend,
        Backend::LiveAvatar(backend) => {
            let token_done = || out.record(Phase::CreateToken, began.elapsed());
            return match speaker::liveavatar_set_up(backend, token_done).await {
                Ok(speaker) => Some(speaker),
                Err((at_token, e)) => {
                    let phase = if at_token {
                        Phase::CreateToken
                    } else {
                        Phase::Start
                    };
                    out.error(phase, Some(&e));
                    None
                }
            };
        }
    };
    let token = match backend.create_token().await {
        Ok(token) => token,
        Err(e) => {
            out.error(Phase::CreateToken, Some(&e));
            return None;
        }
    };
    out.record(Phase::CreateToken, began.elapsed());
    // The session's REST calls share the backend's connections, as on an app's server.
    let avatar = backend.with_token(token);
    let livekit = plan.path == SpeakPathChoice::Livekit;
    let options = SessionOptions::default()
        .chat_socket((plan.path == SpeakPathChoice::Socket).then_some(ChatSocketUrl::FromBasePath))
        .voice_chat_transport(if livekit {
            VoiceChatTransport::LiveKit
        } else {
            VoiceChatTransport::WebSocket
        });
    let request = NewSessionRequest {
        version: Some("v2".into()),
        quality: Some(Quality::Low),
        // The SDK decodes H264 only; the marker is read from decoded pictures.
        video_encoding: plan.video_marker.then_some(VideoEncoding::H264),
        ia_is_livekit_transport: livekit.then_some(true),
        ..NewSessionRequest::default()
    };
    match avatar.new_session_with(&request, options).await {
        Ok(session) => {
            out.record(Phase::New, began.elapsed());
            Some(Speaker::Streaming(Box::new(session)))
        }
        Err(e) => {
            out.error(Phase::New, Some(&e));
            None
        }
    }
}

/// Listens to the avatar's audio on a task of its own, so the speak loop never waits on Opus:
/// counts the packets that arrive against those due, and with a threshold decodes them and
/// sends when the audio turns audible (a packet at or above `threshold_dbfs` after one below
/// it). The task ends with the session's audio or when the receiver is dropped.
fn listen(
    mut audio: MediaStream<AudioPacket>,
    threshold_dbfs: Option<f64>,
) -> (Option<Onsets>, Arc<Mutex<AudioTally>>) {
    let (tx, rx) = Onsets::channel();
    let tally = Arc::new(Mutex::new(AudioTally::default()));
    let counted = tally.clone();
    tokio::spawn(async move {
        let mut decoder = threshold_dbfs.and_then(|_| AudioDecoder::new().ok());
        let mut audible = false;
        while let Some(packet) = audio.next().await {
            let Ok(packet) = packet else {
                // Fell behind: whatever was missed, the next loud packet is an onset.
                audible = false;
                tx.quiet();
                continue;
            };
            counted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .count(packet.rtp_timestamp);
            let (Some(decoder), Some(threshold)) = (decoder.as_mut(), threshold_dbfs) else {
                continue;
            };
            let Ok(samples) = decoder.decode(&packet) else {
                continue;
            };
            let loud = level_dbfs(&samples) >= threshold;
            if loud != audible && !tx.edge(loud, packet.received_at) {
                return;
            }
            audible = loud;
        }
    });
    (threshold_dbfs.map(|_| rx), tally)
}

/// Decodes the avatar's video on a task of its own and sends when a frame first shows the
/// talking marker after frames that did not. Ends with the session's video or when the
/// receiver is dropped.
fn watch_marker(mut video: MediaStream<VideoFrame>) -> Onsets {
    let (tx, rx) = Onsets::channel();
    tokio::spawn(async move {
        let Ok(mut decoder) = VideoDecoder::new() else {
            return;
        };
        let mut talking = false;
        while let Some(frame) = video.next().await {
            let Ok(frame) = frame else {
                // Fell behind: decode again from the next key frame.
                decoder.gap();
                talking = false;
                tx.quiet();
                continue;
            };
            let Ok(Some(picture)) = decoder.decode(&frame) else {
                continue;
            };
            let now_talking = picture.marker().is_some_and(|m| m.talking);
            if now_talking != talking && !tx.edge(now_talking, frame.received_at) {
                return;
            }
            talking = now_talking;
        }
    });
    rx
}

/// How long after `avatar_start_talking` the audio may turn audible (or the picture show
/// talking) and still count: the real service's media may trail its event, but a speak should
/// not wait the whole timeout on a target whose media never crosses the line.
const ONSET_GRACE: Duration = Duration::from_secs(3);

/// When the avatar's media (its sound past the threshold, or its picture's talking marker)
/// turned on, and whether it is on now, as read by a task that decodes it.
struct Onsets {
    times: mpsc::UnboundedReceiver<Instant>,
    on: watch::Receiver<bool>,
}

/// The decoding task's end of [`Onsets`].
struct OnsetSender {
    times: mpsc::UnboundedSender<Instant>,
    on: watch::Sender<bool>,
}

impl OnsetSender {
    /// The media turned on or off at `at`; false once nobody listens.
    fn edge(&self, on: bool, at: Instant) -> bool {
        self.on.send_replace(on);
        !on || self.times.send(at).is_ok()
    }

    /// The reader fell behind: whatever it missed, the media counts as off until seen on.
    fn quiet(&self) {
        self.on.send_replace(false);
    }
}

impl Onsets {
    fn channel() -> (OnsetSender, Onsets) {
        let (times_tx, times) = mpsc::unbounded_channel();
        let (on_tx, on) = watch::channel(false);
        (
            OnsetSender {
                times: times_tx,
                on: on_tx,
            },
            Onsets { times, on },
        )
    }

    /// The first onset at or after `since` and before `deadline`; older ones (the last
    /// speak's) are skipped.
    async fn first_after(&mut self, since: Instant, deadline: Instant) -> Option<Instant> {
        loop {
            match tokio::time::timeout_at(deadline, self.times.recv()).await {
                Ok(Some(at)) if at >= since => return Some(at),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits, up to `deadline`, until the media is off. A closed-loop speak is timed from an
    /// idle avatar: when the last one stopped and the next began within one media tick of the
    /// target, its picture or sound never went idle in between, and the next speak would have
    /// no onset to time.
    async fn until_off(&mut self, deadline: Instant) {
        let _ = tokio::time::timeout_at(deadline, self.on.wait_for(|on| !on)).await;
    }
}
