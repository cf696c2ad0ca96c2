//! `streaming.new`, `streaming.start` and `streaming.ice` (§3.2-§3.4).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Video quality; HeyGen's docs give high = 720p at 2000 kbps, medium = 480p at 1000 kbps,
/// low = 360p at 500 kbps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[serde(alias = "High")]
    High,
    #[serde(alias = "Medium")]
    Medium,
    /// The 1.x OpenAPI default.
    #[default]
    #[serde(alias = "Low")]
    Low,
}

/// `video_encoding`; the docs make VP8 the default, while every SDK 2.x sends H264.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum VideoEncoding {
    #[serde(alias = "h264")]
    H264,
    #[default]
    #[serde(alias = "vp8")]
    VP8,
}

/// `voice.emotion`. The docs and 1.x capitalise (`Excited`), 2.x sends lower case; both are
/// accepted, and it is written back in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emotion {
    Excited,
    Serious,
    Friendly,
    Soothing,
    Broadcaster,
}

impl Emotion {
    pub fn as_str(self) -> &'static str {
        match self {
            Emotion::Excited => "excited",
            Emotion::Serious => "serious",
            Emotion::Friendly => "friendly",
            Emotion::Soothing => "soothing",
            Emotion::Broadcaster => "broadcaster",
        }
    }
}

impl Serialize for Emotion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Emotion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        match raw.to_ascii_lowercase().as_str() {
            "excited" => Ok(Emotion::Excited),
            "serious" => Ok(Emotion::Serious),
            "friendly" => Ok(Emotion::Friendly),
            "soothing" => Ok(Emotion::Soothing),
            "broadcaster" => Ok(Emotion::Broadcaster),
            _ => Err(serde::de::Error::unknown_variant(
                &raw,
                &["excited", "serious", "friendly", "soothing", "broadcaster"],
            )),
        }
    }
}

/// `voice` in `streaming.new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// Speaking-rate multiplier; the SDK documents 0.5-1.5, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<Emotion>,
    /// Passed through untouched: `{stability, similarity_boost, style, use_speaker_boost, model_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevenlabs_settings: Option<serde_json::Value>,
    /// Sent only by SDK 2.0.11-2.0.12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `stt_settings` (SDK 2.0.11+).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SttSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// `POST /v1/streaming.new`: the union of every field the docs and public clients send (§3.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewSessionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// What every SDK version sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_name: Option<String>,
    /// The documented name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_id: Option<String>,
    /// What serde `camelCase` clients (adk-realtime) send.
    #[serde(default, rename = "avatarId", skip_serializing_if = "Option::is_none")]
    pub avatar_id_camel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_base_id: Option<String>,
    /// pipecat's spelling of `knowledge_base_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_id: Option<String>,
    /// `"v2"` selects LiveKit; absent means v1 (raw WebRTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_encoding: Option<VideoEncoding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_idle_timeout: Option<bool>,
    /// Seconds; the docs allow 30 to 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_idle_timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stt_settings: Option<SttSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ia_is_livekit_transport: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_response: Option<bool>,
    /// Beta "bring your own LiveKit"; field names were never captured, so kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_settings: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_list: Option<bool>,
}

impl NewSessionRequest {
    /// The avatar id under whichever name the client used: `avatar_name`, then `avatar_id`,
    /// then `avatarId`.
    pub fn avatar(&self) -> Option<&str> {
        self.avatar_name
            .as_deref()
            .or(self.avatar_id.as_deref())
            .or(self.avatar_id_camel.as_deref())
    }

    /// The knowledge-base id under either name (`knowledge_base_id`, pipecat's `knowledge_id`).
    pub fn knowledge_base_ref(&self) -> Option<&str> {
        self.knowledge_base_id
            .as_deref()
            .or(self.knowledge_id.as_deref())
    }

    /// Whether this asks for a LiveKit (v2) session.
    pub fn is_v2(&self) -> bool {
        self.version.as_deref() == Some("v2")
    }

    /// The protocol this asks for: v2 with `version: "v2"`, else v1 (§0).
    pub fn protocol(&self) -> Protocol {
        if self.is_v2() {
            Protocol::V2
        } else {
            Protocol::V1
        }
    }
}

/// Which of HeyGen's two protocols a session speaks (heygen-api.md §0): `streaming.new` with
/// `version: "v2"` is a LiveKit room, without it a raw WebRTC peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// v1: the server's SDP offer in `new`, the client's answer in `start`, events on a
    /// server-made data channel.
    V1,
    #[default]
    V2,
}

/// An SDP offer or answer as `RTCSessionDescription.toJSON()` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

/// One `RTCIceServer`, as v1's `ice_servers2` carries it into `new RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    #[serde(
        default,
        rename = "credentialType",
        skip_serializing_if = "Option::is_none"
    )]
    pub credential_type: Option<String>,
}

/// `data` of `streaming.new`. v2 fills the LiveKit fields and writes `sdp`, `ice_servers` and
/// `ice_servers2` as explicit `null`s, as the real service does; v1 fills those three instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSessionData {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livekit_agent_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_paid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration_limit: Option<u64>,
    #[serde(default)]
    pub sdp: Option<SessionDescription>,
    #[serde(default)]
    pub ice_servers: Option<Vec<String>>,
    #[serde(default)]
    pub ice_servers2: Option<Vec<IceServer>>,
}

impl NewSessionData {
    /// A v1 session's answer: its id, the server's SDP offer and the ICE servers the client
    /// passes to `new RTCPeerConnection` (§3.2); no LiveKit fields.
    pub fn v1(session_id: String, offer_sdp: String, ice_servers: Vec<IceServer>) -> Self {
        Self {
            session_id,
            url: None,
            access_token: None,
            livekit_agent_token: None,
            realtime_endpoint: None,
            is_paid: None,
            session_duration_limit: None,
            sdp: Some(SessionDescription {
                kind: "offer".into(),
                sdp: offer_sdp,
            }),
            ice_servers: Some(ice_servers.iter().flat_map(|s| s.urls.clone()).collect()),
            ice_servers2: Some(ice_servers),
        }
    }
}

/// `data` of `streaming.start` and `streaming.stop`: HeyGen's reference gives both a `status`
/// string, `"success"` on stop (heygen-api.md §3.3, §3.9). No official client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatusData {
    pub status: String,
}

impl SessionStatusData {
    pub fn success() -> Self {
        Self {
            status: "success".into(),
        }
    }
}

/// `POST /v1/streaming.start`: v2 sends only `session_id`; v1 adds the SDP answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartSessionRequest {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp: Option<SessionDescription>,
}

/// A trickled candidate, camelCase exactly as `RTCIceCandidate.toJSON()` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, rename = "sdpMid", skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_m_line_index: Option<u32>,
    #[serde(
        default,
        rename = "usernameFragment",
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

/// `POST /v1/streaming.ice` (v1 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceRequest {
    pub session_id: String,
    pub candidate: IceCandidate,
}
