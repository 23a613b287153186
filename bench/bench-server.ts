/**
 * What the API benches share: a PostgreSQL server database of their own (dropped and recreated),
 * Cairn's real HTTP server on it in this process (no job worker: a bench runs what it times), and
 * an organization signed up through the API.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { type Database, openDatabase } from '../server/src/db/client.js';
import type { ApiApp, Services } from '../server/src/platform/http/types.js';
import { createServices } from '../server/src/runtime.js';
import { signUpByFetch } from '../server/test/kit/sign-up.js';

export type BenchServer = {
  base: string;
  dbUrl: string;
  /** The PostgreSQL server's version. */
  version: string;
  services: Services;
  database: Database;
  app: ApiApp;
  close(): Promise<void>;
};

/**
 * Recreates database `dbName` on `serverUrl` (a superuser URL without a database), applies the
 * migrations and starts Cairn on a random loopback port, with rate limits out of the way
 * (`options.env`: more configuration; `options.worker`: run the job queue's workers too).
 */
export async function startBenchServer(
  serverUrl: string,
  dbName: string,
  options: { env?: Record<string, string>; worker?: boolean } = {},
): Promise<BenchServer> {
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.query(`create database ${dbName}`);
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  await admin.end();

  const dbUrl = `${serverUrl}/${dbName}`;
  const port = 38_000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    DATABASE_URL: dbUrl,
    SECRET: 'x'.repeat(40),
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-')),
    BASE_URL: base,
    SIGN_IN_PER_IP_PER_MINUTE: '1000',
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    ANON_RATE_LIMIT_PER_MINUTE: '1000000',
    QUEUE_SCHEMA: 'pgboss_bench',
    ...options.env,
  });
  const database = await openDatabase({ databaseUrl: dbUrl, poolSize: 10 });
  const services = await createServices({ config, database });
  await services.jobs.start({ worker: options.worker ?? false });
  const { app } = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1' });
  return {
    base,
    dbUrl,
    version,
    services,
    database,
    app,
    async close() {
      await app.close();
      await services.jobs.stop(1000);
      await database.close();
    },
  };
}

/** Signs up an organization through `POST /api/v1/signup` and signs in; returns its ids and session cookie. */
export async function signUpBench(
  base: string,
  organizationName: string,
  email: string,
): Promise<{ orgId: string; userId: string; cookie: string }> {
  return signUpByFetch(base, {
    organization_name: organizationName,
    name: 'Bench',
    email,
    password: 'Bench-pass-1',
  });
}

/** A JSON POST as the signed-in member (cookie and origin); throws on any answer but 2xx. */
export function benchPoster(base: string, cookie: string) {
  const headers = { cookie, origin: base, 'content-type': 'application/json' };
  return async (url: string, body: unknown) => {
    const res = await fetch(`${base}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
}

/**
 * Loads `n` contacts tagged `bench` with one e-mail each (`<prefix><n>@bench.example`, also in
 * contact_emails) owned by `ownerId`, in one SQL statement, as the e-mail benches need them.
 */
export async function seedMailableContacts(
  dbUrl: string,
  orgId: string,
  ownerId: string,
  n: number,
  first: string,
  prefix: string,
): Promise<pg.Client> {
  const raw = new pg.Client({ connectionString: dbUrl });
  await raw.connect();
  await raw.query(
    `with ins as (
       insert into contacts (org_id, first_name, last_name, owner_id, email, emails, tags)
       select $1, $4, 'No ' || g, $2, $5 || g || '@bench.example',
              jsonb_build_array(jsonb_build_object('value', $5 || g || '@bench.example', 'primary', true)),
              array['bench']
         from generate_series(1, $3::int) g
       returning org_id, id, email)
     insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`,
    [orgId, ownerId, n, first, prefix],
  );
  return raw;
}
