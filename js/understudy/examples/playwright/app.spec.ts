// The small app in examples/app, on the official SDK, tested against Understudy with the
// Playwright fixture: it starts, speaks, hears a user's turn, and shows HeyGen's error when
// speak fails.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { test, expect, type Understudy } from '@understudy/mock/playwright';
import type { Page } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, '..', 'app');
let appServer: Server;
let appOrigin = '';

// The app, bundled with the SDK, on a loopback web server as a dev server would serve it.
test.beforeAll(async () => {
  const bundled = await build({
    entryPoints: [join(appDir, 'app.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
  });
  const appJs = bundled.outputFiles[0].text;
  const html = readFileSync(join(appDir, 'index.html'), 'utf8');
  appServer = createServer((request, response) => {
    const js = request.url?.startsWith('/app.js');
    response.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    response.end(js ? appJs : html);
  });
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise((resolve) => appServer.close(resolve));
});

/** Opens the app against the mock, with a fresh session token. */
async function openApp(page: Page, understudy: Understudy): Promise<void> {
  const token = await understudy.createToken();
  await page.goto(`${appOrigin}/?basePath=${encodeURIComponent(understudy.basePath)}&token=${token}`);
  await expect(page.locator('#status')).not.toHaveText('starting', { timeout: 30_000 });
  // On failure, the app's own error says why.
  expect(await page.locator('#status').textContent(), (await page.locator('#error').textContent()) ?? '').toBe('ready');
}

const eventNames = (page: Page) =>
  page.evaluate(() => (window as unknown as { appEvents: { name: string }[] }).appEvents.map((e) => e.name));

test('the avatar starts and talks when the app speaks', async ({ page, understudy }) => {
  await openApp(page, understudy);
  await page.click('#speak');
  await expect.poll(() => eventNames(page), { timeout: 10_000 }).toContain('avatar_start_talking');
  // The journal records a call once its answer is written, which may be a moment after the
  // avatar's first event reached the page.
  await expect
    .poll(async () => (await understudy.admin.requests({ path: '/v1/streaming.task' })).map((r) => r.body))
    .toEqual([expect.objectContaining({ text: 'Hello from the example app', task_type: 'repeat' })]);
});

test('a user turn reaches the app and the avatar answers it', async ({ page, understudy }) => {
  await openApp(page, understudy);
  const sessionId = await page.evaluate(() => (window as unknown as { sessionId: string }).sessionId);
  await understudy.admin.userTurn(sessionId, { text: 'What are your opening hours?', durationMs: 300 });
  await expect.poll(() => eventNames(page), { timeout: 10_000 }).toEqual(
    expect.arrayContaining(['user_start', 'user_stop', 'user_talking_message', 'avatar_start_talking']),
  );
  const said = await page.evaluate(() =>
    (window as unknown as { appEvents: { name: string; detail: { message?: string } }[] }).appEvents
      .find((e) => e.name === 'user_talking_message')?.detail?.message);
  expect(said).toBe('What are your opening hours?');
});

test("a 500 on speak shows HeyGen's error in the app", async ({ page, understudy }) => {
  await openApp(page, understudy);
  await understudy.admin.addFault({
    on: '/v1/streaming.task',
    respond: { status: 500, code: 10000, message: 'the avatar is unavailable' },
    times: 1,
  });
  await page.click('#speak');
  await expect(page.locator('#error')).toContainText('the avatar is unavailable');
  // Only once: the next speak works.
  await page.click('#speak');
  await expect.poll(() => eventNames(page), { timeout: 10_000 }).toContain('avatar_start_talking');
  const [rule] = await understudy.admin.faults();
  expect(rule.fired).toBe(1);
});
