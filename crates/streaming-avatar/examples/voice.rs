//! Speaks a WAV file as the user over voice chat, and prints the user's and the avatar's
//! events as JSON lines until the avatar has answered.
//!
//! ```sh
//! cargo run -p streaming-avatar --example voice -- --base-path http://127.0.0.1:8080 \
//!     --wav FILE [--transport websocket|livekit] [--api-key K]
//! ```

use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::time::Duration;
use streaming_avatar::proto::rest::session::NewSessionRequest;
use streaming_avatar::{
    PcmSource, SessionOptions, StreamingAvatar, StreamingEvent, VoiceChatTransport,
};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Websocket,
    Livekit,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = streaming_avatar::DEFAULT_BASE_PATH)]
    base_path: String,
    #[arg(long, env = "HEYGEN_API_KEY", default_value = "demo")]
    api_key: String,
    /// The user's speech.
    #[arg(long)]
    wav: std::path::PathBuf,
    #[arg(long, value_enum, default_value = "websocket")]
    transport: Transport,
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let source = PcmSource::from_wav(&args.wav)?;
    let transport = match args.transport {
        Transport::Websocket => VoiceChatTransport::WebSocket,
        Transport::Livekit => VoiceChatTransport::LiveKit,
    };
    let backend = StreamingAvatar::builder()
        .base_path(&args.base_path)
        .api_key(&args.api_key)
        .build()?;
    let avatar = StreamingAvatar::builder()
        .base_path(&args.base_path)
        .token(backend.create_token().await?)
        .build()?;
    let origin = Instant::now();
    let options = SessionOptions::default().voice_chat_transport(transport);
    let mut session = avatar
        .create_start_avatar_with(&NewSessionRequest::default(), options)
        .await?;
    let mut events = session.events();
    session.start_voice_chat(source, false).await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut user_spoke = false;
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .map_err(|_| "the avatar did not answer in time")?
            .ok_or("the session ended")??;
        let mut line = serde_json::json!({
            "event": event.event.name(),
            "at_ms": event.at.duration_since(origin).as_secs_f64() * 1000.0,
        });
        if let Some(task_id) = event.event.task_id() {
            line["task_id"] = task_id.into();
        }
        if let StreamingEvent::UserTalkingMessage { message, .. }
        | StreamingEvent::AvatarTalkingMessage { message, .. } = &event.event
        {
            line["message"] = message.as_str().into();
        }
        println!("{line}");
        match event.event {
            StreamingEvent::UserStop => user_spoke = true,
            StreamingEvent::AvatarStopTalking { .. } if user_spoke => break,
            _ => {}
        }
    }
    session.stop().await?;
    Ok(())
}
