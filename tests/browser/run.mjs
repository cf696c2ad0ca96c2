// The browser suite: the unmodified official SDK (four versions from npm: 1.0.16 on v1's raw
// WebRTC, three 2.x on LiveKit), HeyGen's raw-WebRTC demo flow and livekit-client used
// directly, in Debian's headless Chromium, against `understudy serve` with HTTPS on 443
// (the SDK always dials wss://<basePath host>, port dropped).
//
// Usage: node run.mjs            (UNDERSTUDY_BIN names the binary; default target/debug/understudy)
// Prints one line per check and a closing `N passed, N failed`; exits 1 when any check fails.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { demoServer } from './demo.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const binary = process.env.UNDERSTUDY_BIN || join(root, 'target', 'debug', 'understudy');
const artifacts = join(root, 'target', 'browser');
const BASE = 'https://localhost';
const SCENARIO_TIMEOUT_MS = 120_000;
// BROWSER_ONLY=<text> runs only the cases whose name contains it (`voice`, `sdk-2.0.16`, `demo`),
// for quick iteration; unset runs everything. EXTRA_SERVE_ARGS (space-separated) are added to
// `understudy serve`'s arguments, to try an option (`--offer-dtls-role actpass`) in Chromium.
const only = process.env.BROWSER_ONLY || '';

// Voice conversations: both transports on the two SDKs that have them, push-to-talk on 2.1.0.
const VOICE_CASES = [
  { target: 'sdk-2.1.0', transport: 'websocket', pushToTalk: false },
  { target: 'sdk-2.1.0', transport: 'livekit', pushToTalk: false },
  { target: 'sdk-2.1.0', transport: 'livekit', pushToTalk: true },
  { target: 'sdk-2.0.16', transport: 'websocket', pushToTalk: false },
  { target: 'sdk-2.0.16', transport: 'livekit', pushToTalk: false },
];

const TARGETS = [
  { name: 'sdk-2.1.0', entry: "import * as m from 'sdk-2.1.0'; window.SDK = m;" },
  { name: 'sdk-2.0.16', entry: "import * as m from 'sdk-2.0.16'; window.SDK = m;" },
  { name: 'sdk-2.0.9', entry: "import * as m from 'sdk-2.0.9'; window.SDK = m;" },
  // v1, raw WebRTC: the last 1.x SDK, and HeyGen's raw-WebRTC demo page's flow (no library).
  { name: 'sdk-1.0.16', entry: "import * as m from 'sdk-1.0.16'; window.SDK1 = m;" },
  { name: 'raw-webrtc-demo', entry: 'window.RAW_DEMO = true;' },
  { name: 'livekit-client-2.23.0', entry: "import * as m from 'livekit-client'; window.LivekitClient = m;" },
];

// LiveAvatar, the successor API: its web SDK from npm, unmodified, in FULL (with and without
// push-to-talk) and LITE.
const LIVEAVATAR_TARGET = { name: 'liveavatar-sdk-0.0.18', entry: "import * as m from 'liveavatar-sdk-0.0.18'; window.LiveAvatar = m;" };
const LIVEAVATAR_CASES = ['full', 'push-to-talk', 'lite'];

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
}

