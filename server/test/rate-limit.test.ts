import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp } from './harness.js';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});

describe('API rate limit', () => {
  it('answers 429 rate_limited with Retry-After past the limit, per principal', async () => {
    const t = await startTestApp({ API_RATE_LIMIT_PER_MINUTE: '5' });
    apps.push(t);
    const a = await signUp(t);
    const b = await signUp(t);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await a.client.get('/api/v1/me')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await a.client.get('/api/v1/me');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is not affected.
    expect((await b.client.get('/api/v1/me')).status).toBe(200);
    // Health probes are never limited.
    expect((await a.client.get('/health')).status).toBe(200);
  });

  it('shares the counters between server processes through Redis', async () => {
    const env = { ANON_RATE_LIMIT_PER_MINUTE: '4', REDIS_URL: 'redis://127.0.0.1:6379' };
    const first = await startTestApp(env);
    const second = await startTestApp(env);
    apps.push(first, second);
    // Anonymous requests count per client IP; one IP for this run, on both processes.
    const ip = `172.31.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    const url = '/api/v1/invitations/00000000-0000-4000-8000-000000000000/preview';
    const onFirst = [];
    for (let i = 0; i < 2; i++) onFirst.push((await first.client({ ip }).get(url)).status);
    const onSecond = [];
    for (let i = 0; i < 3; i++) onSecond.push((await second.client({ ip }).get(url)).status);
    expect(onFirst).toEqual([404, 404]);
    expect(onSecond).toEqual([404, 404, 429]);
  });

  it('counts requests without a valid session per client IP: 401s, public routes, better-auth and get-session', async () => {
    const t = await startTestApp({ ANON_RATE_LIMIT_PER_MINUTE: '6' });
    apps.push(t);
    const signedIn = await signUp(t);
    const ip = `172.30.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    const anonymous = t.client({ ip });
    const forged = t.client({ ip });
    forged.setCookieHeader('better-auth.session_token=forged.c2lnbmF0dXJl');
    const statuses = [
      (await anonymous.get('/api/v1/contacts')).status,
      (await forged.get('/api/v1/me')).status,
      (await anonymous.get('/api/auth/get-session')).status,
      (await anonymous.get('/api/v1/invitations/00000000-0000-4000-8000-000000000000/preview')).status,
      (
        await anonymous.post('/api/auth/sign-in/email', {
          email: 'nobody@example.com',
          password: 'Nope-nope-1',
        })
      ).status,
      (await anonymous.get('/api/auth/no-such-endpoint')).status,
    ];
    expect(statuses).toEqual([401, 401, 200, 404, 401, 404]);
    for (const url of ['/api/v1/contacts', '/api/auth/get-session']) {
      const limited = await anonymous.get(url);
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Another IP, a signed-in user (their own budget) and health probes are not affected.
    expect((await t.client().get('/api/v1/contacts')).status).toBe(401);
    expect((await signedIn.client.get('/api/v1/me')).status).toBe(200);
    expect((await anonymous.get('/health')).status).toBe(200);
  });
});
