import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { withTenant } from '../src/db/tenant.js';
import type { ApiApp, Services } from '../src/platform/http/types.js';
import { createServices } from '../src/runtime.js';
import { BASE_URL, PASSWORD, serverDatabaseUrl, uniqueEmail } from './harness.js';
import { signUpByFetch } from './kit/sign-up.js';

/**
 * Issue 18, "no statement holds the database without limit": a request's database work is cut at
 * STATEMENT_TIMEOUT_MS with a 503 problem+json, a request whose client left is cancelled, and
 * `/health` keeps answering meanwhile. Through a real socket (app.listen on port 0), so the event
 * loop and the pool behave as in production.
 */
const TIMEOUT_MS = 800;
const POOL_SIZE = 4;
const onServer = serverDatabaseUrl() !== '';

let app: ApiApp;
let services: Services;
let base: string;
let orgId: string;
let cookie: string;

beforeAll(async () => {
  const config = loadConfig({
    BASE_URL,
    SECRET: randomBytes(32).toString('hex'),
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-test-')),
    LOG_LEVEL: 'silent',
    QUEUE_SCHEMA: `pgboss_${randomBytes(4).toString('hex')}`,
    STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS),
    ...(onServer ? { DATABASE_URL: serverDatabaseUrl() } : {}),
  });
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : 'memory://',
    poolSize: POOL_SIZE,
    connectTimeoutMs: config.statementTimeoutMs,
  });
  services = await createServices({ config, database, logger: pino({ level: 'silent' }) });
  await services.jobs.start({ worker: false });
  ({ app } = await buildApp(services));
  // Test-only route: tenant work that is slow on purpose. `single`: one statement sleeping `ms`;
  // `many`: 20 ms statements, one after another, for `ms` in all (how long work must be cut on
  // the embedded database, whose statements cannot be interrupted).
  app.get(
    '/test/slow',
    {
      schema: {
        querystring: z.object({ kind: z.enum(['single', 'many']), ms: z.coerce.number().int() }),
      },
    },
    async (req) => {
      const { kind, ms } = req.query;
      await withTenant(
        services.database,
        { orgId, actor: { type: 'system', id: null } },
        async ({ conn }) => {
          if (kind === 'single') await conn.query('select pg_sleep($1::float8 / 1000)', [ms]);
          else for (let spent = 0; spent < ms; spent += 20) await conn.query('select pg_sleep(0.02)');
        },
      );
      return { done: true };
    },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  ({ orgId, cookie } = await signUpByFetch(
    base,
    { organization_name: 'Slow', name: 'Sam', email: uniqueEmail(), password: PASSWORD },
    BASE_URL,
  ));
});

afterAll(async () => {
  // Every request has been answered by now; fetch may still hold a socket it opened and never
  // used, which the server would otherwise keep until its headers timeout.
  app?.server.closeAllConnections();
  await app?.close();
  await services?.jobs.stop(2000);
  await services?.database.close();
});

/** Requests `/health` and returns how long it took, ms. */
async function timeHealth(): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/health`);
  await res.text();
  return { ms: performance.now() - t0, status: res.status };
}

async function expectTimeoutProblem(res: Response, startedAt: number) {
  const elapsed = performance.now() - startedAt;
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.headers.get('retry-after')).toBe('2');
  const body = (await res.json()) as { code: string; trace_id: string };
  expect(body.code).toBe('statement_timeout');
  expect(body.trace_id).toBeTruthy();
  // Cut at about the timeout: well before the 10 s the work asked for.
  expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
}

describe('a request whose database work outlasts STATEMENT_TIMEOUT_MS', () => {
  it('many short statements: 503 statement_timeout at about the timeout, /health answering within 1 s meanwhile', async () => {
    const t0 = performance.now();
    const slow = fetch(`${base}/test/slow?kind=many&ms=10000`);
    await new Promise((r) => setTimeout(r, 200));
    const health = await timeHealth();
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(1_000);
    await expectTimeoutProblem(await slow, t0);
  });

  it.runIf(onServer)(
    'one long statement (server database): 503 statement_timeout, /health and /ready answering while every pool connection is held',
    async () => {
      const t0 = performance.now();
      const slow = Array.from({ length: POOL_SIZE + 2 }, () =>
        fetch(`${base}/test/slow?kind=single&ms=10000`),
      );
      await new Promise((r) => setTimeout(r, 200));
      const health = await timeHealth();
      expect(health.status).toBe(200);
      expect(health.ms).toBeLessThan(1_000);
      const readyT0 = performance.now();
      const ready = await fetch(`${base}/ready`);
      await ready.text();
      expect(performance.now() - readyT0).toBeLessThan(1_500);
      const first = await slow[0]!;
      await expectTimeoutProblem(first, t0);
      // The two queued behind a full pool are answered too, within the wait for a connection.
      for (const res of await Promise.all(slow.slice(1))) {
        expect(res.status).toBe(503);
        expect(((await res.json()) as { code: string }).code).toBe('statement_timeout');
      }
      expect(performance.now() - t0).toBeLessThan(3 * TIMEOUT_MS + 1_500);
    },
  );

  it.runIf(onServer)(
    'a real route waiting on a lock (server database): GET /contacts/:id answers 503 statement_timeout',
    async () => {
      const created = await fetch(`${base}/api/v1/contacts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BASE_URL, cookie },
        body: JSON.stringify({ first_name: 'Locked', last_name: 'Out' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const locker = new pg.Client({ connectionString: serverDatabaseUrl() });
      await locker.connect();
      try {
        await locker.query('begin; lock table contacts in access exclusive mode');
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/contacts/${id}`, { headers: { cookie } });
        await expectTimeoutProblem(res, t0);
      } finally {
        await locker.query('rollback');
        await locker.end();
      }
      const after = await fetch(`${base}/api/v1/contacts/${id}`, { headers: { cookie } });
      expect(after.status).toBe(200);
    },
  );

  it.runIf(onServer)(
    'a request whose client went away has its running statement cancelled (server database)',
    async () => {
      const controller = new AbortController();
      const slow = fetch(`${base}/test/slow?kind=single&ms=${TIMEOUT_MS - 100}`, {
        signal: controller.signal,
      }).catch(() => 'aborted');
      const admin = new pg.Client({ connectionString: serverDatabaseUrl() });
      await admin.connect();
      const sleeping = async () =>
        Number(
          (
            await admin.query(
              `select count(*)::int as n from pg_stat_activity
                where datname = current_database() and state = 'active' and query like 'select pg_sleep($1%'`,
            )
          ).rows[0].n,
        );
      try {
        await new Promise((r) => setTimeout(r, 150));
        expect(await sleeping()).toBe(1);
        controller.abort();
        expect(await slow).toBe('aborted');
        await new Promise((r) => setTimeout(r, 150));
        // Cancelled within 150 ms of the disconnect, long before its own 700 ms sleep would end.
        expect(await sleeping()).toBe(0);
      } finally {
        await admin.end();
      }
    },
  );
});
