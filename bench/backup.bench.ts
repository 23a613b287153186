/**
 * Backup benchmark (issue 26): a database with 1,000,000 contacts and one `contact.created` event
 * each, on the PostgreSQL server (database `cairn_bench_backup`, recreated each run). Times
 *   - `cairn backup` (takeBackup: pg_dump of an exported snapshot, plus the manifest's row count and
 *     checksum of every table) against a plain `pg_dump --format=custom` of the same database, and
 *   - `cairn restore` (restoreServer: pg_restore in one transaction, then every table compared with
 *     the manifest) against a plain `pg_restore --single-transaction` into an empty database.
 * The ratios are Cairn's price for a backup it can verify.
 *
 *   npx tsx bench/backup.bench.ts [--contacts=1000000] [--url=postgres://host:port]
 *
 * Prints the figures; a full-size run (1,000,000 contacts or more) rewrites its section of
 * bench/RESULTS.md. Exits 0 whatever the figures. The databases and dump files it made are removed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { restoreServer, takeBackup } from '../server/src/platform/backup/backup.js';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const CONTACTS = Number(arg('contacts') ?? 1_000_000);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_backup';
const RESTORE_DBS = ['cairn_bench_backup_cairn', 'cairn_bench_backup_plain'] as const;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function main() {
  const bench = await startBenchServer(SERVER_URL, DB_NAME);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-backup-bench-'));
  try {
    const me = await signUpBench(bench.base, 'Backup bench', 'backup@bench.test');
    await bench.app.close();

    // The data: contacts with an e-mail and a phone, and each one's creation event.
    const load = await timed(async () => {
      const raw = new pg.Client({ connectionString: bench.dbUrl });
      await raw.connect();
      for (let from = 1; from <= CONTACTS; from += 100_000) {
        const to = Math.min(CONTACTS, from + 99_999);
        await raw.query(
          `with c as (
             insert into contacts (org_id, first_name, last_name, email, emails, phone, phones, owner_id, source, created_at, updated_at)
             select $1, 'First' || g, 'Last' || (g % 5000), 'person' || g || '@example.com',
                    jsonb_build_array(jsonb_build_object('value', 'person' || g || '@example.com', 'primary', true)),
                    '+4420' || lpad(g::text, 8, '0'),
                    jsonb_build_array(jsonb_build_object('e164', '+4420' || lpad(g::text, 8, '0'), 'raw', '020 ' || g, 'primary', true)),
                    $2, 'import', now() - g * interval '1 second', now()
               from generate_series($3::int, $4::int) g
             returning id, first_name, last_name)
           insert into events (org_id, id, type, actor_type, actor_id, subject_object, subject_id, data)
           select $1, gen_random_uuid(), 'contact.created', 'import', $2, 'contact', c.id::text,
                  jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name)
             from c`,
          [me.orgId, me.userId, from, to],
        );
      }
      await raw.query('vacuum analyze');
      const size = await raw.query<{ b: string }>('select pg_database_size(current_database())::text as b');
      await raw.end();
      return Number(size.rows[0]!.b);
    });
    console.log(`loaded ${CONTACTS.toLocaleString('en-US')} contacts and events in ${seconds(load.ms)}`);

    const plainFile = path.join(dir, 'plain.dump');
    const plainDump = await timed(() =>
      execFileSync('pg_dump', ['--format=custom', `--file=${plainFile}`, `--dbname=${bench.dbUrl}`]),
    );
    const backup = await timed(() => takeBackup(bench.database, dir, bench.dbUrl));
    const cairnFile = path.join(dir, backup.value.file);
    console.log(`pg_dump ${seconds(plainDump.ms)}, cairn backup ${seconds(backup.ms)}`);

    await admin(async (c) => {
      for (const db of RESTORE_DBS) {
        await c.query(`drop database if exists ${db} with (force)`);
        await c.query(`create database ${db}`);
      }
    });
    const plainRestore = await timed(() =>
      execFileSync('pg_restore', [
        '--single-transaction',
        '--exit-on-error',
        '--no-owner',
        `--dbname=${SERVER_URL}/${RESTORE_DBS[1]}`,
        plainFile,
      ]),
    );
    const restore = await timed(() => restoreServer(cairnFile, `${SERVER_URL}/${RESTORE_DBS[0]}`));
    if (restore.value.mismatches.length > 0) throw new Error(`restore differs: ${restore.value.mismatches}`);
    console.log(`pg_restore ${seconds(plainRestore.ms)}, cairn restore ${seconds(restore.ms)}`);

    const rows = [
      ['backup', backup.ms, plainDump.ms, `pg_dump --format=custom (${mib(statSync(plainFile).size)})`],
      ['restore', restore.ms, plainRestore.ms, 'pg_restore --single-transaction into an empty database'],
    ] as const;
    const table = [
      '| step | Cairn | floor | ratio | floor command |',
      '|---|---:|---:|---:|---|',
      ...rows.map(
        ([step, ours, floor, what]) =>
          `| ${step} | ${seconds(ours)} | ${seconds(floor)} | ${(ours / floor).toFixed(2)}x | ${what} |`,
      ),
    ];
    console.log(table.join('\n'));

    if (CONTACTS < 1_000_000) {
      console.log('(a run below 1,000,000 contacts checks the script; RESULTS.md is left alone)');
      return;
    }
    const commit = commitOf();
    const section = [
      '<!-- backup:start -->',
      '## Backup and restore (`bench/backup.bench.ts`, issue 26)',
      '',
      `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, ${os.cpus().length} cores; PostgreSQL ${bench.version}; Node ${process.version}; ${loadAverageNote()}.`,
      `${CONTACTS.toLocaleString('en-US')} contacts with one event each (database ${mib(load.value)}, loaded in ${seconds(load.ms)}); Cairn's backup also counts and checksums every table for its manifest (${backup.value.tables.length} tables), and its restore compares them all before it reports.`,
      '',
      ...table,
      '<!-- backup:end -->',
    ].join('\n');
    writeResultsSection('backup', section);
  } finally {
    await bench.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await admin(async (c) => {
      for (const db of [...RESTORE_DBS, DB_NAME]) await c.query(`drop database if exists ${db} with (force)`);
    });
  }
}

await main();
