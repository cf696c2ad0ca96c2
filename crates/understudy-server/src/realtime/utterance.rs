//! A realtime socket's audio on its way to the speech schedule.
//!
//! `agent.speak` chunks of one utterance make one task that grows as they arrive (so the avatar
//! talks from the first chunk on, as HeyGen's does); `agent.speak_end` closes it. If the
//! avatar has said everything received before the next chunk comes (a client slower than
//! real time), that chunk starts a new task [INF]. `agent.audio_buffer_append` holds audio
//! until `agent.audio_buffer_commit` says it as one utterance, the realtime alpha's flow.

use crate::livekit::media::clip::{CLIENT_SAMPLE_RATE, ClipEncoder, packets_duration};
use crate::session::{Caller, Operation};
use crate::speech::SpokenAudio;
use crate::state::AppState;
use base64::Engine as _;
use bytes::Bytes;
use understudy_proto::ErrorKind;

/// Audio one message may carry, decoded: LiveAvatar's documented 1 MB a packet (about 21 s
/// at 24 kHz). The WebSocket layer refuses messages far past it.
pub const MAX_AUDIO_BYTES: usize = 1 << 20;
/// What `agent.audio_buffer_append` may hold before a commit: one minute of audio.
pub const MAX_BUFFERED_SAMPLES: usize = CLIENT_SAMPLE_RATE * 60;

/// Why a chunk could not be said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not audio the server can use: the message for the client.
    Invalid(String),
    /// The session refused it (not connected, queue full).
    Session(ErrorKind),
}

