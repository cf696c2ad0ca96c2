//! Voice costs, each beside a baseline measured in the same run:
//! - `vad/speech_frame`, `vad/silent_frame`: the voice detector on one SDK audio frame
//!   (512 samples at 16 kHz), against `vad/decode_frame`: decoding that frame's pipecat
//!   protobuf, which the server does for every frame anyway.
//! - `turn_latency/user_stop_to_start_talking`: the chat-socket frame that completes a turn's
//!   hangover until the Rust SDK's event stream holds the answer's `avatar_start_talking`
//!   (stamped on receipt), against
//!   `turn_latency/bare_data_channel`: one message between two plain webrtc-rs peers.
//!
//! Run: `cargo bench -p understudy-benches --bench voice`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::voice::{SOCKET_FRAME_SAMPLES, SOCKET_SAMPLE_RATE, socket_frames, zeros};
use streaming_avatar::{EventStream, Session, SessionOptions, StreamingAvatar, StreamingEvent};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use understudy_benches::bare_channel::BareChannel;
use understudy_benches::{bench_bare_channel, chat_socket, new_samples, record, report, speech};
use understudy_proto::pipecat::{Frame, FrameKind};
use understudy_server::{MockServer, ServerConfig, VadConfig, VoiceDetector};

/// Longest wait for any event.
const WAIT: Duration = Duration::from_secs(10);

/// `ms` of the SDK's chat-socket audio: recorded speech, or the zeros it sends while muted.
fn audio_frames(ms: u64, spoken: bool) -> Vec<Vec<u8>> {
    socket_frames(&if spoken {
        speech(ms, SOCKET_SAMPLE_RATE)
    } else {
        zeros(Duration::from_millis(ms), SOCKET_SAMPLE_RATE)
    })
}

fn samples_of(frame: &[u8]) -> Vec<i16> {
    match Frame::decode(frame).expect("frame").frame {
        Some(FrameKind::Audio(audio)) => audio
            .audio
            .chunks_exact(2)
            .map(|p| i16::from_le_bytes([p[0], p[1]]))
            .collect(),
        _ => unreachable!("audio_frames makes audio frames"),
    }
}

