//! The `liveavatar` dialect (`liveavatar.md`): the steps of a scenario as LiveAvatar's calls,
//! through the Rust SDK's LiveAvatar client for the session's real-time half. Steps that are
//! the same in both dialects (waits, expectations, sleeps, raw HTTP, faults, the mock's user
//! turns) run as they do for the Streaming API.

use super::{Run, Stop};
use crate::matchers;
use crate::scenario::{Call, Speak, Step};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use streaming_avatar::liveavatar::LiveAvatar;
use tokio::time::Instant;

impl Run<'_> {
    pub(super) async fn liveavatar_step(
        &mut self,
        step: &Step,
        started: Instant,
    ) -> Result<(), Stop> {
        match step {
            Step::CreateToken(call) => {
                let reply = self
                    .call(
                        "create_token",
                        "/v1/sessions/token",
                        call,
                        Some(json!({"mode": "FULL", "avatar_id": "default"})),
                        true,
                    )
                    .await?;
                for (var, path) in [
                    ("token", "data.session_token"),
                    ("session_id", "data.session_id"),
                ] {
                    if let Some(value) = matchers::at_path(&reply, path) {
                        self.vars.insert(var.into(), value.clone());
                    }
                }
                Ok(())
            }
            Step::New(_) | Step::Connect(_) => Err(Stop::Error(format!(
                "LiveAvatar has no `{}`: `create_token` makes the session and `start` joins it",
                step.kind()
            ))),
            Step::StartSession(call) => self
                .call("start_session", "/v1/sessions/start", call, None, false)
                .await
                .map(drop),
            Step::Start(_) => self.liveavatar_start().await,
            Step::Speak(speak) => self.liveavatar_speak(speak).await,
            Step::Interrupt(call) => {
                no_reply(call, "interrupt")?;
                let session = self.liveavatar_session()?;
                session
                    .interrupt()
                    .await
                    .map_err(|e| Stop::Failed(format!("interrupt: {e}"), None))
            }
            Step::StartListening(call) | Step::StopListening(call) => {
                no_reply(call, step.kind())?;
                let session = self.liveavatar_session()?;
                let sent = if matches!(step, Step::StartListening(_)) {
                    session.start_listening().await
                } else {
                    session.stop_listening().await
                };
                let event_id =
                    sent.map_err(|e| Stop::Failed(format!("{}: {e}", step.kind()), None))?;
                self.capture(&call.capture, &json!({ "event_id": event_id }))
            }
            Step::KeepAlive(call) => self
                .call("keep_alive", "/v1/sessions/keep-alive", call, None, false)
                .await
                .map(drop),
            Step::Stop(call) => {
                self.call("stop", "/v1/sessions/stop", call, None, false)
                    .await?;
                self.await_room_end().await;
                Ok(())
            }
            Step::PushToTalkStart(_) | Step::PushToTalkStop(_) => {
                let session = self.liveavatar_session()?;
                let done = if matches!(step, Step::PushToTalkStart(_)) {
                    session.push_to_talk_start().await
                } else {
                    session.push_to_talk_stop().await
                };
                done.map_err(|e| Stop::Failed(format!("{}: {e}", step.kind()), None))
            }
            Step::StartVoiceChat(voice) => {
                let source = self.microphone(voice)?;
                self.liveavatar
                    .as_mut()
                    .ok_or_else(|| Stop::Error("no LiveAvatar session: run start first".into()))?
                    .start_voice_chat(source, voice.muted)
                    .await
                    .map_err(|e| Stop::Failed(format!("start_voice_chat: {e}"), None))
            }
            Step::CloseVoiceChat(_) => {
                if let Some(session) = self.liveavatar.as_mut() {
                    session.close_voice_chat().await;
                }
                Ok(())
            }
            Step::UserSays(says) => self.user_says(says).await,
            Step::WaitEvent(wait) => self.wait_event(wait).await,
            Step::ExpectEvents(expect) => self.expect_events(expect),
            Step::Sleep(sleep) => {
                tokio::time::sleep_until(started + Duration::from_millis(sleep.ms)).await;
                Ok(())
            }
            Step::Http(http) => self.http(http).await,
            Step::Fault(rule) => self.fault(rule).await,
        }
    }

    fn liveavatar_session(&self) -> Result<&streaming_avatar::liveavatar::LiveAvatarSession, Stop> {
        self.liveavatar
            .as_ref()
            .ok_or_else(|| Stop::Error("no LiveAvatar session: run start first".into()))
    }

    /// `start()` as the web SDK does it: `POST /v1/sessions/start` with the session token,
    /// then the room.
    async fn liveavatar_start(&mut self) -> Result<(), Stop> {
        let token = self
            .vars
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| Stop::Error("no session token yet: run create_token first".into()))?
            .to_owned();
        let account = LiveAvatar::builder()
            .base_path(&self.target.base_url)
            .api_key(&self.target.api_key)
            .build()
            .map_err(|e| Stop::Error(format!("the SDK client: {e}")))?;
        let began = Instant::now();
        let failed = |e| {
            Stop::Failed(
                format!("start failed after {:?}: {e}", began.elapsed()),
                None,
            )
        };
        let mut session = account.start_session(&token).await.map_err(failed)?;
        self.timeline
            .reply(Instant::now(), "start", 201, &json!({"code": 1000}));
        // Listening from before the join, so `stream_ready` is on the timeline.
        self.events = Some(session.events());
        let joined = session.connect().await;
        self.liveavatar = Some(session);
        joined.map_err(failed)
    }

    /// `repeat` (`avatar.speak_text`) or, for `task_type: talk`, `message`
    /// (`avatar.speak_response`); captures from `{event_id}`.
    async fn liveavatar_speak(&mut self, speak: &Speak) -> Result<(), Stop> {
        if speak.expect.is_some() {
            return Err(Stop::Error(
                "a LiveAvatar speak is a command with no reply: check its events instead".into(),
            ));
        }
        let text = self.text(&speak.text)?;
        let session = self.liveavatar_session()?;
        let sent = match speak.task_type.as_deref().unwrap_or("repeat") {
            "repeat" => session.repeat(&text).await,
            "talk" | "chat" => session.message(&text).await,
            other => {
                return Err(Stop::Error(format!("task_type `{other}`: repeat or talk")));
            }
        };
        let event_id = sent.map_err(|e| Stop::Failed(format!("speak: {e}"), None))?;
        self.timeline
            .reply(Instant::now(), "speak", 0, &json!({ "event_id": event_id }));
        self.capture(&speak.capture, &json!({ "event_id": event_id }))
    }

    /// Stops what the scenario left running: the session through the SDK, or, when it was
    /// never joined, with its token over REST.
    pub(super) async fn finish_liveavatar(&mut self) {
        if let Some(session) = self.liveavatar.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), session.stop()).await;
        } else if self.vars.contains_key("token") {
            let _ = self
                .send("POST", "/v1/sessions/stop", "token", &BTreeMap::new(), None)
                .await;
        }
    }
}

/// A command with no reply cannot check or send one.
fn no_reply(call: &Call, step: &str) -> Result<(), Stop> {
    if call.expect.is_some() || call.body.is_some() || call.use_api_key {
        return Err(Stop::Error(format!(
            "`{step}` is a LiveAvatar command on agent-control: it has no body and no reply to check"
        )));
    }
    Ok(())
}
