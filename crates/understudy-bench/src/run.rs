//! Running a plan: every session on its own task, each timing its set-up and then its speaks.

use crate::phases::{Phase, Results};
use crate::plan::{Plan, SpeakPathChoice};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use streaming_avatar::media::decode::{AudioDecoder, level_dbfs};
use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
use streaming_avatar::{
    ChatSocketUrl, Error, Session, SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar,
    StreamingEvent, VoiceChatTransport,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Runs `plan`, calling `progress` with the number of finished speaks as they finish.
pub async fn run(plan: &Plan, progress: impl Fn(usize) + Send + Sync + 'static) -> Results {
    let began = Instant::now();
    let progress = Arc::new(progress);
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..plan.sessions {
        let (plan, progress, done) = (plan.clone(), progress.clone(), done.clone());
        tasks.spawn(async move {
            let finished_one = move || progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            let mut recorder = Recorder {
                results: Results::default(),
                session: index,
                run_began: began,
            };
            session(&plan, &mut recorder, &finished_one).await;
            recorder.results
        });
    }
    let mut results = Results::default();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(one) = joined {
            results.merge(one);
        }
    }
    results.wall = began.elapsed();
    results
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

/// One session: set-up, warm-up, then the timed speaks, then stop.
async fn session(plan: &Plan, out: &mut Recorder, finished_one: &(dyn Fn() + Send + Sync)) {
    let began = Instant::now();
    let Some(mut session) = set_up(plan, out, began).await else {
        return;
    };
    let mut events = session.events();
    let mut video = session.video();
    let mut onsets = plan
        .audio_threshold_dbfs
        .map(|t| audible_onsets(&session, t));
    if let Err(e) = session.start().await {
        out.error(Phase::Start, Some(&e));
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

    let path = match plan.path {
        SpeakPathChoice::Http => SpeakPath::Http,
        SpeakPathChoice::Socket => SpeakPath::ChatSocket,
        SpeakPathChoice::Livekit => SpeakPath::LiveKit,
    };
    let speak = match plan.path {
        SpeakPathChoice::Http => SpeakRequest::repeat(plan.text.clone()),
        _ => SpeakRequest::talk(plan.text.clone()),
    };
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
        let answered = session.speak_via(path, &speak).await;
        let task_id = match answered {
            Ok(answer) => {
                if timed && path == SpeakPath::Http {
                    out.record(Phase::Answer, intended.elapsed());
                }
                answer.map(|a| a.task_id)
            }
            Err(e) => {
                if timed {
                    out.error(Phase::Answer, Some(&e));
                }
                continue;
            }
        };
        let mine = |e: &StreamingEvent, name: &str| {
            e.name() == name && task_id.as_deref().is_none_or(|t| e.task_id() == Some(t))
        };
        let started = events
            .wait_for(plan.timeout, |e| mine(e, "avatar_start_talking"))
            .await;
        let Ok(started) = started else {
            if timed {
                out.error(Phase::StartTalking, None);
            }
            continue;
        };
        let task = started.event.task_id().map(str::to_owned);
        if timed {
            out.record(Phase::StartTalking, started.at.duration_since(intended));
        }
        // Only from a silent avatar (closed loop): speaks that queue behind one another in
        // open loop run into continuous audio with no onset to time.
        if let Some(onsets) = onsets.as_mut().filter(|_| interval.is_none()) {
            match first_onset_after(onsets, intended, started.at + ONSET_GRACE).await {
                Some(at) if timed => out.record(Phase::TalkingAudio, at.duration_since(intended)),
                None if timed => out.error(Phase::TalkingAudio, None),
                _ => {}
            }
        }
        let stopped = events
            .wait_for(plan.timeout, |e| {
                e.name() == "avatar_stop_talking"
                    && (task.is_none() || e.task_id() == task.as_deref())
            })
            .await;
        match stopped {
            Ok(stopped) if timed => {
                out.record(Phase::StopTalking, stopped.at.duration_since(intended));
            }
            Err(_) if timed => out.error(Phase::StopTalking, None),
            _ => {}
        }
        if timed {
            finished_one();
        }
    }
    let _ = session.stop().await;
}

/// `create_token` with the API key, then `streaming.new` with the token.
async fn set_up(plan: &Plan, out: &mut Recorder, began: Instant) -> Option<Session> {
    let backend = StreamingAvatar::builder()
        .base_path(&plan.target)
        .api_key(&plan.api_key)
        .build();
    let token = match backend {
        Ok(client) => client.create_token().await,
        Err(e) => Err(e),
    };
    let token = match token {
        Ok(token) => token,
        Err(e) => {
            out.error(Phase::CreateToken, Some(&e));
            return None;
        }
    };
    out.record(Phase::CreateToken, began.elapsed());
    let avatar = StreamingAvatar::builder()
        .base_path(&plan.target)
        .token(token)
        .build()
        .ok()?;
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
        ia_is_livekit_transport: livekit.then_some(true),
        ..NewSessionRequest::default()
    };
    match avatar.new_session_with(&request, options).await {
        Ok(session) => {
            out.record(Phase::New, began.elapsed());
            Some(session)
        }
        Err(e) => {
            out.error(Phase::New, Some(&e));
            None
        }
    }
}

/// When the avatar's audio turns audible (a packet at or above `threshold_dbfs` after one
/// below it), decoded on a task of its own so the speak loop never waits on Opus. The task
/// ends with the session's audio or when the receiver is dropped.
fn audible_onsets(session: &Session, threshold_dbfs: f64) -> mpsc::UnboundedReceiver<Instant> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut audio = session.audio();
    tokio::spawn(async move {
        let Ok(mut decoder) = AudioDecoder::new() else {
            return;
        };
        let mut audible = false;
        while let Some(packet) = audio.next().await {
            let Ok(packet) = packet else {
                // Fell behind: whatever was missed, the next loud packet is an onset.
                audible = false;
                continue;
            };
            let Ok(samples) = decoder.decode(&packet) else {
                continue;
            };
            let loud = level_dbfs(&samples) >= threshold_dbfs;
            if loud && !audible && tx.send(packet.received_at).is_err() {
                return;
            }
            audible = loud;
        }
    });
    rx
}

/// How long after `avatar_start_talking` the audio may turn audible and still count: the
/// real service's audio may trail its event, but a speak should not wait the whole timeout
/// on a target whose audio never crosses the threshold.
const ONSET_GRACE: Duration = Duration::from_secs(3);

/// The first onset at or after `since` and before `deadline`; older ones (the last speak's)
/// are skipped.
async fn first_onset_after(
    onsets: &mut mpsc::UnboundedReceiver<Instant>,
    since: Instant,
    deadline: Instant,
) -> Option<Instant> {
    loop {
        match tokio::time::timeout_at(deadline, onsets.recv()).await {
            Ok(Some(at)) if at >= since => return Some(at),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}
