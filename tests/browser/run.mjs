// The browser suite: the unmodified official SDK (three versions from npm) and livekit-client
// used directly, in Debian's headless Chromium, against `understudy serve` with HTTPS on 443
// (the SDK always dials wss://<basePath host>, port dropped).
//
// Usage: node run.mjs            (UNDERSTUDY_BIN names the binary; default target/debug/understudy)
// Prints one line per check and a closing `N passed, N failed`; exits 1 when any check fails.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
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

const TARGETS = [
  { name: 'sdk-2.1.0', entry: "import * as m from 'sdk-2.1.0'; window.SDK = m;" },
  { name: 'sdk-2.0.16', entry: "import * as m from 'sdk-2.0.16'; window.SDK = m;" },
  { name: 'sdk-2.0.9', entry: "import * as m from 'sdk-2.0.9'; window.SDK = m;" },
  { name: 'livekit-client-2.23.0', entry: "import * as m from 'livekit-client'; window.LivekitClient = m;" },
];

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
  for (const target of TARGETS) {
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
  const child = spawn(binary, ['serve', '--port', '0', '--https-port', '443', '--tls-dir', tlsDir, '--words-per-minute', '300', '--concurrency-limit', '0'], {
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
      if (spki && banner.includes('Press Ctrl-C')) {
        clearTimeout(timer);
        resolve({ child, spki: spki[1] });
      }
    });
  });
}

/// Serves /<target>/page.html, /<target>/scenario.js and /<target>/bundle.js on 127.0.0.1, so
/// pages run on an origin of their own and call the mock cross-origin, like real apps.
function startPages(dist) {
  const server = createServer((req, res) => {
    const [, target, file] = new URL(req.url, 'http://x').pathname.split('/');
    const path = { 'page.html': join(here, 'page.html'), 'scenario.js': join(here, 'scenario.js'), 'bundle.js': join(dist, `${target}.js`) }[file];
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
  const order = ['avatar_start_talking', 'avatar_talking_message', 'avatar_end_message', 'avatar_stop_talking'];
  const inOrder = (events) => events.length >= 4 && events[0] === order[0] && events.at(-2) === order[2] && events.at(-1) === order[3]
    && events.slice(1, -2).every((e) => e === order[1]) && events.includes(order[1]);
  check(`${name}: repeat gives start, messages, end, stop for its task_id`, inOrder(r.repeat_events), r.repeat_events);
  check(`${name}: the talking messages rebuild the repeated text`, r.repeat_text === 'Hello from the official SDK running in Chromium today', r.repeat_text);
  check(`${name}: talk gives start, messages, end, stop`, inOrder(r.talk_events), r.talk_events);
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
  check(`${name}: the chat WebSocket opens over wss on 443`, r.chat_socket === 'open');
  check(`${name}: a REST task is narrated over LiveKit data`, r.task_events[0] === 'avatar_start_talking' && r.task_events.at(-1) === 'avatar_stop_talking', r.task_events);
  check(`${name}: stop disconnects the room with ROOM_DELETED`, r.stop === 200 && r.disconnect_reason === 5, r);
  check(`${name}: stop closes the chat WebSocket normally`, r.chat_close_code === 1000, r.chat_close_code);
}

/// The demo page a person would open: Start, Speak, watch it talk, Stop.
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

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const dist = join(artifacts, 'dist');
  await bundle(dist);
  const tlsDir = mkdtempSync(join(tmpdir(), 'understudy-browser-tls-'));
  const profile = mkdtempSync(join(tmpdir(), 'understudy-chromium-'));
  const { child, spki } = await startServer(tlsDir);
  const pages = await startPages(dist);
  const origin = `http://127.0.0.1:${pages.address().port}`;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`,
      '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    for (const target of TARGETS) {
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
      if (target.name.startsWith('sdk-')) assertSdk(target.name, result); else assertRaw(result);
      await page.close();
    }
    await checkDemo(context);
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