async function bundle(dist) {
  for (const target of [...TARGETS, LIVEAVATAR_TARGET]) {
    await build({
      stdin: { contents: target.entry, resolveDir: here, loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      outfile: join(dist, `${target.name}.js`),
      logLevel: 'warning',
    });
  }
}

/// Starts the mock and reads its banner for the HTTP address and the certificate's SPKI hash.
function startServer(tlsDir) {
  const child = spawn(binary, ['serve', '--port', '0', '--https-port', '443', '--tls-dir', tlsDir, '--words-per-minute', '300', '--concurrency-limit', '0', ...(process.env.EXTRA_SERVE_ARGS ? process.env.EXTRA_SERVE_ARGS.split(' ') : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.on('exit', () => child.kill());
  return new Promise((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`no banner from ${binary}: ${banner}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`understudy exited with ${code}: ${banner}`)));
    child.stdout.on('data', (chunk) => {
      banner += chunk;
      const spki = banner.match(/--ignore-certificate-errors-spki-list=(\S+)/);
      const http = banner.match(/HTTP\s+(http:\/\/\S+)/);
      if (spki && http && banner.includes('Press Ctrl-C')) {
        clearTimeout(timer);
        resolve({ child, spki: spki[1], http: http[1] });
      }
    });
  });
}

/// Serves /<target>/page.html, /<target>/scenario.js and /<target>/bundle.js on 127.0.0.1, so
/// pages run on an origin of their own and call the mock cross-origin, like real apps.
function startPages(dist) {
  const server = createServer((req, res) => {
    const [, target, file] = new URL(req.url, 'http://x').pathname.split('/');
    const path = { 'page.html': join(here, 'page.html'), 'scenario.js': join(here, 'scenario.js'), 'voice.js': join(here, 'voice.js'), 'faults.js': join(here, 'faults.js'), 'timing.js': join(here, 'timing.js'), 'v1.js': join(here, 'v1.js'), 'liveavatar.js': join(here, 'liveavatar.js'), 'bundle.js': join(dist, `${target}.js`) }[file];
    try {
      const body = readFileSync(path);
      res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function assertSdk(name, r) {
  const version = name.replace('sdk-', '');
  check(`${name}: createStartAvatar returns a session`, typeof r.session_id === 'string' && r.session_id.length > 0, r.session_id);
  check(`${name}: STREAM_READY with one video and one audio track`, r.tracks.video === 1 && r.tracks.audio === 1, r.tracks);
  check(`${name}: the video plays at the low quality's 640x360`, r.size[0] === 640 && r.size[1] === 360, r.size);
  check(`${name}: idle frames show the idle marker and a moving counter`,
    r.idle_frames.every((f) => !f.talking) && new Set(r.idle_frames.map((f) => f.counter)).size > 1, r.idle_frames);
  check(`${name}: frames while talking show the talking marker`, r.talking_frames.some((f) => f.talking), r.talking_frames);
  // The observed timeline (heygen-api.md §7.2): the text first, then start, end, stop.
  const inOrder = (events) => {
    const start = events.indexOf('avatar_start_talking');
    return start > 0 && events.slice(0, start).every((e) => e === 'avatar_talking_message')
      && JSON.stringify(events.slice(start)) === JSON.stringify(['avatar_start_talking', 'avatar_end_message', 'avatar_stop_talking']);
  };
  check(`${name}: repeat gives its text in one message, then start, end, stop for its task_id`, inOrder(r.repeat_events) && r.repeat_events.indexOf('avatar_start_talking') === 1, r.repeat_events);
  check(`${name}: the talking messages rebuild the repeated text`, r.repeat_text === 'Hello from the official SDK running in Chromium today', r.repeat_text);
  check(`${name}: talk gives the reply's text in chunks, then start, end, stop`, inOrder(r.talk_events), r.talk_events);
  check(`${name}: interrupt stops the avatar within a second`, r.interrupt_ms < 1000, r.interrupt_ms);
  check(`${name}: startListening and stopListening resolve`, r.listening === 'resolved');
  if (version !== '2.0.9') check(`${name}: keepAlive resolves`, r.keep_alive === 'resolved', r.keep_alive);
  check(`${name}: stopAvatar brings STREAM_DISCONNECTED (ROOM_DELETED)`, r.disconnect_reason === 5, r.disconnect_reason);
  const body = r.after_stop.body ? JSON.parse(r.after_stop.body) : {};
  check(`${name}: a call after stop gets a 4xx with HeyGen's body`, r.after_stop.status >= 400 && r.after_stop.status < 500 && Number.isInteger(body.code) && typeof body.message === 'string', r.after_stop);
  check(`${name}: a bad token gets 401`, r.bad_token.status === 401, r.bad_token);
}

function assertRaw(r) {
  const name = 'livekit-client-2.23.0';
  check(`${name}: start answers 200`, r.start === 200, r.start);
  check(`${name}: TrackSubscribed for audio and video`, JSON.stringify(r.track_kinds) === '["audio","video"]', r.track_kinds);
  check(`${name}: the video plays at 640x360`, r.size[0] === 640 && r.size[1] === 360, r.size);
  check(`${name}: without video_encoding the stream is VP8, decoded by Chromium`, r.video_codec === 'video/VP8' && r.frames_decoded > 10, [r.video_codec, r.frames_decoded]);
  check(`${name}: the chat WebSocket opens over wss on 443 right after new, before start (the guide's order)`, r.chat_socket === 'open');
  check(`${name}: the opening text is said once the room connects`, r.opening_said === true, r.opening_said);
  check(`${name}: a REST task is narrated over LiveKit data, its text first`, JSON.stringify(r.task_events) === JSON.stringify(['avatar_talking_message', 'avatar_start_talking', 'avatar_end_message', 'avatar_stop_talking']), r.task_events);
  check(`${name}: stop disconnects the room with ROOM_DELETED`, r.stop === 200 && r.disconnect_reason === 5, r);
  check(`${name}: stop closes the chat WebSocket normally`, r.chat_close_code === 1000, r.chat_close_code);
}

function assertSdk1(r) {
  const name = 'sdk-1.0.16';
  check(`${name}: createStartAvatar returns the session and the server's offer`, typeof r.session_id === 'string' && r.session_id.length > 0 && r.offer_type === 'offer', [r.session_id, r.offer_type]);
  check(`${name}: mediaStream has one video and one audio track`, r.tracks.video === 1 && r.tracks.audio === 1, r.tracks);
  check(`${name}: the video is VP8 at the low quality's 640x360`, r.video_codec === 'video/VP8' && r.size[0] === 640 && r.size[1] === 360, [r.video_codec, r.size]);
  check(`${name}: idle frames show the idle marker and a moving counter`,
    r.idle_frames.every((f) => !f.talking) && new Set(r.idle_frames.map((f) => f.counter)).size > 1, r.idle_frames);
  check(`${name}: frames while talking show the talking marker`, r.talking_frames.some((f) => f.talking), r.talking_frames);
  check(`${name}: a repeat task's events arrive through addEventHandler: start, then stop`, JSON.stringify(r.repeat_events) === '["avatar_start_talking","avatar_stop_talking"]', r.repeat_events);
  check(`${name}: avatar_stop_talking carries duration_ms (1.0.15+)`, r.stop_duration_ms > 0, r.stop_duration_ms);
  check(`${name}: a chat task (1.x's talk) is spoken`, JSON.stringify(r.chat_events) === '["avatar_start_talking","avatar_stop_talking"]', r.chat_events);
  check(`${name}: a sync task answers once its speech has ended`, r.sync_duration_ms > 0 && r.sync_ms >= r.sync_duration_ms * 0.8, [r.sync_ms, r.sync_duration_ms]);
  check(`${name}: interrupt stops the avatar within a second, back to the idle marker`, r.interrupt_ms < 1000 && !r.after_interrupt_frame.talking, [r.interrupt_ms, r.after_interrupt_frame]);
  check(`${name}: stopAvatar closes the peer connection`, r.pc_state_after_stop === 'closed', r.pc_state_after_stop);
  check(`${name}: a task after stop gets 10005 with HeyGen's body`, r.after_stop.status === 400 && r.after_stop.body && r.after_stop.body.code === 10005, r.after_stop);
  check(`${name}: a bad token gets 401`, r.bad_token.status === 401, r.bad_token);
}

function assertLiveAvatar(scenario, r) {
  const name = `${LIVEAVATAR_TARGET.name} ${scenario}`;
  if (scenario === 'full') {
    check(`${name}: the token's payload makes the SDK a FULL session`, r.mode === 'FULL', r.mode);
    check(`${name}: start resolves once the avatar and the agent are in the room`, r.state_after_start === 'CONNECTED' && typeof r.session_id === 'string', [r.state_after_start, r.session_id]);
    check(`${name}: maxSessionDuration comes from start`, r.max_session_duration === 600, r.max_session_duration);
    check(`${name}: session.stream_ready, and the video plays at the low quality's 640x360`, r.size[0] === 640 && r.size[1] === 360, r.size);
    check(`${name}: idle frames show the idle marker, frames while it speaks the talking one`,
      r.idle_frames.every((f) => !f.talking) && r.talking_frames.some((f) => f.talking), [r.idle_frames, r.talking_frames]);
    const at = (n) => r.repeat_events.indexOf(n);
    check(`${name}: repeat (avatar.speak_text): started, the whole text, ended, each naming the command`,
      at('avatar.speak_started') >= 0 && at('avatar.transcription') >= 0 && at('avatar.speak_started') < at('avatar.speak_ended') && r.repeat_events[r.repeat_events.length - 1] === 'avatar.speak_ended', r.repeat_events);
    check(`${name}: avatar.transcription holds the repeated text`, r.repeat_text === 'Hello from LiveAvatar in Chromium', r.repeat_text);
    check(`${name}: message (avatar.speak_response): the answer's pieces make its whole text`, r.answer_pieces_make_whole === true);
    check(`${name}: interrupt ends the speech within a second`, r.interrupt_ms < 1000, r.interrupt_ms);
    const v = (n) => r.voice_turn.indexOf(n);
    check(`${name}: voice chat: the fake microphone's sentence is a user turn (started, chunks, ended, transcription), then the avatar answers`,
      v('user.speak_started') === 0 && v('user.transcription.chunk') > 0 && v('user.transcription.chunk') < v('user.speak_ended')
        && v('user.speak_ended') < v('user.transcription') && r.voice_turn[r.voice_turn.length - 1] === 'avatar.speak_started', r.voice_turn);
    check(`${name}: user.transcription carries words`, typeof r.user_transcript === 'string' && r.user_transcript.length > 0, r.user_transcript);
    check(`${name}: stop disconnects (CLIENT_INITIATED) and the session is historic`,
      r.state_after_stop === 'DISCONNECTED' && r.disconnect_reason === 'CLIENT_INITIATED' && r.historic_ids.includes(r.session_id), [r.state_after_stop, r.disconnect_reason]);
  } else if (scenario === 'push-to-talk') {
    check(`${name}: startPushToTalk resolves on the server's acknowledgement and unmutes`, r.unmuted_while_held === true);
    const t = (n) => r.turn.indexOf(n);
    check(`${name}: the held button is one user turn, then the avatar answers`,
      t('user.speak_started') >= 0 && t('user.speak_started') < t('user.speak_ended') && t('user.speak_ended') < t('user.transcription') && t('user.transcription') < t('avatar.speak_started'), r.turn);
    check(`${name}: a session the server ends sends session.stopped, and the SDK disconnects (SERVER_INITIATED)`,
      r.admin_end === 200 && typeof r.stopped_reason === 'string' && r.disconnect_reason === 'SERVER_INITIATED', [r.admin_end, r.stopped_reason, r.disconnect_reason]);
  } else {
    check(`${name}: the token's payload makes the SDK a LITE session, and start resolves`, r.mode === 'LITE' && r.state_after_start === 'CONNECTED', [r.mode, r.state_after_start]);
    check(`${name}: ws_url is a wss URL on the host the SDK called`, /^wss:\/\/localhost\/v1\/sessions\/[^/]+\/ws$/.test(r.ws_url), r.ws_url);
    check(`${name}: the SDK's raw-PCM repeatAudio is refused without ending the session`, r.state_after_raw_audio === 'CONNECTED', r.state_after_raw_audio);
    check(`${name}: a backend's 1500 Hz PCM is heard in the room's audio, the mouth moving`,
      r.quiet_share < 0.2 && r.tone_share > 0.5 && r.talking_frames.some((f) => f.talking), [r.quiet_share, r.tone_share, r.talking_frames]);
    check(`${name}: the agent socket gets appended, started and ended`,
      ['agent.audio_buffer_appended', 'agent.speak_started', 'agent.speak_ended'].every((m) => r.agent_messages.includes(m)), r.agent_messages);
    check(`${name}: stop ends the session: the agent socket hears closing, then closed`,
      r.state_after_stop === 'DISCONNECTED' && JSON.stringify(r.closed_states.slice(-2)) === '["closing","closed"]', [r.state_after_stop, r.closed_states]);
  }
}

function assertRawDemo(r) {
  const name = 'raw-webrtc-demo';
  check(`${name}: ice_servers2 names the mock's STUN server on loopback, and goes into new RTCPeerConnection as it is`,
    Array.isArray(r.ice_servers2) && r.ice_servers2.length === 1 && /^stun:127\.0\.0\.1:\d+$/.test(r.ice_servers2[0].urls[0]), r.ice_servers2);
  check(`${name}: Chromium asks the mock's STUN server for its address while gathering`, r.stun_answers > 0, [r.stun_answers, r.candidate_types]);
  check(`${name}: start with the answer is 200 and the peer connects`, r.start === 200, r.start);
  check(`${name}: both tracks share one stream, at the medium quality's 854x480`, r.same_stream === true && r.size[0] === 854 && r.size[1] === 480, [r.same_stream, r.size]);
  const events = r.messages.filter((m) => m.binary && m.event.task_id === r.task_id).map((m) => m.event.type);
  check(`${name}: the task's events arrive as binary JSON on the server's channel`, r.task === 200 && JSON.stringify(events) === '["avatar_start_talking","avatar_stop_talking"]', r.messages);
  check(`${name}: nothing arrives as text`, r.messages.every((m) => m.binary), r.messages);
  check(`${name}: every trickled candidate is accepted`, r.ice_statuses.length > 0 && r.ice_statuses.every((s) => s === 200), r.ice_statuses);
  check(`${name}: stop closes the peer from the server's side`, r.stop === 200 && ['disconnected', 'failed', 'closed'].includes(r.pc_state_after_stop), [r.stop, r.pc_state_after_stop]);
}

/// Writes the fake microphone's input: a recorded sentence (fixtures/speech/hello.wav, made
/// with espeak-ng) and 2 s of silence, as 48 kHz mono s16 WAV. Chromium loops it, so the user
/// says the sentence every 3.5 s or so.
function writeSpeechWav(path) {
  const clip = readFileSync(new URL('../../fixtures/speech/hello.wav', import.meta.url));
  const fmt = clip.indexOf('fmt ');
  const from = clip.readUInt32LE(fmt + 12);
  const dataAt = clip.indexOf('data', fmt);
  const source = clip.subarray(dataAt + 8, dataAt + 8 + clip.readUInt32LE(dataAt + 4));
  const input = Array.from({ length: source.length / 2 }, (_, i) => source.readInt16LE(i * 2));
  const rate = 48_000;
  const spoken = Math.floor((input.length * rate) / from);
  const samples = spoken + rate * 2;
  const data = Buffer.alloc(samples * 2);
  for (let k = 0; k < spoken; k++) {
    const position = (k * from) / rate;
    const i = Math.floor(position);
    const a = input[i];
    const b = input[Math.min(i + 1, input.length - 1)];
    data.writeInt16LE(Math.round(a + (b - a) * (position - i)), k * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + data.length, 4); header.write('WAVE', 8);
  header.write('fmt ', 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24); header.writeUInt32LE(rate * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

function assertVoice(name, r, pushToTalk, transport) {
  if (transport === 'livekit') check(`${name}: speak() as LiveKit data gets an answer`, r.livekit_text_answered === true);
  check(`${name}: the admin API scripts the user's transcript`, r.scripted === 200, r.scripted);
  if (pushToTalk) check(`${name}: the microphone alone opens no turn`, r.starts_without_button === 0, r.starts_without_button);
  // Within each channel the order is fixed; across the chat socket (user_start, user_stop) and
  // LiveKit data (the rest) it is not (heygen-api.md §7.2 leaves the interleaving open).
  const at = (e) => r.turn.indexOf(e);
  check(`${name}: a turn gives USER_START, then USER_STOP on the socket and USER_TALKING_MESSAGE, USER_END_MESSAGE, then the avatar's answer over LiveKit`,
    r.turn[0] === 'user_start' && at('user_start') < at('user_stop')
      && at('user_start') < at('user_talking_message') && at('user_talking_message') < at('user_end_message')
      && at('user_end_message') < r.turn.lastIndexOf('avatar_start_talking'), r.turn);
  check(`${name}: USER_TALKING_MESSAGE carries the scripted transcript`, r.transcript === 'What are your opening hours?', r.transcript);
  check(`${name}: USER_END_MESSAGE has the transcript's task_id`, r.user_task_ids_match === true);
  if (!pushToTalk) {
    check(`${name}: muted, the user is not heard`, r.starts_while_muted === 0, r.starts_while_muted);
    check(`${name}: unmuted, the user is heard again`, r.starts_after_unmute > 0, r.starts_after_unmute);
  }
  check(`${name}: after closeVoiceChat the user is not heard`, r.starts_after_close === 0, r.starts_after_close);
}

/// Fault rules seen through the official SDK 2.1.0: a 500 on speak, a dropped chat socket, a
/// room leave with a reason.
async function checkFaults(context, origin) {
  const name = 'sdk-2.1.0 faults';
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${origin}/sdk-2.1.0/page.html`);
    const r = await Promise.race([
      page.evaluate((args) => window.runFaults(args), { base: BASE, apiKey: 'browser-faults' }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('fault scenario timed out')), SCENARIO_TIMEOUT_MS)),
    ]);
    check(`${name}: the admin API takes the rules`, r.rule_500 === 200 && r.rule_drop === 200 && r.rule_leave === 200, r);
    const body = r.speak_500.body ? JSON.parse(r.speak_500.body) : {};
    check(`${name}: speak rejects with the 500 and HeyGen's body`, r.speak_500.status === 500 && body.code === 10000 && body.message === 'injected by a fault rule', r.speak_500);
    check(`${name}: a times(1) rule fires once: the next speak works`, r.speak_after === true);
    check(`${name}: a dropped chat socket is gone for the SDK`, r.socket_open_before === true && r.socket_gone === true, r);
    check(`${name}: a poor connection quality from the server makes CONNECTION_QUALITY_CHANGED BAD`, r.rule_quality === 200 && r.quality === 'BAD', r.quality);
    check(`${name}: a room leave brings STREAM_DISCONNECTED with its reason (PARTICIPANT_REMOVED)`, r.disconnect_reason === 4, r.disconnect_reason);
    check(`${name}: each fired fault is in the journal`, ['respond 500 10000', 'drop', 'leave 4'].every((a) => r.journaled.includes(a)), r.journaled);
    check(`${name}: no uncaught page errors`, errors.length === 0, errors);
  } catch (e) {
    check(`${name}: scenario runs to the end`, false, String(e.message || e));
  } finally {
    await page.close();
  }
}

/// The demo page a person would open: Start, Speak, watch it talk, Stop.
/// Chromium's default fake microphone (no file given: a 400 Hz beep twice a second) is not a
/// person speaking: over both transports, no turn opens while the mock hears it.
async function checkDefaultMicrophone(origin, spki) {
  const profile = mkdtempSync(join(tmpdir(), 'understudy-chromium-beeps-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`,
      '--autoplay-policy=no-user-gesture-required', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  try {
    for (const transport of ['websocket', 'livekit']) {
      const name = `sdk-2.1.0 default fake microphone over ${transport}`;
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${origin}/sdk-2.1.0/page.html`);
      try {
        const r = await Promise.race([
          page.evaluate((args) => window.runQuietMicrophone(args), { base: BASE, apiKey: `beeps-${transport}`, transport, listenMs: 6000 }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('scenario timed out')), SCENARIO_TIMEOUT_MS)),
        ]);
        check(`${name}: no uncaught page errors`, errors.length === 0, errors);
        check(`${name}: the mock hears the microphone (seconds of it)`, r.audio_heard_ms >= 3000, r.audio_heard_ms);
        check(`${name}: its beeps open no user turn`, r.user_turns === 0 && r.user_events.length === 0, r);
      } catch (e) {
        check(`${name}: scenario runs to the end`, false, String(e.message || e));
      }
      await page.close();
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/// Chromium's one-time costs, paid before anything is timed, so they land on no SDK's start
/// (whichever ran first paid them) and the floor's runs are alike: the first AudioContext of a
/// browser process starts its audio service, and the first peer connection loads WebRTC.
/// Printed, as what a fresh browser adds once.
async function warmUpChromium(context, origin) {
  const page = await context.newPage();
  await page.goto(`${origin}/sdk-2.1.0/page.html`);
  const cold = await page.evaluate(async () => {
    const before = performance.now();
    await new AudioContext().close();
    const audio = performance.now() - before;
    return { first_audio_context: Math.round(audio * 10) / 10, first_floor: await window.measureFloor() };
  });
  console.log(`     chromium warm-up, not counted (ms): ${JSON.stringify(cold)}`);
  await page.close();
}

/// What a start costs Chromium itself on this machine, in this run: two peer connections in one
/// page (measureFloor in timing.js), three times, printed beside the SDKs' start marks.
async function reportFloor(context, origin) {
  const page = await context.newPage();
  await page.goto(`${origin}/sdk-2.1.0/page.html`);
  for (let i = 0; i < 3; i++) {
    const at = await page.evaluate(() => window.measureFloor());
    console.log(`     chromium floor (ms from two RTCPeerConnections in one page): ${JSON.stringify(at)}`);
  }
  await page.close();
}

/// The playground and inspector `understudy serve` itself serves at `/` over plain HTTP: start a
/// v1 session, watch the marker turn to talking, the timeline in order, the inspector's view,
/// an injected user turn, the microphone (the fake capture's recorded speech), the journal's
/// filter, interrupt, and ending the session from the inspector.
async function checkPlayground(context, http) {
  const name = 'playground';
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const names = () => page.$$eval('#timeline li', (items) => items.map((i) => i.dataset.name));
  const waitName = (wanted, after = 0) => page.waitForFunction(([w, a]) => [...document.querySelectorAll('#timeline li')].slice(a).some((i) => i.dataset.name === w), [wanted, after], { timeout: 15_000 });
  try {
    await page.setViewportSize({ width: 1400, height: 1050 });
    await page.goto(`${http}/`);
    check(`${name}: the page is served at / with its script and style`, (await page.title()) === 'Understudy playground', await page.title());
    await page.waitForFunction(() => document.querySelectorAll('#avatar option').length > 1, null, { timeout: 10_000 });
    await page.selectOption('#quality', 'low');
    await page.click('#start');
    await page.waitForFunction(() => document.getElementById('session-state').textContent === 'connected', null, { timeout: 20_000 });
    await page.waitForFunction(() => document.getElementById('marker').textContent === 'idle', null, { timeout: 20_000 });
    const sessionId = await page.textContent('#session-id');
    check(`${name}: Start makes a v1 session whose video plays (marker idle)`, /^[0-9a-f-]{36}$/.test(sessionId), sessionId);

    await page.fill('#text', 'Hello from the playground, a page the mock serves itself.');
    await page.selectOption('#task-type', 'repeat');
    await page.selectOption('#task-mode', 'async');
    await page.click('#speak');
    await page.waitForFunction(() => document.getElementById('marker').textContent === 'talking', null, { timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, 'playground.png') });
    check(`${name}: Speak turns the decoded marker to talking`, true);
    await waitName('avatar_stop_talking');
    const seen = await names();
    const at = (n) => seen.indexOf(n);
    check(`${name}: the timeline shows new, start, the task, then start and stop talking in order`,
      at('streaming.new') < at('streaming.start') && at('streaming.start') < at('streaming.task sent')
        && at('streaming.task sent') < at('avatar_start_talking') && at('avatar_start_talking') < at('avatar_stop_talking'), seen);

    // The inspector lists the session; its detail has the schedule and the admin actions.
    const row = `#sessions tr[data-session-id="${sessionId}"]`;
    await page.waitForSelector(row, { timeout: 5_000 });
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
    check(`${name}: the inspector lists the session as v1, connected, with one viewer and one chat socket`, cells[1] === 'v1' && cells[2] === 'connected' && cells[6] === '1' && cells[7] === '1', cells);
    await page.click(row);
    await page.waitForSelector('#schedule', { timeout: 5_000 });
    const before = (await names()).length;
    await page.click('#inject');
    await waitName('user_stop', before);
    await waitName('avatar_stop_talking', before);
    const turn = (await names()).slice(before);
    // user_stop comes on the chat socket and the answer on the data channel, and with the
    // instant profile the answer starts the moment the turn ends: two sockets, so the page may
    // see either first (the mock emits user_stop first; its unit tests hold it to that).
    check(`${name}: an injected user turn shows user_start, then user_stop and the avatar's answer`,
      turn.indexOf('user_start') >= 0 && turn.indexOf('user_start') < turn.indexOf('user_stop')
        && turn.indexOf('user_start') < turn.indexOf('avatar_start_talking')
        && turn.indexOf('avatar_start_talking') < turn.indexOf('avatar_stop_talking'), turn);

    // The microphone: Chromium's fake capture plays recorded speech into the chat socket.
    const beforeMic = (await names()).length;
    await page.click('#mic');
    await waitName('user_start', beforeMic);
    await page.click('#mic');
    check(`${name}: the microphone's speech opens a user turn`, true);

    await page.fill('#journal-path', 'streaming.task');
    const paths = await page.$$eval('#journal tbody tr', (rows) => rows.map((r) => r.children[3].textContent));
    check(`${name}: the journal filter shows only matching requests`, paths.length > 0 && paths.every((p) => p.includes('streaming.task')), paths);

    await page.fill('#text', 'This is a rather long sentence that would keep the avatar talking for many seconds if nobody interrupted it at all');
    const beforeLong = (await names()).length;
    await page.click('#speak');
    await waitName('avatar_start_talking', beforeLong);
    await page.click('#interrupt');
    await waitName('avatar_stop_talking', beforeLong);
    await page.waitForFunction(() => document.getElementById('marker').textContent === 'idle', null, { timeout: 5_000 });
    check(`${name}: Interrupt stops the talking and the marker goes back to idle`, true);

    const beforeEnd = (await names()).length;
    await page.click('#end-session');
    await waitName('closed', beforeEnd);
    await page.waitForFunction((r) => { const td = document.querySelector(`${r} td:nth-child(3)`); return td && td.textContent === 'closed'; }, row, { timeout: 5_000 });
    check(`${name}: ending the session from the inspector closes the chat socket and the row says closed`, true);
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('session-state').textContent === 'closed', null, { timeout: 5_000 });
    check(`${name}: no uncaught page errors`, errors.length === 0, errors);
  } catch (e) {
    check(`${name}: runs to the end`, false, String(e.message || e));
    await page.screenshot({ path: join(artifacts, 'playground-failure.png') }).catch(() => {});
  } finally {
    await page.close();
  }
}

async function checkDemo(context) {
  const demo = await demoServer();
  await new Promise((resolve) => demo.listen(0, '127.0.0.1', resolve));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`http://127.0.0.1:${demo.address().port}/?base=${encodeURIComponent(BASE)}`);
    await page.click('#start');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'ready', null, { timeout: 30_000 });
    await page.click('#speak');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'talking', null, { timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, 'demo.png') });
    check('demo page: Start then Speak makes the avatar talk', errors.length === 0, errors);
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'stopped', null, { timeout: 10_000 });
    check('demo page: Stop ends the stream', true);
  } catch (e) {
    check('demo page works', false, String(e.message || e));
    await page.screenshot({ path: join(artifacts, 'demo-failure.png') }).catch(() => {});
  } finally {
    await page.close();
    demo.close();
  }
}

/// `understudy record` between the official SDK and the mock: the SDK's whole scenario through
/// the proxy, then the written scenario holds no secret and replays against the mock. (SDK
/// 2.0.14+ dials its chat socket at wss://<basePath host>:443, so that part reaches the mock's
/// HTTPS directly and is not in the recording; REST and the room's events are.)
async function checkRecording(context, origin, upstream) {
  const name = 'understudy record: sdk-2.1.0 through the proxy';
  const file = join(artifacts, 'recorded-sdk-2.1.0.yaml');
  rmSync(file, { force: true });
  const recorder = spawn(binary, ['record', '--upstream', upstream, '--listen', '0', '-o', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`no banner from the recorder: ${banner}`)), 30_000);
    recorder.stdout.on('data', (chunk) => {
      banner += chunk;
      const at = banner.match(/basePath at (http:\/\/\S+)/);
      if (at) { clearTimeout(timer); resolve(at[1]); }
    });
  });
  const apiKey = 'browser-record-secret-key';
  const page = await context.newPage();
  await page.goto(`${origin}/sdk-2.1.0/page.html`);
  let result;
  try {
    result = await Promise.race([
      page.evaluate((args) => window.runScenario(args), { base, apiKey }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('scenario timed out')), SCENARIO_TIMEOUT_MS)),
    ]);
  } catch (e) {
    result = { error: String(e.message || e) };
  }
  await page.close();
  check(`${name}: the SDK's scenario runs through the proxy`, typeof result.session_id === 'string' && result.disconnect_reason === 5, result.error || result.session_id);
  const exited = new Promise((resolve) => recorder.on('exit', resolve));
  recorder.kill('SIGINT');
  const code = await exited;
  check(`${name}: the recorder writes a scenario`, code === 0 && existsSync(file), code);
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  check(`${name}: no API key or token in it`, !text.includes(apiKey) && !/eyJ[A-Za-z0-9_-]{10,}/.test(text), file);
  const replay = spawnSync(binary, ['conformance', file, '--target', upstream, '--api-key', 'replay-key'], { encoding: 'utf8' });
  check(`${name}: it replays against the mock`, replay.status === 0, replay.stdout + replay.stderr);
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const dist = join(artifacts, 'dist');
  await bundle(dist);
  const tlsDir = mkdtempSync(join(tmpdir(), 'understudy-browser-tls-'));
  const profile = mkdtempSync(join(tmpdir(), 'understudy-chromium-'));
  const wav = join(artifacts, 'fake-microphone.wav');
  writeSpeechWav(wav);
  const { child, spki, http } = await startServer(tlsDir);
  const pages = await startPages(dist);
  const origin = `http://127.0.0.1:${pages.address().port}`;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`,
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  });
  try {
    await warmUpChromium(context, origin);
    for (const target of TARGETS.filter((t) => t.name.includes(only))) {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${origin}/${target.name}/page.html`);
      // A picture of the avatar mid-sentence, for people: target/browser/<target>.png.
      await page.exposeFunction('understudySnapshot', () => page.screenshot({ path: join(artifacts, `${target.name}.png`) }).then(() => true));
      let result;
      try {
        result = await Promise.race([
          page.evaluate((args) => window.runScenario(args), { base: BASE, apiKey: `browser-${target.name}` }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('scenario timed out')), SCENARIO_TIMEOUT_MS)),
        ]);
      } catch (e) {
        check(`${target.name}: scenario runs to the end`, false, String(e.message || e));
        await page.screenshot({ path: join(artifacts, `${target.name}-failure.png`) }).catch(() => {});
        await page.close();
        continue;
      }
      check(`${target.name}: no uncaught page errors`, errors.length === 0, errors);
      if (target.name === 'sdk-1.0.16') assertSdk1(result);
      else if (target.name === 'raw-webrtc-demo') assertRawDemo(result);
      else if (target.name.startsWith('sdk-')) assertSdk(target.name, result);
      else assertRaw(result);
      if (result.start_marks) console.log(`     ${target.name} start (ms from createStartAvatar): ${JSON.stringify(result.start_marks)}`);
      await page.close();
    }
    for (const voice of VOICE_CASES) {
      const name = `${voice.target} voice over ${voice.transport}${voice.pushToTalk ? ' with push-to-talk' : ''}`;
      if (!name.includes(only)) continue;
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${origin}/${voice.target}/page.html`);
      try {
        const result = await Promise.race([
          page.evaluate((args) => window.runVoice(args), { base: BASE, apiKey: `voice-${voice.target}-${voice.transport}-${voice.pushToTalk}`, ...voice }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('voice scenario timed out')), SCENARIO_TIMEOUT_MS)),
        ]);
        check(`${name}: no uncaught page errors`, errors.length === 0, errors);
        assertVoice(name, result, voice.pushToTalk, voice.transport);
      } catch (e) {
        check(`${name}: scenario runs to the end`, false, String(e.message || e));
        await page.screenshot({ path: join(artifacts, `${voice.target}-voice-failure.png`) }).catch(() => {});
      }
      await page.close();
    }
    for (const scenario of LIVEAVATAR_CASES) {
      const name = `${LIVEAVATAR_TARGET.name} ${scenario}`;
      if (!name.includes(only)) continue;
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${origin}/${LIVEAVATAR_TARGET.name}/page.html`);
      try {
        const result = await Promise.race([
          page.evaluate((args) => window.runLiveAvatar(args), { base: BASE, apiKey: `liveavatar-${scenario}`, scenario }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('scenario timed out')), SCENARIO_TIMEOUT_MS)),
        ]);
        check(`${name}: no uncaught page errors`, errors.length === 0, errors);
        assertLiveAvatar(scenario, result);
      } catch (e) {
        check(`${name}: scenario runs to the end`, false, String(e.message || e));
        await page.screenshot({ path: join(artifacts, `liveavatar-${scenario}-failure.png`) }).catch(() => {});
      }
      await page.close();
    }
    if ('chromium floor'.includes(only) || only.startsWith('sdk-')) await reportFloor(context, origin);
    if ('sdk-2.1.0 faults'.includes(only)) await checkFaults(context, origin);
    if ('demo page'.includes(only)) await checkDemo(context);
    if ('playground'.includes(only)) await checkPlayground(context, http);
    if ('sdk-2.1.0 default fake microphone'.includes(only)) await checkDefaultMicrophone(origin, spki);
    if ('understudy record'.includes(only)) await checkRecording(context, origin, http);
  } finally {
    await context.close();
    pages.close();
    child.kill('SIGTERM');
    rmSync(profile, { recursive: true, force: true });
    rmSync(tlsDir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
