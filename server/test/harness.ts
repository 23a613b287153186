import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { closeSmtpPools } from '../src/modules/conversations/channel.service.js';
import type { RouteEntry } from '../src/platform/http/route-guard.js';
import type { ApiApp, Services } from '../src/platform/http/types.js';
import {
  createSyncJobQueue,
  type DrainOptions,
  type SyncJobQueue,
} from '../src/platform/jobs/sync-job-queue.js';
import { createServices } from '../src/runtime.js';

export const BASE_URL = 'http://cairn.test';
export const ORIGIN = BASE_URL;

export type TestApp = {
  app: ApiApp;
  services: Services;
  routes: RouteEntry[];
  invitations: { id: string; email: string; role: string; link: string }[];
  /** The job queue's driver: `sync` (default) runs jobs only when the test calls `drain`. */
  queue: 'sync' | 'pg-boss';
  /**
   * Runs every queued job that is due, and the jobs they enqueue, until none is left (sync
   * driver only); rejects when a job failed on every try. `{delayed: true}` runs later ones too.
   */
  drain(options?: DrainOptions): ReturnType<SyncJobQueue['drain']>;
  /** The jobs still queued (sync driver only). */
  queued: SyncJobQueue['queued'];
  /** A new HTTP client with its own cookie jar and client IP. */
  client(options?: { ip?: string; origin?: string | null }): Client;
  close(): Promise<void>;
};

/** The PostgreSQL server database of this run, or '' for the embedded database. */
export const serverDatabaseUrl = (): string => inject('databaseUrl');

/**
 * Starts a real Cairn app for a test file: the embedded database in memory (or the run's
 * PostgreSQL server database), migrations applied, HTTP through inject. Jobs run when the test
 * calls `drain()` (the sync driver), or, with `{queue: 'pg-boss'}`, on pg-boss's worker in the
 * background as in production (for the tests of pg-boss itself: retries, heartbeats, expiry).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  beforeStart?: (services: Services) => void,
  appOptions: Parameters<typeof buildApp>[1] = {},
  { queue = 'sync' }: { queue?: 'sync' | 'pg-boss' } = {},
): Promise<TestApp> {
  const databaseUrl = serverDatabaseUrl();
  const config: Config = loadConfig({
    BASE_URL: BASE_URL,
    SECRET: randomBytes(32).toString('hex'),
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-test-')),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SIGN_IN_PER_IP_PER_MINUTE: '1000',
    API_RATE_LIMIT_PER_MINUTE: '100000',
    ANON_RATE_LIMIT_PER_MINUTE: '100000',
    // Each test app its own queue, so another file's worker never takes its jobs.
    QUEUE_SCHEMA: `pgboss_${randomBytes(4).toString('hex')}`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : 'memory://',
    poolSize: 4,
  });
  const invitations: TestApp['invitations'] = [];
  let sync: SyncJobQueue | undefined;
  const services = await createServices({
    config,
    database,
    logger: pino({ level: 'silent' }),
    onInvitation: (i) => invitations.push(i),
    ...(queue === 'sync' ? { jobQueue: (db, c) => (sync = createSyncJobQueue(db, c.queueSchema)) } : {}),
  });
  const syncQueue = (): SyncJobQueue => {
    if (!sync) throw new Error('this test app runs pg-boss: its jobs run on their own');
    return sync;
  };
  beforeStart?.(services);
  await services.jobs.start({ worker: true });
  const { app, routes } = await buildApp(services, appOptions);
  await app.ready();
  let clients = 0;
  const fileIp = `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
  return {
    app,
    services,
    routes,
    invitations,
    queue,
    drain: (options) => syncQueue().drain(options),
    queued: (name) => syncQueue().queued(name),
    client: (options = {}) => new Client(app, options.ip ?? `${fileIp}.${++clients % 250}`, options.origin),
    async close() {
      await app.close();
      await services.jobs.stop(2000);
      closeSmtpPools();
      await database.close();
    },
  };
}

export type Res<T = unknown> = { status: number; headers: Record<string, unknown>; body: T; text: string };

/** An HTTP client that keeps cookies like a browser and sends the app's Origin on mutations. */
export class Client {
  private cookies = new Map<string, string>();

