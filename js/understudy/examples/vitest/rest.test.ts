// REST only, no browser: a backend's calls to HeyGen's API checked against Understudy with the
// admin client (the journal, fault rules), in Vitest.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startUnderstudy, type Understudy } from '@understudy/mock';

let mock: Understudy;

beforeAll(async () => {
  // REST-only clients never join the room: connect sessions on streaming.start.
  mock = await startUnderstudy({ https: 'off', args: ['--connect-on-start'] });
});

afterAll(async () => {
  await mock.stop();
});

async function call(path: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${mock.httpUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

test('a session speaks and the journal shows every call', async () => {
  await mock.admin.reset();
  const token = await mock.createToken();
  const created = await call('/v1/streaming.new', token, { version: 'v2', avatar_name: 'default' });
  expect(created.status).toBe(200);
  const sessionId: string = created.body.data.session_id;
  expect((await call('/v1/streaming.start', token, { session_id: sessionId })).status).toBe(200);
  const task = await call('/v1/streaming.task', token, { session_id: sessionId, text: 'hello', task_type: 'repeat' });
  expect(task.status).toBe(200);
  expect(task.body.data.task_id).toMatch(/^[0-9a-f-]{36}$/);

  const paths = (await mock.admin.requests()).map((r) => r.path);
  expect(paths).toEqual(['/v1/streaming.create_token', '/v1/streaming.new', '/v1/streaming.start', '/v1/streaming.task']);
  expect((await mock.admin.session(sessionId))?.state).toBe('connected');
});

test("a fault rule answers HeyGen's concurrency error once", async () => {
  await mock.admin.reset();
  const id = await mock.admin.addFault({ on: '/v1/streaming.new', respond: { code: 10007 }, times: 1 });
  const token = await mock.createToken();
  const refused = await call('/v1/streaming.new', token, { version: 'v2' });
  expect(refused.status).toBe(429);
  expect(refused.body).toEqual({ code: 10007, message: 'Concurrent limit reached' });
  expect((await call('/v1/streaming.new', token, { version: 'v2' })).status).toBe(200);

  const [status] = await mock.admin.faults();
  expect(status).toMatchObject({ id, matched: 2, fired: 1 });
  const faulted = await mock.admin.requests({ faulted: true });
  expect(faulted.map((r) => [r.path, r.fault?.action])).toEqual([['/v1/streaming.new', 'respond 429 10007']]);
});