/// Decodes a message's `audio`: base64 of PCM16 little-endian.
///
/// # Errors
/// A message naming what is wrong: not base64, over [`MAX_AUDIO_BYTES`], an odd byte count.
pub fn decode_pcm(audio: &str) -> Result<Vec<i16>, Refusal> {
    let too_big = || {
        Refusal::Invalid(format!(
            "audio over {MAX_AUDIO_BYTES} bytes in one message: send it in chunks of about a second"
        ))
    };
    // Base64 is 4/3 of the bytes: refuse before decoding something far too big.
    if audio.len() / 4 * 3 > MAX_AUDIO_BYTES + 3 {
        return Err(too_big());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(audio.trim())
        .map_err(|_| Refusal::Invalid("invalid base64 audio data".into()))?;
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(too_big());
    }
    if bytes.len() % 2 != 0 {
        return Err(Refusal::Invalid(
            "audio must be 16-bit PCM: an even number of bytes".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// One utterance being received.
#[derive(Debug)]
struct Open {
    /// The `agent.speak` that began it, echoed in `agent.speak_started`.
    event_id: String,
    encoder: ClipEncoder,
    /// The task saying it, once a whole packet has arrived.
    task: Option<(String, SpokenAudio)>,
}

/// A socket's speech state.
#[derive(Debug)]
pub struct Utterances {
    state: AppState,
    owner: Caller,
    session_id: String,
    open: Option<Open>,
    buffer: Vec<i16>,
}

/// A task the socket started: its id and the `event_id` its events carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub task_id: String,
    pub event_id: String,
}

impl Utterances {
    pub fn new(state: AppState, owner: Caller, session_id: String) -> Self {
        Self {
            state,
            owner,
            session_id,
            open: None,
            buffer: Vec::new(),
        }
    }

    /// `agent.speak`: says `pcm` now, after what this utterance has already queued. Returns the
    /// utterance's task (none yet while less than a packet has arrived) and, when this chunk
    /// started a task, that task.
    ///
    /// # Errors
    /// The session's refusal; the utterance stays open.
    pub fn speak(
        &mut self,
        event_id: Option<String>,
        pcm: &[i16],
    ) -> Result<(Option<String>, Option<Started>), Refusal> {
        if self.open.is_none() {
            self.open = Some(Open {
                event_id: event_id.unwrap_or_else(crate::ids::time_uuid),
                encoder: ClipEncoder::new().map_err(|e| Refusal::Invalid(e.to_string()))?,
                task: None,
            });
        }
        let open = self.open.as_mut().expect("opened above");
        let packets = open
            .encoder
            .push(pcm)
            .map_err(|e| Refusal::Invalid(e.to_string()))?;
        say(&self.state, &self.owner, &self.session_id, open, packets)
    }

    /// `agent.speak_end`: the rest of the utterance, and it is closed. Returns its task.
    ///
    /// # Errors
    /// The session's refusal of the last packet.
    pub fn end(&mut self) -> Result<(Option<String>, Option<Started>), Refusal> {
        let Some(mut open) = self.open.take() else {
            return Ok((None, None));
        };
        let last = open
            .encoder
            .finish()
            .map_err(|e| Refusal::Invalid(e.to_string()))?;
        say(
            &self.state,
            &self.owner,
            &self.session_id,
            &mut open,
            last.into_iter().collect(),
        )
    }

    /// `agent.audio_buffer_append`.
    ///
    /// # Errors
    /// When the buffer would pass [`MAX_BUFFERED_SAMPLES`].
    pub fn append(&mut self, pcm: &[i16]) -> Result<(), Refusal> {
        if self.buffer.len() + pcm.len() > MAX_BUFFERED_SAMPLES {
            return Err(Refusal::Invalid(format!(
                "the audio buffer holds at most {} s: commit or clear it",
                MAX_BUFFERED_SAMPLES / CLIENT_SAMPLE_RATE
            )));
        }
        self.buffer.extend_from_slice(pcm);
        Ok(())
    }

    /// `agent.audio_buffer_commit`: says the buffer as one utterance of its own.
    ///
    /// # Errors
    /// An empty buffer; the session's refusal.
    pub fn commit(
        &mut self,
        event_id: Option<String>,
    ) -> Result<(Option<String>, Option<Started>), Refusal> {
        if self.buffer.is_empty() {
            return Err(Refusal::Invalid(
                "the audio buffer is empty: nothing to commit".into(),
            ));
        }
        // An utterance still open ends here: the buffer is said after it.
        self.end()?;
        let pcm = std::mem::take(&mut self.buffer);
        let (_, started) = self.speak(event_id, &pcm)?;
        let (task, started_at_end) = self.end()?;
        Ok((task, started.or(started_at_end)))
    }

    /// `agent.audio_buffer_clear`.
    pub fn clear(&mut self) {
        self.buffer.clear();
    }

    /// `agent.interrupt`: forgets the open utterance and the buffer (the session cuts the
    /// speech itself).
    pub fn interrupt(&mut self) {
        self.open = None;
        self.buffer.clear();
    }
}

/// Puts `packets` on the schedule: onto the utterance's task while it is still to be said,
/// else as a new task.
fn say(
    state: &AppState,
    owner: &Caller,
    session_id: &str,
    open: &mut Open,
    packets: Vec<Bytes>,
) -> Result<(Option<String>, Option<Started>), Refusal> {
    let current = open.task.as_ref().map(|(id, _)| id.clone());
    if packets.is_empty() {
        return Ok((current, None));
    }
    let duration = packets_duration(packets.len());
    if let Some((task_id, audio)) = &open.task {
        // Packets first: a viewer that sees the longer task finds them there.
        audio.push(packets.iter().cloned());
        let extended = state
            .act_on(owner, session_id, Operation::Task, |s, now| {
                s.extend_audio(now, task_id, duration).is_some()
            })
            .map_err(|e| Refusal::Session(e.kind))?;
        if extended {
            return Ok((current, None));
        }
    }
    let audio = SpokenAudio::default();
    audio.push(packets);
    let task = state
        .act_on(owner, session_id, Operation::Task, |s, now| {
            s.speak_audio(now, audio.clone(), duration)
        })
        .map_err(|e| Refusal::Session(e.kind))?
        .map_err(Refusal::Session)?;
    open.task = Some((task.task_id.clone(), audio));
    Ok((
        Some(task.task_id.clone()),
        Some(Started {
            task_id: task.task_id,
            event_id: open.event_id.clone(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_base64_pcm16_within_the_limit() {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(decode_pcm(&b64(&[1, 0, 0xff, 0xff])), Ok(vec![1, -1]));
        assert_eq!(
            decode_pcm("not base64!"),
            Err(Refusal::Invalid("invalid base64 audio data".into()))
        );
        assert!(
            matches!(decode_pcm(&b64(&[1, 2, 3])), Err(Refusal::Invalid(m)) if m.contains("even"))
        );
        let huge = b64(&vec![0u8; MAX_AUDIO_BYTES + 2]);
        assert!(matches!(decode_pcm(&huge), Err(Refusal::Invalid(m)) if m.contains("chunks")));
        assert!(decode_pcm(&b64(&vec![0u8; MAX_AUDIO_BYTES])).is_ok());
    }
}
