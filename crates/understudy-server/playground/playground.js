// The playground: one v1 (raw WebRTC) session in this browser's own RTCPeerConnection, as
// HeyGen's raw-WebRTC demo page does it (heygen-api.md §3.2-§3.4), plus the chat socket for the
// user's voice and its events. Plain JavaScript, no library: the mock embeds this file.
'use strict';

const $ = (id) => document.getElementById(id);

const playground = {
  token: null,
  sessionId: null,
  pc: null,
  socket: null,
  mic: null,
  startedAt: 0,
  markerTimer: null,
};

// One line on the timeline: when (ms since Start), where from, what, and its detail.
function timeline(source, name, detail) {
  const item = document.createElement('li');
  item.className = `src-${source}`;
  item.dataset.source = source;
  item.dataset.name = name;
  const at = playground.startedAt ? Math.round(performance.now() - playground.startedAt) : 0;
  const cells = [
    ['t', String(at)],
    ['src', source],
    ['name', name],
    ['info', detail === undefined ? '' : typeof detail === 'string' ? detail : JSON.stringify(detail)],
  ];
  for (const [cls, text] of cells) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    if (cls === 'info') span.title = text;
    item.appendChild(span);
  }
  const list = $('timeline');
  list.appendChild(item);
  list.scrollTop = list.scrollHeight;
}

// A REST call with the session token; the answer's status and JSON body, whatever they are.
async function call(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${playground.token}` },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  return { status: response.status, body: json };
}

function setState(text) { $('session-state').textContent = text; }

function setRunning(running) {
  $('start').disabled = running;
  for (const id of ['stop', 'speak', 'interrupt', 'mic']) $(id).disabled = !running;
  for (const id of ['api-key', 'avatar', 'quality', 'codec']) $(id).disabled = running;
}

// Reads the synthetic avatar's state marker (the square at the top left: green while talking).
function readMarker() {
  const video = $('avatar-video');
  if (!video.videoWidth) return null;
  const canvas = readMarker.canvas || (readMarker.canvas = document.createElement('canvas'));
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0);
  const cell = Math.max(8, Math.floor(canvas.height / 12));
  const [r, g, b] = ctx.getImageData(cell, cell, 1, 1).data;
  return g > 150 && r < 100 && b < 100;
}

function watchMarker() {
  clearInterval(playground.markerTimer);
  playground.markerTimer = setInterval(() => {
    const talking = readMarker();
    const marker = $('marker');
    if (talking === null) return;
    marker.dataset.talking = String(talking);
    marker.textContent = talking ? 'talking' : 'idle';
  }, 100);
}

async function loadAvatars() {
  try {
    const response = await fetch('/v1/streaming/avatar.list', { headers: { 'x-api-key': $('api-key').value } });
    const avatars = (await response.json()).data || [];
    const select = $('avatar');
    select.textContent = '';
    for (const a of avatars.filter((a) => a.status === 'ACTIVE')) {
      const option = document.createElement('option');
      option.value = a.avatar_id;
      option.textContent = `${a.pose_name} (${a.avatar_id})`;
      select.appendChild(option);
    }
  } catch (e) {
    timeline('error', 'avatar.list failed', String(e));
  }
}

async function start() {
  setRunning(true);
  $('timeline').textContent = '';
  playground.startedAt = performance.now();
  try {
    const minted = await fetch('/v1/streaming.create_token', { method: 'POST', headers: { 'x-api-key': $('api-key').value } });
    const mintedBody = await minted.json();
    if (!minted.ok) throw new Error(`create_token: ${minted.status} ${JSON.stringify(mintedBody)}`);
    playground.token = mintedBody.data.token;
    timeline('rest', 'create_token', minted.status);

    // No `version`: a v1 session, whose answer carries the server's SDP offer.
    const created = await call('/v1/streaming.new', {
      avatar_name: $('avatar').value,
      quality: $('quality').value,
      video_encoding: $('codec').value,
      voice: {},
    });
    if (created.status !== 200) throw new Error(`streaming.new: ${created.status} ${JSON.stringify(created.body)}`);
    const { session_id: sessionId, sdp, ice_servers2: iceServers } = created.body.data;
    playground.sessionId = sessionId;
    $('session-id').textContent = sessionId;
    setState('new');
    timeline('rest', 'streaming.new', sessionId);

    const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    playground.pc = pc;
    pc.ontrack = (event) => {
      const video = $('avatar-video');
      if (video.srcObject !== event.streams[0]) video.srcObject = event.streams[0];
      timeline('peer', `track ${event.track.kind}`);
    };
    pc.onconnectionstatechange = () => {
      $('peer-state').textContent = pc.connectionState;
      timeline('peer', pc.connectionState);
      if (pc.connectionState === 'connected') setState('connected');
    };
    pc.ondatachannel = (event) => {
      timeline('peer', `data channel "${event.channel.label}"`);
      event.channel.binaryType = 'arraybuffer';
      event.channel.onmessage = (message) => {
        const text = message.data instanceof ArrayBuffer ? new TextDecoder().decode(message.data) : String(message.data);
        try {
          const parsed = JSON.parse(text);
          timeline('channel', parsed.type || 'message', parsed);
        } catch {
          timeline('channel', 'message', text);
        }
      };
    };
    await pc.setRemoteDescription(sdp);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    // Candidates go out as they are found, racing start, as HeyGen's demo sends them.
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) call('/v1/streaming.ice', { session_id: sessionId, candidate: candidate.toJSON() });
    };
    const started = await call('/v1/streaming.start', { session_id: sessionId, sdp: answer });
    if (started.status !== 200) throw new Error(`streaming.start: ${started.status} ${JSON.stringify(started.body)}`);
    setState(pc.connectionState === 'connected' ? 'connected' : 'connecting');
    timeline('rest', 'streaming.start', started.status);
    openSocket();
    watchMarker();
  } catch (e) {
    timeline('error', 'start failed', String(e.message || e));
    await teardown();
  }
}

// The chat socket: the user's side of the conversation (user_start, user_stop) and the way in
// for the microphone.
function openSocket() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = new URLSearchParams({ session_id: playground.sessionId, session_token: playground.token, silence_response: 'false' });
  const socket = new WebSocket(`${scheme}://${location.host}/v1/ws/streaming.chat?${query}`);
  socket.binaryType = 'arraybuffer';
  playground.socket = socket;
  socket.onopen = () => timeline('socket', 'open');
  socket.onmessage = (message) => {
    try {
      const parsed = JSON.parse(message.data);
      timeline('socket', parsed.event_type || 'message', parsed);
    } catch {
      timeline('socket', 'message', String(message.data));
    }
  };
  socket.onclose = (event) => timeline('socket', 'closed', `${event.code} ${event.reason}`);
}

