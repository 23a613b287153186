import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type {} from 'vitest';
import { buildApp } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config.js';
import { openDatabase } from '../../server/src/db/client.js';
import { WEB_DIST_DIR } from '../../server/src/modules/web/web.routes.js';
import { createServices } from '../../server/src/runtime.js';
import { signUpByFetch } from '../../server/test/kit/sign-up.js';
import { CHROMIUM } from './browser.js';

/** Contacts in the perf organization (E2E_PERF_CONTACTS overrides, for a quick local run). */
export const PERF_CONTACTS = Number(process.env.E2E_PERF_CONTACTS ?? 100_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts one real Cairn server for the e2e run: the built web app at `/`, the API, the job
 * worker; on the embedded database, or (with `DATABASE_URL`) in a fresh database of that server,
 * dropped afterwards. Seeds one organization with 100,000 contacts for the first-rows timing.
 * Fails (does not skip) when Chromium or the web build is missing.
 */
export default async function setup({ provide }: { provide: (key: string, value: unknown) => void }) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (the e2e suite needs it)`,
    );
  }
  if (!existsSync(path.join(WEB_DIST_DIR, 'index.html'))) {
    throw new Error('The web app is not built: npm run build -w web');
  }
  const serverUrl = process.env.DATABASE_URL;
  let databaseUrl: string | undefined;
  let dropDatabase = async () => {};
  if (serverUrl) {
    const name = `cairn_e2e_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    BASE_URL: baseUrl,
    SECRET: randomBytes(32).toString('hex'),
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-e2e-')),
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    SIGN_IN_PER_IP_PER_MINUTE: '1000',
    API_RATE_LIMIT_PER_MINUTE: '100000',
    ANON_RATE_LIMIT_PER_MINUTE: '100000',
    // The journeys' local stand-ins for outside services (the AI provider of ai-reports) listen here.
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    QUEUE_SCHEMA: `pgboss_e2e_${randomBytes(3).toString('hex')}`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const database = await openDatabase(
    databaseUrl ? { databaseUrl, poolSize: 8 } : { dataDir: config.dataDir },
  );
  const services = await createServices({
    config,
    database,
    logger: pino({ level: 'silent' }),
    onInvitation: () => {},
  });
  await services.jobs.start({ worker: true });
  const { app } = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1' });

  // The 100,000-contact organization, for the first-rows timing of the contacts page.
  const perf = { email: `perf-${randomBytes(3).toString('hex')}@cairn.test`, password: 'Correct-Horse-9' };
  const signedUp = await signUpByFetch(baseUrl, {
    organization_name: 'Perf Co',
    name: 'Perry Perf',
    ...perf,
  });
  const me = { organization: { id: signedUp.orgId }, user: { id: signedUp.userId } };
  const started = performance.now();
  await database.raw.query(
    `insert into contacts (org_id, first_name, last_name, email, emails, phone, phones, tags, owner_id, source, created_at, updated_at)
     select $1::uuid, 'Given' || g, 'Family' || (g % 977), 'person' || g || '@perf.test',
            jsonb_build_array(jsonb_build_object('value', 'person' || g || '@perf.test', 'primary', true)),
            '+1555' || lpad(g::text, 7, '0'),
            jsonb_build_array(jsonb_build_object('e164', '+1555' || lpad(g::text, 7, '0'), 'raw', '+1555' || lpad(g::text, 7, '0'), 'primary', true)),
            case when g % 3 = 0 then array['vip'] else '{}'::text[] end, $2::uuid, 'import',
            now() - g * interval '1 minute', now() - g * interval '1 minute'
       from generate_series(1, ${PERF_CONTACTS}) g`,
    [me.organization.id, me.user.id],
  );
  await database.raw.query('analyze contacts');
  console.log(`e2e: seeded ${PERF_CONTACTS} contacts in ${Math.round(performance.now() - started)} ms`);

  provide('baseUrl', baseUrl);
  provide('perfAccount', perf);
  provide('databaseKind', database.kind);

  return async () => {
    await app.close();
    await services.jobs.stop(2000);
    await database.close();
    await dropDatabase();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    perfAccount: { email: string; password: string };
    databaseKind: 'embedded' | 'server';
  }
}
