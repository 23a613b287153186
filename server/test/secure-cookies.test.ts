import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, startTestApp, type TestApp, uniqueEmail } from './harness.js';

const BASE = 'https://crm.cairn.test';
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ BASE_URL: BASE });
});
afterAll(() => t?.close());

it('behind https the session cookie is Secure (__Secure- prefixed) and still signs the user in', async () => {
  const client = t.client({ origin: BASE });
  const email = uniqueEmail('secure');
  const res = await client.post('/api/v1/signup', {
    organization_name: 'Secure Co',
    name: 'S',
    email,
    password: PASSWORD,
  });
  expect(res.status).toBe(202);
  const signIn = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  const cookie = String([signIn.headers['set-cookie']].flat()[0]);
  expect(cookie).toMatch(/^__Secure-better-auth\.session_token=/);
  expect(cookie).toMatch(/; Secure/i);
  expect(cookie).toMatch(/HttpOnly/i);
  const me = await client.get('/api/v1/me');
  expect(me.status).toBe(200);
  expect(me.body.organization.name).toBe('Secure Co');
  // A tampered cookie is refused.
  const forged = t.client({ origin: BASE });
  forged.setCookieHeader(client.cookieHeader.replace(/session_token=([^.]+)\./, 'session_token=$1x.'));
  expect((await forged.get('/api/v1/me')).status).toBe(401);
});