  constructor(
    private readonly app: ApiApp,
    readonly ip: string,
    private readonly origin: string | null | undefined,
  ) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  setCookieHeader(header: string) {
    this.cookies.clear();
    for (const part of header.split('; ').filter(Boolean)) {
      const [k, ...v] = part.split('=');
      this.cookies.set(k!, v.join('='));
    }
  }

  async request<T = any>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookies.size > 0) h.cookie = this.cookieHeader;
    if (method !== 'GET' && this.origin !== null && !h.origin) h.origin = this.origin ?? ORIGIN;
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await this.app.inject({
      method,
      url,
      headers: h,
      remoteAddress: this.ip,
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    const setCookie = res.headers['set-cookie'];
    for (const c of [setCookie ?? []].flat()) {
      const [pair, ...attrs] = String(c).split(';');
      const [k, ...v] = pair!.split('=');
      const expired = attrs.some((a) => /max-age=0/i.test(a.trim()));
      if (expired) this.cookies.delete(k!.trim());
      else this.cookies.set(k!.trim(), v.join('='));
    }
    let parsed: unknown;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body: parsed as T, text: res.body };
  }

  get<T = any>(url: string, headers?: Record<string, string>) {
    return this.request<T>('GET', url, undefined, headers);
  }
  post<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', url, body ?? {}, headers);
  }
  put<T = any>(url: string, body?: unknown) {
    return this.request<T>('PUT', url, body ?? {});
  }
  patch<T = any>(url: string, body?: unknown) {
    return this.request<T>('PATCH', url, body ?? {});
  }
  delete<T = any>(url: string) {
    return this.request<T>('DELETE', url);
  }
}

let seq = 0;
/** A unique e-mail for this run (the server database is shared by the run's test files). */
export const uniqueEmail = (name = 'user') =>
  `${name}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}.${++seq}@example.com`;

export const PASSWORD = 'Correct-Horse-9';

/** Signs up a new organization with its admin and signs in; returns the signed-in client and ids (the address is not verified: `verifyEmailOf`). */
export async function signUp(t: TestApp, orgName = 'Acme') {
  const client = t.client();
  const email = uniqueEmail('admin');
  const res = await client.post('/api/v1/signup', {
    organization_name: orgName,
    name: 'Ada Admin',
    email,
    password: PASSWORD,
  });
  if (res.status !== 202) throw new Error(`signup failed: ${res.status} ${res.text}`);
  // Sign-up signs no one in (it answers the same for a taken address, issue 22): sign in.
  const signedIn = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (signedIn.status !== 200) throw new Error(`sign-in failed: ${signedIn.status} ${signedIn.text}`);
  // Its ids from the database, not `GET /me`: a request here would count against a rate limit under test.
  const userId = signedIn.body.user.id as string;
  const { rows } = await t.services.database.raw.query<{ org_id: string }>(
    'select organization_id as org_id from members where user_id = $1',
    [userId],
  );
  return { client, email, userId, orgId: rows[0]!.org_id };
}

/** Invites `role` into the admin's organization and accepts as a new user; returns their client. */
export async function addMember(t: TestApp, admin: Client, role: 'admin' | 'user' | 'viewer') {
  const email = uniqueEmail(role);
  const invited = await admin.post('/api/v1/invitations', { email, role });
  if (invited.status !== 201) throw new Error(`invite failed: ${invited.status} ${invited.text}`);
  const client = t.client();
  const accepted = await client.post(`/api/v1/invitations/${invited.body.id}/accept`, {
    name: `A ${role}`,
    password: PASSWORD,
  });
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${accepted.text}`);
  const me = await client.get('/api/v1/me');
  return { client, email, userId: me.body.user.id as string };
}
