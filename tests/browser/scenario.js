// Runs in the page: drives the official SDK (window.SDK) or livekit-client (window.LivekitClient)
// against Understudy and returns what it observed. The Node runner asserts on the result.
'use strict';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate, ms, what) {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function log(line) {
  document.getElementById('log').textContent += line + '\n';
}

// Reads the avatar's state marker (top-left square) and frame counter (bottom-left cells).
function readFrame(video) {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const cell = Math.max(8, Math.floor(canvas.height / 12));
  const [r, g, b] = ctx.getImageData(cell, cell, 1, 1).data;
  let counter = 0;
  for (let bit = 0; bit < 8; bit++) {
    const [cr, cg, cb] = ctx.getImageData(bit * cell + (cell >> 1), canvas.height - (cell >> 1), 1, 1).data;
    counter = (counter << 1) | ((cr + cg + cb) / 3 > 128 ? 1 : 0);
  }
  return { talking: g > 150 && r < 100 && b < 100, counter, marker: [r, g, b] };
}

async function attach(stream) {
  const video = document.getElementById('avatar');
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => window.mark('first_frame'));
  video.srcObject = stream;
  await video.play().catch(() => {});
  await waitFor(() => video.videoWidth > 0 && video.currentTime > 0.3, 20000, 'video frames');
  return video;
}

async function mintToken(base, apiKey) {
  const response = await fetch(`${base}/v1/streaming.create_token`, { method: 'POST', headers: { 'x-api-key': apiKey } });
  return (await response.json()).data.token;
}

function namesFor(events, taskId) {
  return events.filter((e) => e.detail && e.detail.task_id === taskId).map((e) => e.name);
}

// A StreamingAvatar of the page's SDK with a fresh token, recording every event it emits in
// order; `streamReady()` resolves to STREAM_READY's MediaStream.
async function recordingAvatar(base, apiKey) {
  const { default: StreamingAvatar, StreamingEvents } = window.SDK;
  const avatar = new StreamingAvatar({ token: await mintToken(base, apiKey), basePath: base });
  const events = [];
  for (const name of Object.values(StreamingEvents)) {
    avatar.on(name, (e) => events.push({ name, detail: e.detail, at: performance.now() }));
  }
  let stream = null;
  avatar.on(StreamingEvents.STREAM_READY, (e) => { window.mark('stream_ready'); stream = e.detail; });
  return { avatar, events, streamReady: () => waitFor(() => stream, 20000, 'STREAM_READY') };
}

