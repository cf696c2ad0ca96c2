// The admin API's JSON, as Understudy's Rust side defines it (understudy-proto): what a test
// sends and reads back.

/** One request the mock received, as the journal keeps it (secrets redacted). */
export interface RecordedRequest {
  seq: number;
  unix_ms: number;
  method: string;
  path: string;
  query: string | null;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  response: unknown;
  /** The fault rule that changed this exchange, if one did. */
  fault?: { id: number; action: string };
}

/** One task of a session's speech schedule, timed from the moment of the dump. */
export interface ScheduledTaskDump {
  task_id: string;
  task_type: 'repeat' | 'talk';
  /** What the avatar says; empty for a realtime client's audio. */
  text: string;
  client_audio: boolean;
  /** Milliseconds until it starts talking; negative once it has. */
  starts_in_ms: number;
  ends_in_ms: number;
}

/** A session as `/__understudy/sessions` lists it. */
export interface SessionDump {
  session_id: string;
  /** The owner's API key as a fingerprint. */
  api_key: string;
  state: 'new' | 'connecting' | 'connected' | 'closing' | 'closed';
  close_reason: 'stopped' | 'idle_timeout' | 'duration_limit' | 'server_reset' | null;
  /** v1 (raw WebRTC) or v2 (LiveKit). */
  protocol: 'v1' | 'v2';
  /** A LiveAvatar session's mode; absent for the Streaming API's sessions. */
  liveavatar?: 'FULL' | 'LITE';
  avatar_id: string;
  quality: 'high' | 'medium' | 'low';
  video_encoding: 'H264' | 'VP8';
  created_at: number;
  age_ms: number;
  idle_ms: number;
  listening: boolean;
  speaking_task_id: string | null;
  queued_task_ids: string[];
  /** The speech schedule from the speaking task on, in order. */
  schedule: ScheduledTaskDump[];
  /** Clients connected to the session's media: LiveKit room clients, or a v1 peer. */
  viewers: number;
  /** The identities in the LiveKit room besides the avatar. */
  room_members: string[];
  chat_sockets: number;
  realtime_sockets: number;
  user_speaking: boolean;
  user_turns: number;
  /** Milliseconds of microphone audio the voice detector has judged. */
  audio_heard_ms: number;
  scripted_utterances: number;
  push_to_talk: boolean;
  latency_profile: string;
}

/** A HeyGen-style error answer. */
export interface Respond {
  status?: number;
  code?: number;
  message?: string;
}

/** A fault rule (`/__understudy/faults`): a match, one action, and when it fires. */
export interface FaultRule {
  /** A REST path (`/v1/streaming.task`) or `chat_socket`, `room`, `realtime`, `session`, `token`. */
  on: string;
  session_id?: string;
  /** REST: a JSON subset the request body must contain. */
  body?: Record<string, unknown>;
  /** `on: 'token'`: the session token to expire. */
  token?: string;
  respond?: Respond;
  delay_ms?: number;
  drop_connection?: boolean;
  malformed_body?: boolean;
  close?: { code: number; reason?: string };
  drop?: boolean;
  drop_events?: boolean;
  /** A LiveKit DisconnectReason number (4 PARTICIPANT_REMOVED, 5 ROOM_DELETED, ...). */
  leave?: number;
  kill_media?: boolean;
  freeze_video?: boolean;
  mute_audio?: boolean;
  connection_quality?: 'excellent' | 'good' | 'poor' | 'lost';
  impair?: { packet_loss?: number; jitter_ms?: number; bandwidth_kbps?: number };
  expire?: 'idle_timeout' | 'duration_limit';
  times?: number;
  after?: number;
  probability?: number;
  seed?: number;
}

/** A rule as listed, with how often it matched and fired. */
export interface FaultStatus {
  id: number;
  rule: FaultRule;
  matched: number;
  fired: number;
}

/** The mock's process and session counts (`/__understudy/stats`). */
export interface MockStats {
  process: { rss_bytes: number; peak_rss_bytes: number; cpu_seconds: number };
  live_sessions: number;
  sessions: number;
  tasks: number;
  /** STUN binding requests the mock's STUN responder answered (v1's `ice_servers`). */
  stun_answers: number;
}

/** Which journal entries to return; every field given must match. */
export interface RequestFilter {
  method?: string;
  /** An exact path, or a RegExp. */
  path?: string | RegExp;
  status?: number;
  /** Only entries a fault rule changed. */
  faulted?: boolean;
  /** Only entries after this sequence number (the last `seq` a poller saw). */
  since?: number;
}
