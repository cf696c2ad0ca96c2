// Runs in the page: LiveAvatar (liveavatar.md), driven by the unmodified web SDK 0.0.18
// (window.LiveAvatar). FULL: start, speak_text (repeat), speak_response (message), interrupt,
// voice chat with the fake microphone, push-to-talk, keepAlive, stop, and an end the server
// decides. LITE: start (the SDK opens ws_url itself), a backend's PCM over the WebSocket
// heard back in the room, the SDK's own repeatAudio refused without harm, stop. Uses waitFor,
// readFrame, sleep and log from scenario.js, framesWhile from v1.js.
'use strict';

async function liveAvatarToken(base, apiKey, body) {
  const response = await fetch(`${base}/v1/sessions/token`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()).data.session_token;
}

// A LiveAvatarSession that records every event it emits, in order, with its payload.
function recordingSession(token, config) {
  const { LiveAvatarSession, AgentEventsEnum, SessionEvent } = window.LiveAvatar;
  const session = new LiveAvatarSession(token, config);
  const events = [];
  for (const name of [...Object.values(AgentEventsEnum), ...Object.values(SessionEvent)]) {
    session.on(name, (payload) => events.push({ name, payload, at: performance.now() }));
  }
  return { session, events };
}

async function attachSession(session, events) {
  await waitFor(() => events.some((e) => e.name === 'session.stream_ready'), 20000, 'session.stream_ready');
  const video = document.getElementById('avatar');
  session.attach(video);
  await video.play().catch(() => {});
  await waitFor(() => video.videoWidth > 0 && video.currentTime > 0.3, 20000, 'video frames');
  return video;
}

// The events caused by command `eventId`, by name.
function eventsOf(events, eventId) {
  return events.filter((e) => e.payload && e.payload.source_event_id === eventId).map((e) => e.name);
}

async function runLiveAvatarFull({ base, apiKey }) {
  const result = {};
  const token = await liveAvatarToken(base, apiKey, { mode: 'FULL', avatar_id: 'dd73ea75-1218-4ef3-92ce-606d5f7fbc0a', is_sandbox: false, video_settings: { quality: 'low', encoding: 'H264' } });
  const { session, events } = recordingSession(token, { apiUrl: base, voiceChat: { defaultMuted: true } });
  result.mode = session.mode;
  await session.start();
  result.state_after_start = session.state;
  result.session_id = session.sessionId;
  result.max_session_duration = session.maxSessionDuration;
  const video = await attachSession(session, events);
  result.size = [video.videoWidth, video.videoHeight];
  result.idle_frames = await framesWhile(video, 3, 100);

  // speak_text: its text whole, start, end, all naming the command.
  const repeatId = session.repeat('Hello from LiveAvatar in Chromium');
  await waitFor(() => events.some((e) => e.name === 'avatar.speak_started' && e.payload.source_event_id === repeatId), 10000, 'avatar.speak_started');
  result.talking_frames = await framesWhile(video, 5, 100);
  await waitFor(() => events.some((e) => e.name === 'avatar.speak_ended' && e.payload.source_event_id === repeatId), 20000, 'avatar.speak_ended');
  result.repeat_events = eventsOf(events, repeatId).filter((n) => n !== 'avatar.transcription.chunk');
  result.repeat_text = (events.find((e) => e.name === 'avatar.transcription' && e.payload.source_event_id === repeatId) || {}).payload?.text;

  // speak_response: the answer's words come in pieces that make the whole.
  const messageId = session.message('What do you sell?');
  await waitFor(() => events.some((e) => e.name === 'avatar.speak_ended' && e.payload.source_event_id === messageId), 20000, 'the answer');
  const pieces = events.filter((e) => e.name === 'avatar.transcription.chunk' && e.payload.source_event_id === messageId).map((e) => e.payload.text).join('');
  const whole = events.find((e) => e.name === 'avatar.transcription' && e.payload.source_event_id === messageId);
  result.answer_pieces_make_whole = !!whole && pieces === whole.payload.text && pieces.length > 0;

  // interrupt a long text.
  const longId = session.repeat('This is a rather long sentence that would keep the avatar talking for many seconds if nobody interrupted it at all, and then some more words');
  await waitFor(() => events.some((e) => e.name === 'avatar.speak_started' && e.payload.source_event_id === longId), 10000, 'long start');
  await sleep(300);
  const cutAt = performance.now();
  session.interrupt();
  const ended = await waitFor(() => events.find((e) => e.name === 'avatar.speak_ended' && e.payload.source_event_id === longId), 5000, 'ended after interrupt');
  result.interrupt_ms = ended.at - cutAt;
  session.startListening();
  session.stopListening();
  await session.keepAlive();

  // Voice chat: unmuted, the fake microphone's sentence is a user turn, and the avatar answers.
  const before = events.length;
  await session.voiceChat.unmute();
  await waitFor(() => events.slice(before).some((e) => e.name === 'avatar.speak_started'), 20000, 'an answer to the microphone');
  await session.voiceChat.mute();
  result.voice_turn = events.slice(before).map((e) => e.name).filter((n) => n.startsWith('user.') || n === 'avatar.speak_started');
  result.user_transcript = (events.slice(before).find((e) => e.name === 'user.transcription') || {}).payload?.text;

  await session.stop();
  result.state_after_stop = session.state;
  result.disconnect_reason = (events.find((e) => e.name === 'session.disconnected') || {}).payload;
  // The SDK's stop call goes out after the room is left: wait for it to land.
  const historic = async () => (await fetch(`${base}/v1/sessions?type=historic`, { headers: { 'x-api-key': apiKey } }).then((r) => r.json())).data.results.map((s) => s.id);
  result.historic_ids = [];
  const deadline = performance.now() + 5000;
  while (!result.historic_ids.includes(result.session_id) && performance.now() < deadline) {
    result.historic_ids = await historic();
    await sleep(100);
  }
  return result;
}

