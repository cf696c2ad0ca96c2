// The package itself: starting and stopping the binary, clear errors, the admin client.
import { expect, test } from 'vitest';
import { AdminError, StartError, startUnderstudy } from '@understudy/mock';

test('it starts on free ports, answers, and stops', async () => {
  const mock = await startUnderstudy();
  expect(mock.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(mock.httpsUrl).toMatch(/^https:\/\/localhost:\d+$/);
  expect(mock.basePath).toBe(mock.httpUrl);
  expect(mock.chromiumArgs).toEqual([expect.stringMatching(/^--ignore-certificate-errors-spki-list=.+=$/)]);
  expect(await mock.admin.health()).toBe(true);
  expect(await mock.createToken()).toMatch(/.{20,}/);
  await mock.stop();
  expect(await mock.admin.health()).toBe(false);
  await mock.stop(); // twice is fine
});

test('a missing binary is a StartError that says how to fix it', async () => {
  const error = await startUnderstudy({ binary: '/nonexistent/understudy' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StartError);
  expect(String(error)).toContain('UNDERSTUDY_BIN');
});

test('a server that cannot start reports what it printed', async () => {
  const error = await startUnderstudy({ https: 'off', args: ['--concurrency-limit', 'lots'] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StartError);
  expect((error as StartError).output).toContain('lots');
});

test('the admin client surfaces refusals with the mock answer', async () => {
  const mock = await startUnderstudy({ https: 'off' });
  try {
    const refused = await mock.admin.addFault({ on: '/v1/streaming.task' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AdminError);
    expect((refused as AdminError).status).toBe(400);
    expect((refused as AdminError).body).toMatchObject({ code: 400006 });
    const id = await mock.admin.addFault({ on: '/v1/streaming.list', respond: { status: 503 } });
    expect((await mock.admin.faults()).map((f) => f.id)).toEqual([id]);
    await mock.admin.removeFault(id);
    expect(await mock.admin.faults()).toEqual([]);
    await mock.admin.setLatency('heygen');
    expect(await mock.admin.latency()).toMatchObject({ name: 'heygen' });
    await mock.admin.reset();
    expect(await mock.admin.sessions()).toEqual([]);
    expect((await mock.admin.stats()).live_sessions).toBe(0);
  } finally {
    await mock.stop();
  }
});

test('the session dump says each session\'s protocol, and a session can be ended', async () => {
  const mock = await startUnderstudy({ https: 'off' });
  try {
    const token = await mock.createToken();
    const created = await fetch(`${mock.httpUrl}/v1/streaming.new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v2', quality: 'low' }),
    });
    const sessionId: string = (await created.json()).data.session_id;
    const dump = await mock.admin.session(sessionId);
    expect(dump).toMatchObject({ protocol: 'v2', state: 'new', quality: 'low', viewers: 0, schedule: [] });
    const [first] = await mock.admin.requests();
    expect(await mock.admin.requests({ since: first.seq })).toHaveLength(1);
    await mock.admin.endSession(sessionId);
    expect(await mock.admin.session(sessionId)).toMatchObject({ state: 'closed', close_reason: 'stopped' });
    await expect(mock.admin.endSession(sessionId)).rejects.toMatchObject({ status: 400 });
  } finally {
    await mock.stop();
  }
});