fn vad(c: &mut Criterion) {
    // A frame from the middle of a word.
    let speech = audio_frames(640, true).swap_remove(10);
    let silence = audio_frames(32, false).remove(0);
    let (speech_pcm, silent_pcm) = (samples_of(&speech), samples_of(&silence));
    assert_eq!(speech_pcm.len(), SOCKET_FRAME_SAMPLES);
    let mut group = c.benchmark_group("vad");
    group.bench_function("decode_frame", |b| {
        b.iter(|| black_box(Frame::decode(black_box(&speech[..])).expect("frame")))
    });
    // A detector mid-turn, so every frame does the full work of a live conversation.
    let fresh = || {
        let mut vad = VoiceDetector::new(VadConfig::default());
        vad.push(&speech_pcm, 16_000);
        vad.push(&speech_pcm, 16_000);
        vad
    };
    group.bench_function("speech_frame", |b| {
        b.iter_batched_ref(
            fresh,
            |vad| black_box(vad.push(black_box(&speech_pcm), 16_000)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("silent_frame", |b| {
        b.iter_batched_ref(
            fresh,
            |vad| black_box(vad.push(black_box(&silent_pcm), 16_000)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A turn as the socket sends it, again and again: speech, then silence up to the frame that
/// completes the hangover (`last`), and the warm-up to send once before measuring. Which frame
/// completes the turn depends on the detector's judgement of the recording, and the detector
/// has memory (its network's first turn is judged a little differently from the ones after),
/// so it is found by running the server's detector, with the server's settings, over the same
/// frames after the same warm-up; the repetitions check that it stays the same frame.
fn turn_frames() -> (Vec<Vec<u8>>, Vec<u8>, Vec<Vec<u8>>) {
    let mut frames = audio_frames(640, true);
    frames.extend(audio_frames(1_200, false));
    let warm_up = frames.clone();
    let ends_at = |vad: &mut VoiceDetector, frames: &[Vec<u8>]| {
        frames.iter().position(|frame| {
            vad.push(&samples_of(frame), SOCKET_SAMPLE_RATE)
                .iter()
                .any(|e| matches!(e, understudy_server::VadEvent::SpeechEnded { .. }))
        })
    };
    let mut vad = VoiceDetector::new(VadConfig::default());
    ends_at(&mut vad, &warm_up).expect("the recording is a turn");
    let end = ends_at(&mut vad, &frames).expect("the recording is a turn");
    frames.truncate(end + 1);
    let mut vad = VoiceDetector::new(VadConfig::default());
    ends_at(&mut vad, &warm_up);
    for round in 0..4 {
        assert_eq!(
            ends_at(&mut vad, &frames),
            Some(end),
            "turn {round} ends on its last frame"
        );
    }
    let last = frames.pop().expect("frames");
    (frames, last, warm_up)
}

/// Cuts the avatar's answer and waits until it has stopped, so the next turn starts from quiet.
async fn interrupt_answer(session: &Session, events: &mut EventStream) {
    session.interrupt().await.expect("interrupt");
    events
        .wait_for(WAIT, |e| {
            matches!(e, StreamingEvent::AvatarStopTalking { .. })
        })
        .await
        .expect("avatar_stop_talking");
}

fn turn_latency(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = ServerConfig {
        concurrency_limit: 0,
        words_per_minute: 6000.0,
        // Recorded audio is sent far faster than real time, for as long as criterion likes.
        max_audio_ahead: Duration::from_secs(1_000_000_000),
        ..Default::default()
    };
    let server = runtime
        .block_on(MockServer::builder().config(config).start())
        .expect("mock");
    let base = server.uri();
    // The SDK joins the room and reads the events; the bench's own socket sends the audio, so
    // it knows which frame completes the turn.
    let (session, events, token) = runtime.block_on(async {
        let backend = StreamingAvatar::builder()
            .base_path(&base)
            .api_key("bench")
            .build()
            .expect("client");
        let token = backend.create_token().await.expect("token");
        let avatar = StreamingAvatar::builder()
            .base_path(&base)
            .token(token.clone())
            .build()
            .expect("client");
        let session = avatar
            .create_start_avatar_with(
                &NewSessionRequest::default(),
                SessionOptions::default().chat_socket(None),
            )
            .await
            .expect("session");
        let events = session.events();
        (session, events, token)
    });
    let id = session.session_id().to_owned();
    let room = Arc::new(Mutex::new((session, events)));
    let bare = Arc::new(Mutex::new(runtime.block_on(BareChannel::connect())));
    let (chat, mut chat_events) = runtime.block_on(chat_socket(&base, &id, &token)).split();
    // The socket's user_start / user_stop are read and dropped, so they never back up.
    // Pongs are passed on: a ping answered means the server has read every frame before it.
    let (pong_tx, pongs) = tokio::sync::mpsc::unbounded_channel::<()>();
    let pongs = Arc::new(Mutex::new(pongs));
    runtime.spawn(async move {
        while let Some(Ok(message)) = chat_events.next().await {
            if matches!(message, Message::Pong(_)) && pong_tx.send(()).is_err() {
                return;
            }
        }
    });
    let chat = Arc::new(Mutex::new(chat));
    let (lead_in, last, warm_up) = turn_frames();
    runtime.block_on(async {
        let mut chat = chat.lock().await;
        for frame in warm_up {
            chat.send(Message::Binary(frame.into()))
                .await
                .expect("send");
        }
        let mut room = room.lock().await;
        let (session, events) = &mut *room;
        events
            .wait_for(WAIT, |e| {
                matches!(e, StreamingEvent::AvatarStartTalking { .. })
            })
            .await
            .expect("the warm-up turn is answered");
        interrupt_answer(session, events).await;
    });
    let bare_hist = Arc::new(new_samples());
    let turn_hist = Arc::new(new_samples());
    let mut group = c.benchmark_group("turn_latency");
    bench_bare_channel(&mut group, &runtime, "bare_data_channel", &bare, &bare_hist);
    group.bench_function("user_stop_to_start_talking", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (room, chat, hist) = (Arc::clone(&room), Arc::clone(&chat), Arc::clone(&turn_hist));
            let pongs = Arc::clone(&pongs);
            let (lead_in, last) = (lead_in.clone(), last.clone());
            async move {
                let (mut room, mut chat) = (room.lock().await, chat.lock().await);
                let (session, events) = &mut *room;
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for frame in &lead_in {
                        chat.send(Message::Binary(frame.clone().into()))
                            .await
                            .expect("send");
                    }
                    // The lead-in arrives far faster than real time and the server judges each
                    // frame in tens of microseconds: a ping answered says it has heard them all,
                    // so the timed frame does not queue behind them (a live microphone sends
                    // one every 32 ms).
                    chat.send(Message::Ping(Vec::new().into()))
                        .await
                        .expect("ping");
                    pongs.lock().await.recv().await.expect("pong");
                    let started = tokio::time::Instant::now();
                    chat.send(Message::Binary(last.clone().into()))
                        .await
                        .expect("send");
                    let answer = events
                        .wait_for(WAIT, |e| {
                            matches!(e, StreamingEvent::AvatarStartTalking { .. })
                        })
                        .await
                        .expect("the answer's avatar_start_talking");
                    let took = answer.at.duration_since(started);
                    record(&hist, took);
                    total += took;
                    interrupt_answer(session, events).await;
                }
                total
            }
        })
    });
    group.finish();
    report(&bare_hist, &[("user_stop_to_start_talking", &turn_hist)]);
}

criterion_group!(benches, vad, turn_latency);
criterion_main!(benches);