async function runLiveAvatarPushToTalk({ base, apiKey }) {
  const result = {};
  const token = await liveAvatarToken(base, apiKey, { mode: 'FULL', avatar_id: 'a', interactivity_type: 'PUSH_TO_TALK' });
  const { session, events } = recordingSession(token, { apiUrl: base, voiceChat: { mode: 'PUSH_TO_TALK', defaultMuted: true } });
  await session.start();
  await waitFor(() => session.voiceChat.state === 'ACTIVE', 10000, 'voice chat active');
  await session.voiceChat.startPushToTalk();
  result.unmuted_while_held = !session.voiceChat.isMuted;
  await sleep(2500);
  await session.voiceChat.stopPushToTalk();
  await waitFor(() => events.some((e) => e.name === 'avatar.speak_started'), 20000, 'the answer to the held button');
  result.turn = events.map((e) => e.name).filter((n) => n.startsWith('user.') || n === 'avatar.speak_started');
  // The server ends the session: session.stopped, then the SDK's own teardown.
  const stopped = await fetch(`${base}/__understudy/sessions/${session.sessionId}`, { method: 'DELETE' });
  result.admin_end = stopped.status;
  await waitFor(() => events.some((e) => e.name === 'session.disconnected'), 10000, 'session.disconnected');
  result.stopped_reason = (events.find((e) => e.name === 'session.stopped') || {}).payload?.stop_reason;
  result.disconnect_reason = events.find((e) => e.name === 'session.disconnected').payload;
  return result;
}

// How much of the remote audio's power is near `hz`, over `ms`: the largest share seen.
async function toneShare(track, hz, ms) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 4096;
  source.connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const at = Math.round((hz * analyser.fftSize) / context.sampleRate);
  let best = 0;
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    await sleep(50);
    analyser.getFloatFrequencyData(bins);
    let total = 0;
    let near = 0;
    bins.forEach((db, i) => {
      const power = Math.pow(10, db / 10);
      total += power;
      if (Math.abs(i - at) <= 3) near += power;
    });
    if (total > 1e-9) best = Math.max(best, near / total);
  }
  await context.close();
  return best;
}

function tonePcmBase64(hz, seconds) {
  const rate = 24000;
  const samples = Math.floor(rate * seconds);
  const bytes = new Uint8Array(samples * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples; i++) view.setInt16(i * 2, Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 0.5 * 32767), true);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function runLiveAvatarLite({ base, apiKey }) {
  const result = {};
  const token = await liveAvatarToken(base, apiKey, { mode: 'LITE', avatar_id: 'a', video_settings: { encoding: 'VP8' } });
  const { session, events } = recordingSession(token, { apiUrl: base });
  result.mode = session.mode;
  await session.start();
  result.state_after_start = session.state;
  const video = await attachSession(session, events);
  const track = video.srcObject ? video.srcObject.getAudioTracks()[0] : null;
  const audioTrack = track || session._remoteAudioTrack.mediaStreamTrack;
  result.quiet_share = await toneShare(audioTrack, 1500, 600);

  // The SDK's own repeatAudio sends raw PCM, which the server refuses; nothing breaks.
  session.repeatAudio('\u0001\u0002raw');
  await sleep(200);
  result.state_after_raw_audio = session.state;

  // A backend agent's socket on ws_url, as HeyGen's guides have it: a 1500 Hz tone.
  const wsUrl = session._sessionInfo.ws_url;
  result.ws_url = wsUrl;
  const socket = new WebSocket(wsUrl);
  const messages = [];
  socket.onmessage = (m) => messages.push(JSON.parse(m.data));
  await waitFor(() => messages.some((m) => m.type === 'session.state_updated' && m.state === 'connected'), 10000, 'connected on the agent socket');
  const audio = tonePcmBase64(1500, 2);
  socket.send(JSON.stringify({ type: 'agent.speak', event_id: 'tone', audio }));
  socket.send(JSON.stringify({ type: 'agent.speak_end', event_id: 'tone' }));
  await waitFor(() => messages.some((m) => m.type === 'agent.speak_started'), 10000, 'agent.speak_started');
  result.talking_frames = await framesWhile(video, 5, 100);
  result.tone_share = await toneShare(audioTrack, 1500, 1200);
  await waitFor(() => messages.some((m) => m.type === 'agent.speak_ended'), 10000, 'agent.speak_ended');
  result.agent_messages = messages.map((m) => m.type);

  await session.stop();
  result.state_after_stop = session.state;
  await waitFor(() => messages.some((m) => m.type === 'session.state_updated' && m.state === 'closed'), 10000, 'closed on the agent socket');
  result.closed_states = messages.filter((m) => m.type === 'session.state_updated').map((m) => m.state);
  return result;
}

window.runLiveAvatar = (args) => {
  if (args.scenario === 'full') return runLiveAvatarFull(args);
  if (args.scenario === 'push-to-talk') return runLiveAvatarPushToTalk(args);
  return runLiveAvatarLite(args);
};
