// Runs in the page: v1 sessions (raw WebRTC, heygen-api.md §0, §3.2-§3.4), driven by the
// unmodified SDK 1.0.16 (window.SDK1), and by the flow of HeyGen's raw-WebRTC demo page with
// the browser's own RTCPeerConnection. Uses waitFor, readFrame, attach and mintToken from
// scenario.js.
'use strict';

// What the server said for a call the SDK rejected: its HTTP status and HeyGen body.
async function rejection(promise) {
  try {
    await promise;
    return { resolved: true };
  } catch (e) {
    const response = e.response;
    return response ? { status: response.status, body: await response.json().catch(() => null) } : { error: String(e) };
  }
}

async function framesWhile(video, count, gapMs) {
  const frames = [];
  for (let i = 0; i < count; i++) { await sleep(gapMs); frames.push(readFrame(video)); }
  return frames;
}

async function runSdk1({ base, apiKey }) {
  const { StreamingAvatarApi, Configuration } = window.SDK1;
  const result = {};
  const token = await mintToken(base, apiKey);
  const api = new StreamingAvatarApi(new Configuration({ basePath: base, accessToken: token }));
  const events = [];
  for (const name of ['avatar_start_talking', 'avatar_stop_talking']) {
    api.addEventHandler(name, (detail) => events.push({ name, detail, at: performance.now() }));
  }
  window.markStart();
  // The debug callback is not optional in practice: SDK 1.0.16 calls it on every ICE state
  // change once a candidate went out, as HeyGen's demo passes one.
  const data = await api.createStartAvatar({
    newSessionRequest: { quality: 'low', avatarName: 'default', voice: { voiceId: 'v1-voice' } },
  }, (line) => log(line));
  window.mark('create_start_avatar_returned');
  result.session_id = data && data.sessionId;
  result.offer_type = data && data.sdp && data.sdp.type;
  const sessionId = result.session_id;
  // STREAM_READY's v1 equivalent: the SDK's mediaStream, set from ontrack.
  const stream = await waitFor(() => api.mediaStream, 20000, 'the SDK mediaStream');
  result.tracks = { video: stream.getVideoTracks().length, audio: stream.getAudioTracks().length };
  const video = await attach(stream);
  result.start_marks = window.startMarks();
  result.size = [video.videoWidth, video.videoHeight];
  result.idle_frames = await framesWhile(video, 3, 120);
  const stats = await api.peerConnection.getStats();
  stats.forEach((s) => {
    if (s.type === 'codec' && s.mimeType.startsWith('video/')) result.video_codec = s.mimeType;
  });

  const repeat = await api.speak({ taskRequest: { sessionId, text: 'Hello from SDK one point oh in Chromium', taskType: 'repeat', taskMode: 'async' } });
  result.repeat_task_id = repeat.data && repeat.data.taskId;
  await waitFor(() => events.some((e) => e.name === 'avatar_start_talking' && e.detail.task_id === result.repeat_task_id), 10000, 'avatar_start_talking');
  result.talking_frames = await framesWhile(video, 3, 150);
  if (window.understudySnapshot) await window.understudySnapshot();
  const stop = await waitFor(() => events.find((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === result.repeat_task_id), 20000, 'avatar_stop_talking');
  result.stop_duration_ms = stop.detail.duration_ms;
  result.repeat_events = events.filter((e) => e.detail.task_id === result.repeat_task_id).map((e) => e.name);

  // chat, 1.0.14's name for talk: the reply is spoken.
  const chat = await api.speak({ taskRequest: { sessionId, text: 'What do you sell?', taskType: 'chat', taskMode: 'async' } });
  await waitFor(() => events.some((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === chat.data.taskId), 20000, 'chat reply');
  result.chat_events = events.filter((e) => e.detail.task_id === chat.data.taskId).map((e) => e.name);

  // A sync task answers when its speech ends.
  const syncStarted = performance.now();
  const sync = await api.speak({ taskRequest: { sessionId, text: 'Short and sync.', taskType: 'repeat' } });
  result.sync_ms = performance.now() - syncStarted;
  result.sync_duration_ms = sync.data && sync.data.durationMs;

  const long = await api.speak({ taskRequest: { sessionId, text: 'This is a rather long sentence that would keep the avatar talking for many seconds if nobody interrupted it at all', taskType: 'repeat', taskMode: 'async' } });
  await waitFor(() => events.some((e) => e.name === 'avatar_start_talking' && e.detail.task_id === long.data.taskId), 10000, 'long start');
  await sleep(300);
  const cutAt = performance.now();
  await api.interrupt({ interruptRequest: { sessionId } });
  const cut = await waitFor(() => events.find((e) => e.name === 'avatar_stop_talking' && e.detail.task_id === long.data.taskId), 5000, 'stop after interrupt');
  result.interrupt_ms = cut.at - cutAt;
  // SDK 1.x holds 200 ms of video in its receivers' jitter buffer (its default jitterBuffer).
  await sleep(800);
  result.after_interrupt_frame = readFrame(video);

  await api.stopAvatar({ stopSessionRequest: { sessionId } });
  result.pc_state_after_stop = api.peerConnection.connectionState;
  result.after_stop = await rejection(api.speak({ taskRequest: { sessionId, text: 'too late', taskType: 'repeat', taskMode: 'async' } }));
  const bad = new StreamingAvatarApi(new Configuration({ basePath: base, accessToken: 'not-a-token' }));
  result.bad_token = await rejection(bad.createStreamingAvatar({ newSessionRequest: { quality: 'low', avatarName: 'default' } }));
  return result;
}

// HeyGen's raw-WebRTC demo page (StreamingAvatar), step by step with the browser's own
// RTCPeerConnection: new; a peer from ice_servers2; the offer; the answer; candidates to
// streaming.ice as they come; start with the answer; tasks; the data channel's events; stop.
async function runRawDemo({ base, apiKey }) {
  const result = {};
  const token = await mintToken(base, apiKey);
  const call = async (path, body) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const stunBefore = (await (await fetch(`${base}/__understudy/stats`)).json()).stun_answers;
  const created = await call('/v1/streaming.new', { quality: 'medium', avatar_name: 'default', voice: { voice_id: '' } });
  const { session_id, sdp, ice_servers2 } = created.body.data;
  result.ice_servers2 = ice_servers2;
  const pc = new RTCPeerConnection({ iceServers: ice_servers2 });
  const tracks = [];
  pc.ontrack = (event) => { if (event.track.kind === 'video' || event.track.kind === 'audio') tracks.push(event); };
  const messages = [];
  pc.ondatachannel = (event) => {
    result.channel_label = event.channel.label;
    event.channel.onmessage = (m) => {
      messages.push(m.data instanceof ArrayBuffer ? { binary: true, event: JSON.parse(new TextDecoder().decode(m.data)) } : { binary: false, text: String(m.data) });
    };
  };
  await pc.setRemoteDescription(sdp);
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  const iceCalls = [];
  result.candidate_types = [];
  pc.onicecandidate = ({ candidate }) => {
    if (!candidate) return;
    result.candidate_types.push(candidate.type);
    iceCalls.push(call('/v1/streaming.ice', { session_id, candidate: candidate.toJSON() }).then((r) => r.status));
  };
  result.start = (await call('/v1/streaming.start', { session_id, sdp: answer })).status;
  await waitFor(() => pc.connectionState === 'connected', 20000, 'the peer connects');
  await waitFor(() => tracks.length >= 2, 20000, 'two tracks');
  result.same_stream = tracks[0].streams[0] && tracks[0].streams[0] === tracks[1].streams[0];
  const video = await attach(tracks[0].streams[0]);
  result.size = [video.videoWidth, video.videoHeight];
  const task = await call('/v1/streaming.task', { session_id, text: 'Hello from the raw demo flow' });
  result.task = task.status;
  await waitFor(() => messages.some((m) => m.binary && m.event.type === 'avatar_stop_talking'), 20000, 'the task narrated');
  result.messages = messages;
  result.task_id = task.body.data && task.body.data.task_id;
  // Gathering against the mock's STUN server ends once it has answered (or given up).
  await waitFor(() => pc.iceGatheringState === 'complete', 10000, 'ICE gathering');
  result.ice_statuses = await Promise.all(iceCalls);
  result.stun_answers = (await (await fetch(`${base}/__understudy/stats`)).json()).stun_answers - stunBefore;
  result.stop = (await call('/v1/streaming.stop', { session_id })).status;
  await waitFor(() => ['disconnected', 'failed', 'closed'].includes(pc.connectionState), 15000, 'the server closes the peer');
  result.pc_state_after_stop = pc.connectionState;
  pc.close();
  return result;
}
