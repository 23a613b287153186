import { afterAll, beforeAll, expect } from 'vitest';
import { type Client, signUp, startTestApp, type TestApp } from '../harness.js';

/** An organization signed up by its first admin: `signUp`'s answer. */
export type SignedUp = Awaited<ReturnType<typeof signUp>>;

/** A test file's app and the organization its tests work in. */
export type TestOrganization = { t: TestApp; admin: SignedUp };

/**
 * Starts an app and signs up the organization `name` before a test file's tests (then runs
 * `prepare`, for what every test of the file needs: members, custom fields), and closes the app
 * after them. The fields are set once the file's `beforeAll` has run: read them in tests and hooks.
 * @param options.env configuration of the app (`startTestApp`); `queue`: the job queue driver
 */
export function useOrganization(
  name: string,
  options: {
    env?: Record<string, string>;
    queue?: 'sync' | 'pg-boss';
    prepare?: (org: TestOrganization) => Promise<void>;
  } = {},
): TestOrganization {
  const org = {} as TestOrganization;
  beforeAll(async () => {
    org.t = await startTestApp(options.env, undefined, {}, { queue: options.queue ?? 'sync' });
    org.admin = await signUp(org.t, name);
    await options.prepare?.(org);
  });
  afterAll(() => org.t?.close());
  return org;
}

/** A POST that must succeed (any 2xx, the answer in the message when not): its body. */
export async function postOk<T = any>(client: Client, url: string, body: unknown): Promise<T> {
  const res = await client.post(url, body);
  expect(res.status, `${url}: ${res.text}`).toBeLessThan(300);
  return res.body as T;
}
