import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SESSION_IDLE_TIMEOUT: '3' });
});
afterAll(() => t?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('keeps a session alive while it is used, and expires it after the idle timeout', async () => {
  const { client } = await signUp(t);
  // Used every 1.5 s for 4.5 s: longer than the 3 s timeout, yet never idle that long.
  for (let i = 0; i < 3; i++) {
    await sleep(1500);
    expect((await client.get('/api/v1/me')).status).toBe(200);
  }
  await sleep(3500);
  const res = await client.get('/api/v1/me');
  expect(res.status).toBe(401);
  expect(res.body.code).toBe('unauthenticated');
});
