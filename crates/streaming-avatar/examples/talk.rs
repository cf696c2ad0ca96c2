//! Starts a session, waits for STREAM_READY, speaks, prints every event as one JSON line, saves
//! one decoded talking frame as a PNG, stops.
//!
//! ```sh
//! cargo run -p streaming-avatar --example talk -- --base-path http://127.0.0.1:8080 \
//!     [--api-key K] [--text T] [--task-type repeat|talk] [--frame-png FILE]
//! ```
//! Exits 0 when the avatar spoke and stopped; 1 with HeyGen's message on an error.

use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::time::Duration;
use streaming_avatar::media::decode::VideoDecoder;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{Event, SpeakRequest, StreamingAvatar, StreamingEvent};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskType {
    Repeat,
    Talk,
}

#[derive(Debug, Parser)]
struct Args {
    /// The API's base URL, e.g. `understudy serve`'s http://127.0.0.1:8080.
    #[arg(long, default_value = streaming_avatar::DEFAULT_BASE_PATH)]
    base_path: String,
    /// The API key; any key works against `understudy serve` unless it was given --api-key.
    #[arg(long, env = "HEYGEN_API_KEY", default_value = "demo")]
    api_key: String,
    #[arg(long, default_value = "Hello from Rust. I am talking now.")]
    text: String,
    #[arg(long, value_enum, default_value = "repeat")]
    task_type: TaskType,
    /// Save one decoded talking frame here.
    #[arg(long)]
    frame_png: Option<std::path::PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn json_line(event: &Event, origin: Instant) -> serde_json::Value {
    let mut line = serde_json::json!({
        "event": event.event.name(),
        "seq": event.seq,
        "at_ms": event.at.duration_since(origin).as_secs_f64() * 1000.0,
    });
    if let Some(task_id) = event.event.task_id() {
        line["task_id"] = task_id.into();
    }
    match &event.event {
        StreamingEvent::AvatarTalkingMessage { message, .. }
        | StreamingEvent::UserTalkingMessage { message, .. } => {
            line["message"] = message.as_str().into()
        }
        StreamingEvent::AvatarStopTalking {
            duration_ms: Some(ms),
            ..
        } => line["duration_ms"] = (*ms).into(),
        StreamingEvent::StreamDisconnected { reason } => line["reason"] = reason.to_string().into(),
        StreamingEvent::ConnectionQualityChanged { quality } => {
            line["quality"] = quality.as_str().into()
        }
        _ => {}
    }
    line
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(args.timeout);
    let backend = StreamingAvatar::builder()
        .base_path(&args.base_path)
        .api_key(&args.api_key)
        .build()?;
    let token = backend.create_token().await?;
    let avatar = StreamingAvatar::builder()
        .base_path(&args.base_path)
        .token(token)
        .build()?;
    let origin = Instant::now();
    let mut session = avatar.new_session(&NewSessionRequest::default()).await?;
    let mut events = session.events();
    let printer = {
        let mut printed = session.events();
        tokio::spawn(async move {
            while let Some(Ok(event)) = printed.next().await {
                println!("{}", json_line(&event, origin));
            }
        })
    };
    session.start().await?;
    events
        .wait_for(timeout, |e| matches!(e, StreamingEvent::StreamReady))
        .await?;
    let mut video = session.video();
    let request = match args.task_type {
        TaskType::Repeat => SpeakRequest::repeat(&args.text),
        TaskType::Talk => SpeakRequest::talk(&args.text),
    };
    session.speak(&request).await?;
    events
        .wait_for(timeout, |e| {
            matches!(e, StreamingEvent::AvatarStartTalking { .. })
        })
        .await?;
    if let Some(path) = &args.frame_png {
        let mut decoder = VideoDecoder::new()?;
        let deadline = Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, video.next())
                .await
                .map_err(|_| "no talking frame in time")?
                .ok_or("the video ended")?;
            let Ok(frame) = next else {
                decoder.gap(); // we fell behind: wait for a key frame
                continue;
            };
            let Some(picture) = decoder.decode(&frame)? else {
                continue;
            };
            if picture.marker().is_some_and(|m| m.talking) {
                let file = std::io::BufWriter::new(std::fs::File::create(path)?);
                let mut png = png::Encoder::new(file, picture.width as u32, picture.height as u32);
                png.set_color(png::ColorType::Rgb);
                png.set_depth(png::BitDepth::Eight);
                png.write_header()?.write_image_data(&picture.rgb)?;
                eprintln!("saved a talking frame to {}", path.display());
                break;
            }
        }
    }
    events
        .wait_for(timeout, |e| {
            matches!(e, StreamingEvent::AvatarStopTalking { .. })
        })
        .await?;
    session.stop().await?;
    // The printer ends when the session's events end.
    drop(session);
    let _ = tokio::time::timeout(Duration::from_secs(2), printer).await;
    Ok(())
}