async function speak() {
  const body = {
    session_id: playground.sessionId,
    text: $('text').value,
    task_type: $('task-type').value,
    task_mode: $('task-mode').value,
  };
  timeline('rest', 'streaming.task sent', `${body.task_type} ${body.task_mode}`);
  const answer = await call('/v1/streaming.task', body);
  timeline(answer.status === 200 ? 'rest' : 'error', 'streaming.task answered', answer.body);
}

async function interrupt() {
  const answer = await call('/v1/streaming.interrupt', { session_id: playground.sessionId });
  timeline(answer.status === 200 ? 'rest' : 'error', 'streaming.interrupt', answer.status);
}

async function stop() {
  if (playground.sessionId) {
    const answer = await call('/v1/streaming.stop', { session_id: playground.sessionId });
    timeline(answer.status === 200 ? 'rest' : 'error', 'streaming.stop', answer.status);
  }
  await teardown();
  setState('closed');
}

async function teardown() {
  stopMicrophone();
  clearInterval(playground.markerTimer);
  if (playground.socket) playground.socket.close();
  if (playground.pc) playground.pc.close();
  playground.pc = null;
  playground.socket = null;
  setRunning(false);
}

// --- The microphone: 16 kHz mono PCM16 as pipecat AudioRawFrames on the chat socket (§8.2).

function varint(value, out) {
  let v = value >>> 0;
  while (v > 0x7f) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
  out.push(v);
}

// `Frame { audio: AudioRawFrame { audio: <pcm>, sample_rate, num_channels } }`, hand-encoded:
// field 2 of Frame, fields 3, 4 and 5 of AudioRawFrame.
function audioFrame(pcm, sampleRate) {
  const inner = [0x1a];
  varint(pcm.length, inner);
  const head = Uint8Array.from(inner);
  const tail = [0x20];
  varint(sampleRate, tail);
  tail.push(0x28, 1);
  const innerLength = head.length + pcm.length + tail.length;
  const outer = [0x12];
  varint(innerLength, outer);
  const frame = new Uint8Array(outer.length + innerLength);
  frame.set(outer, 0);
  frame.set(head, outer.length);
  frame.set(pcm, outer.length + head.length);
  frame.set(tail, outer.length + head.length + pcm.length);
  return frame;
}

async function startMicrophone() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  const context = new AudioContext({ sampleRate: 16000 });
  const source = context.createMediaStreamSource(stream);
  // A ScriptProcessor needs no separate module file; 1024 samples is 64 ms at 16 kHz.
  const processor = context.createScriptProcessor(1024, 1, 1);
  processor.onaudioprocess = (event) => {
    const socket = playground.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const samples = event.inputBuffer.getChannelData(0);
    const pcm = new Uint8Array(samples.length * 2);
    const view = new DataView(pcm.buffer);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(i * 2, Math.round(s * 32767), true);
    }
    socket.send(audioFrame(pcm, context.sampleRate));
  };
  source.connect(processor);
  processor.connect(context.destination);
  playground.mic = { stream, context };
  $('mic').setAttribute('aria-pressed', 'true');
  $('mic').textContent = 'Stop the microphone';
  timeline('socket', 'microphone on', `${context.sampleRate} Hz`);
}

function stopMicrophone() {
  if (!playground.mic) return;
  playground.mic.stream.getTracks().forEach((t) => t.stop());
  playground.mic.context.close();
  playground.mic = null;
  $('mic').setAttribute('aria-pressed', 'false');
  $('mic').textContent = 'Talk into the microphone';
  timeline('socket', 'microphone off');
}

async function toggleMicrophone() {
  try {
    if (playground.mic) stopMicrophone(); else await startMicrophone();
  } catch (e) {
    timeline('error', 'microphone', String(e.message || e));
  }
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
$('speak').addEventListener('click', speak);
$('interrupt').addEventListener('click', interrupt);
$('mic').addEventListener('click', toggleMicrophone);
$('api-key').addEventListener('change', loadAvatars);
loadAvatars();
