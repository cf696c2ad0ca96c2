//! Running a plan: every session on its own task, each timing its set-up and then its speaks.

use crate::phases::{Phase, Results};
use crate::plan::{Plan, SpeakPathChoice};
use std::time::Duration;
use streaming_avatar::proto::rest::session::{NewSessionRequest, Quality};
use streaming_avatar::{
    ChatSocketUrl, Error, SessionOptions, SpeakPath, SpeakRequest, StreamingAvatar, StreamingEvent,
    VoiceChatTransport,
};
use tokio::time::Instant;

/// Runs `plan`, calling `progress` with the number of finished speaks as they finish.
pub async fn run(plan: &Plan, progress: impl Fn(usize) + Send + Sync + 'static) -> Results {
    let began = Instant::now();
    let progress = std::sync::Arc::new(progress);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..plan.sessions {
        let (plan, progress, done) = (plan.clone(), progress.clone(), done.clone());
        tasks.spawn(async move {
            session(&plan, &|| {
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n);
            })
            .await
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

fn code(error: &Error) -> Option<i64> {
    error.code()
}

/// One session: set-up, warm-up, then the timed speaks, then stop.
async fn session(plan: &Plan, finished_one: &(dyn Fn() + Send + Sync)) -> Results {
    let mut results = Results::default();
    let began = Instant::now();
    let backend = match StreamingAvatar::builder()
        .base_path(&plan.target)
        .api_key(&plan.api_key)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            results.error(Phase::CreateToken, code(&e));
            return results;
        }
    };
    let token = match backend.create_token().await {
        Ok(token) => token,
        Err(e) => {
            results.error(Phase::CreateToken, code(&e));
            return results;
        }
    };
    results.record(Phase::CreateToken, began.elapsed());
    let Ok(avatar) = StreamingAvatar::builder()
        .base_path(&plan.target)
        .token(token)
        .build()
    else {
        return results;
    };
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
    let mut session = match avatar.new_session_with(&request, options).await {
        Ok(session) => session,
        Err(e) => {
            results.error(Phase::New, code(&e));
            return results;
        }
    };
    results.record(Phase::New, began.elapsed());
    let mut events = session.events();
    let mut video = session.video();
    if let Err(e) = session.start().await {
        results.error(Phase::Start, code(&e));
        return results;
    }
    results.record(Phase::Start, began.elapsed());
    match events
        .wait_for(plan.timeout, |e| matches!(e, StreamingEvent::StreamReady))
        .await
    {
        Ok(ready) => results.record(Phase::StreamReady, ready.at.duration_since(began)),
        Err(_) => results.error(Phase::StreamReady, None),
    }
    match tokio::time::timeout(plan.timeout, video.next()).await {
        Ok(Some(Ok(frame))) => {
            results.record(Phase::FirstFrame, frame.received_at.duration_since(began))
        }
        _ => results.error(Phase::FirstFrame, None),
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
    for i in 0..plan.warmup + plan.speaks {
        let timed = i >= plan.warmup;
        // Open loop: the intended start is on the schedule, whatever happened before; each
        // sample is timed from it.
        let intended = match interval {
            Some(every) => {
                let at = schedule_start + every * i as u32;
                tokio::time::sleep_until(at).await;
                at
            }
            None => Instant::now(),
        };
        let answered = session.speak_via(path, &speak).await;
        let task_id = match answered {
            Ok(answer) => {
                if timed && path == SpeakPath::Http {
                    results.record(Phase::Answer, intended.elapsed());
                }
                answer.map(|a| a.task_id)
            }
            Err(e) => {
                if timed {
                    results.error(Phase::Answer, code(&e));
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
                results.error(Phase::StartTalking, None);
            }
            continue;
        };
        let task = started.event.task_id().map(str::to_owned);
        if timed {
            results.record(Phase::StartTalking, started.at.duration_since(intended));
        }
        let stopped = events
            .wait_for(plan.timeout, |e| {
                e.name() == "avatar_stop_talking"
                    && (task.is_none() || e.task_id() == task.as_deref())
            })
            .await;
        match stopped {
            Ok(stopped) if timed => {
                results.record(Phase::StopTalking, stopped.at.duration_since(intended))
            }
            Err(_) if timed => results.error(Phase::StopTalking, None),
            _ => {}
        }
        if timed {
            finished_one();
        }
    }
    let _ = session.stop().await;
    results
}
