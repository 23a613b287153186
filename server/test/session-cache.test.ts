import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetCachedSessions } from '../src/platform/auth/auth.routes.js';
import { addMember, signUp, startTestApp, type TestApp } from './harness.js';

/**
 * Issue 18, throughput: a request does not pay a database round trip for its session check; the
 * check is reused for a few seconds in the process, and never after this process signed the
 * session out or changed the member's access.
 */
let t: TestApp;
let sessionLookups = 0;

beforeAll(async () => {
  t = await startTestApp();
  const raw = t.services.database.raw;
  const query = raw.query.bind(raw);
  raw.query = ((text: string, params?: unknown[]) => {
    if (/\bfrom sessions s\b/.test(text)) sessionLookups++;
    return query(text, params);
  }) as typeof raw.query;
});
afterAll(() => t?.close());

describe('session checks', () => {
  it('are reused across requests, and forgotten at once on sign-out and on a removed membership', async () => {
    const admin = await signUp(t, 'Cached');
    const member = await addMember(t, admin.client, 'user');
    expect((await member.client.get('/api/v1/contacts?limit=1')).status).toBe(200);
    const before = sessionLookups;
    for (let i = 0; i < 5; i++)
      expect((await member.client.get('/api/v1/contacts?limit=1')).status).toBe(200);
    expect(sessionLookups - before).toBe(0);

    // Removing the member: their very next request is refused (no organization left).
    expect((await admin.client.delete(`/api/v1/members/${member.userId}`)).status).toBe(204);
    expect((await member.client.get('/api/v1/contacts?limit=1')).status).toBe(403);

    // Signing out: the old cookie is refused on the next request.
    const cookie = admin.client.cookieHeader;
    expect((await admin.client.get('/api/v1/contacts?limit=1')).status).toBe(200);
    expect((await admin.client.post('/api/auth/sign-out', {})).status).toBe(200);
    admin.client.setCookieHeader(cookie);
    expect((await admin.client.get('/api/v1/contacts?limit=1')).status).toBe(401);
  });

  it('are looked up once for many requests that arrive together with an unchecked session', async () => {
    const admin = await signUp(t, 'Herd');
    forgetCachedSessions();
    const before = sessionLookups;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => admin.client.get('/api/v1/contacts?limit=1')),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(sessionLookups - before).toBe(1);
  });
});