async function runSdk({ base, apiKey }) {
  const SDK = window.SDK;
  const StreamingAvatar = SDK.default;
  const { TaskType, TaskMode, AvatarQuality } = SDK;
  const result = {};
  const { avatar, events, streamReady } = await recordingAvatar(base, apiKey);

  window.markStart();
  const session = await avatar.createStartAvatar({ avatarName: 'default', quality: AvatarQuality.Low });
  window.mark('create_start_avatar_returned');
  result.session_id = session && session.session_id;
  const stream = await streamReady();
  result.tracks = { video: stream.getVideoTracks().length, audio: stream.getAudioTracks().length };
  const video = await attach(stream);
  result.start_marks = window.startMarks();
  result.size = [video.videoWidth, video.videoHeight];
  const idleFrames = [];
  for (let i = 0; i < 3; i++) { idleFrames.push(readFrame(video)); await sleep(120); }
  result.idle_frames = idleFrames;

  // repeat over HTTP: the task id in the answer matches the events.
  const repeat = await avatar.speak({ text: 'Hello from the official SDK running in Chromium today', taskType: TaskType.REPEAT, taskMode: TaskMode.ASYNC });
  result.repeat_task_id = repeat && repeat.task_id;
  await waitFor(() => events.some((e) => e.name === 'avatar_start_talking' && e.detail.task_id === result.repeat_task_id), 10000, 'avatar_start_talking');
  const talkingFrames = [];
  for (let i = 0; i < 3; i++) { await sleep(150); talkingFrames.push(readFrame(video)); }
  result.talking_frames = talkingFrames;
  if (window.understudySnapshot) await window.understudySnapshot();
  await waitFor(() => events.some((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === result.repeat_task_id), 20000, 'avatar_stop_talking');
  result.repeat_events = namesFor(events, result.repeat_task_id);
  result.repeat_text = events.filter((e) => e.name === 'avatar_talking_message' && e.detail.task_id === result.repeat_task_id).map((e) => e.detail.message).join('');

  // talk (the SDK default): over the chat WebSocket on 2.0.13+, over HTTP before.
  const before = events.length;
  await avatar.speak({ text: 'What do you sell?' });
  await waitFor(() => events.slice(before).some((e) => e.name === 'avatar_stop_talking'), 20000, 'talk reply');
  const talkStart = events.slice(before).find((e) => e.name === 'avatar_start_talking');
  result.talk_events = namesFor(events.slice(before), talkStart && talkStart.detail.task_id);

  // interrupt cuts a long utterance.
  const long = await avatar.speak({ text: 'This is a rather long sentence that would keep the avatar talking for many seconds if nobody interrupted it at all', taskType: TaskType.REPEAT, taskMode: TaskMode.ASYNC });
  await waitFor(() => events.some((e) => e.name === 'avatar_start_talking' && e.detail.task_id === long.task_id), 10000, 'long start');
  await sleep(300);
  const cutAt = performance.now();
  await avatar.interrupt();
  const stopped = await waitFor(() => events.find((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === long.task_id), 5000, 'stop after interrupt');
  result.interrupt_ms = stopped.at - cutAt;
  result.interrupted_duration_ms = stopped.detail.duration_ms;

  await avatar.startListening();
  await avatar.stopListening();
  result.keep_alive = typeof avatar.keepAlive === 'function' ? (await avatar.keepAlive(), 'resolved') : 'absent';
  result.listening = 'resolved';

  await avatar.stopAvatar();
  const disconnected = await waitFor(() => events.find((e) => e.name === 'stream_disconnected'), 10000, 'STREAM_DISCONNECTED');
  result.disconnect_reason = disconnected.detail;

  try {
    await avatar.speak({ text: 'too late', taskType: TaskType.REPEAT, taskMode: TaskMode.ASYNC });
    result.after_stop = { resolved: true };
  } catch (e) {
    result.after_stop = { status: e.status, body: e.responseText };
  }
  try {
    await new StreamingAvatar({ token: 'not-a-token', basePath: base }).createStartAvatar({ avatarName: 'default' });
    result.bad_token = { resolved: true };
  } catch (e) {
    result.bad_token = { status: e.status, body: e.responseText };
  }
  return result;
}

// HeyGen's LiveKit guide, with livekit-client used directly, in the guide's order:
// createNewSession (new, prepareConnection, then the chat socket), then startStreamingSession
// (start, then room.connect).
async function runRawLivekit({ base, apiKey }) {
  const { Room, RoomEvent } = window.LivekitClient;
  const result = {};
  const token = await mintToken(base, apiKey);
  const call = async (path, body) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  // No video_encoding: the docs make VP8 the default.
  const created = await call('/v1/streaming.new', { version: 'v2', avatar_name: 'default', quality: 'low' });
  const { session_id, url, access_token } = created.body.data;
  const room = new Room({ adaptiveStream: true, dynacast: true });
  const events = [];
  const tracks = [];
  room.on(RoomEvent.DataReceived, (payload) => events.push(JSON.parse(new TextDecoder().decode(payload))));
  room.on(RoomEvent.TrackSubscribed, (track) => tracks.push(track));
  let reason = null;
  room.on(RoomEvent.Disconnected, (r) => { reason = r; });
  await room.prepareConnection(url, access_token);
  const socket = new WebSocket(`wss://${new URL(base).hostname}/v1/ws/streaming.chat?session_id=${session_id}&session_token=${token}&silence_response=false&opening_text=Welcome`);
  await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error('chat socket failed')); });
  result.chat_socket = 'open';
  result.start = (await call('/v1/streaming.start', { session_id })).status;
  await room.connect(url, access_token);
  await waitFor(() => tracks.length >= 2, 20000, 'two tracks');
  result.track_kinds = tracks.map((t) => t.kind).sort();
  const stream = new MediaStream(tracks.map((t) => t.mediaStreamTrack));
  const video = await attach(stream);
  result.size = [video.videoWidth, video.videoHeight];
  if (window.understudySnapshot) await window.understudySnapshot();
  const videoTrack = tracks.find((t) => t.kind === 'video');
  await sleep(500);
  const stats = await videoTrack.receiver.getStats();
  stats.forEach((s) => {
    if (s.type === 'codec' && s.mimeType.startsWith('video/')) result.video_codec = s.mimeType;
    if (s.type === 'inbound-rtp') result.frames_decoded = s.framesDecoded;
  });

  await waitFor(() => events.some((e) => e.type === 'avatar_stop_talking'), 20000, 'the opening text');
  result.opening_said = events.some((e) => e.type === 'avatar_talking_message' && e.message.includes('Welcome'));
  const task = await call('/v1/streaming.task', { session_id, text: 'Hello from livekit-client', task_type: 'repeat', task_mode: 'async' });
  await waitFor(() => events.some((e) => e.type === 'avatar_stop_talking' && e.task_id === task.body.data.task_id), 20000, 'task narrated');
  result.task_events = events.filter((e) => e.task_id === task.body.data.task_id).map((e) => e.type);
  const closed = new Promise((resolve) => { socket.onclose = (e) => resolve(e.code); });
  result.stop = (await call('/v1/streaming.stop', { session_id })).status;
  await waitFor(() => reason !== null, 10000, 'Disconnected');
  result.disconnect_reason = reason;
  result.chat_close_code = await closed;
  return result;
}

window.runScenario = (args) => {
  if (window.SDK1) return runSdk1(args);
  if (window.RAW_DEMO) return runRawDemo(args);
  return window.SDK ? runSdk(args) : runRawLivekit(args);
};
