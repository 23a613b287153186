import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import {
  type BackupManifest,
  listBackups,
  restoreEmbedded,
  restoreServer,
  tableSums,
  takeBackup,
} from '../src/platform/backup/backup.js';
import { takeBackupsOnSignal } from '../src/platform/backup/backup-schedule.js';
import { cairn, freshCliEnv, SERVER_DIR } from './kit/cli.js';

// Backups that restore (issue 26): `cairn backup` and `cairn restore` as an operator runs them,
// on the database kind of this run. Each case starts CLI processes (tsx start-up): slow.
vi.setConfig({ testTimeout: 240_000 });

const serverUrl = inject('databaseUrl');
const CUSTOMERS = path.resolve(SERVER_DIR, '../../shared/data/crm/datablist-samples/customers-100.csv');

/** Opens the database an environment points at and returns its table sums and a few names. */
async function inspect(env: Record<string, string>) {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL || undefined, dataDir: env.DATA_DIR! });
  try {
    return await db.withConnection(async (conn) => ({
      sums: await tableSums(conn),
      names: (
        await conn.query<{ n: string }>(
          "select first_name || ' ' || last_name as n from contacts order by n limit 3",
        )
      ).rows.map((r) => r.n),
    }));
  } finally {
    await db.close();
  }
}

/** An organization with the 100 datablist customers imported: what an operator backs up. */
async function populated() {
  const env = await freshCliEnv('cairn-bk');
  const org = await cairn(
    ['create-org', '--name', 'Backup Co', '--admin-email', 'ops@backup.test'],
    env,
    SLOW,
  );
  expect(org.code, org.stderr).toBe(0);
  const imported = await cairn(
    ['import', CUSTOMERS, '--org', 'Backup Co', '--object', 'contacts'],
    env,
    SLOW,
  );
  expect(imported.code, imported.stderr).toBe(0);
  return env;
}

/** A CLI process's time limit: tsx start-up and a fresh database's migrations on a busy machine. */
const SLOW = 180_000;

/** What `cairn backup --dir` does, in this process (the CLI's own run is the first case). */
async function backupOf(env: Record<string, string>, dir: string) {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL || undefined, dataDir: env.DATA_DIR! });
  try {
    return await takeBackup(db, dir, env.DATABASE_URL || undefined);
  } finally {
    await db.close();
  }
}

/** What `cairn restore` does, in this process. */
const restoreInto = (file: string, env: Record<string, string>) =>
  env.DATABASE_URL ? restoreServer(file, env.DATABASE_URL) : restoreEmbedded(file, env.DATA_DIR!);

function backupFiles(dir: string) {
  const file = readdirSync(dir).find((f) => /\.(dump|tar\.gz)$/.test(f));
  expect(file).toBeDefined();
  const at = path.join(dir, file!);
  return { file: at, manifest: at.replace(/\.(dump|tar\.gz)$/, '.manifest.json') };
}

describe('cairn backup and cairn restore', () => {
  let source: Awaited<ReturnType<typeof populated>>;
  beforeAll(async () => {
    source = await populated();
  }, 400_000);

  it('a backup restores into an empty database with every table the same, and the contacts are there', async () => {
    const dir = path.join(source.dataDir, 'my-backups');
    const backup = await cairn(['backup', '--dir', dir], source, SLOW);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(
      serverUrl ? /server database, \d+ tables/ : /embedded database, \d+ tables/,
    );
    const { file, manifest: manifestFile } = backupFiles(dir);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
    expect(manifest.tables.find((t) => t.table === 'public.contacts')?.rows).toBe(100);

    expect(listBackups(dir).map((b) => b.file)).toEqual([file]);

    const target = await freshCliEnv('cairn-rs');
    const restored = await cairn(['restore', file], target, SLOW);
    expect(restored.code, `${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(restored.stdout).toMatch(/Verified: every table has the row count and checksum/);

    // Nothing lost: the restored database equals the source table by table (no one wrote since).
    const [before, after] = [await inspect(source), await inspect(target)];
    expect(after.sums).toEqual(before.sums);
    expect(after.names).toEqual(before.names);
    expect(after.names.length).toBe(3);
    // The restored install is current and starts: its migrations ledger came along.
    const status = await cairn(['db', 'status'], target, SLOW);
    expect(status.code, status.stdout).toBe(0);

    // A second restore into the same (now full) database is refused and changes nothing.
    await expect(restoreInto(file, target)).rejects.toMatchObject({ code: 'not_empty' });
    expect((await inspect(target)).sums).toEqual(before.sums);
  });

  it('a restore whose data does not match the manifest fails and names the table', async () => {
    const dir = path.join(source.dataDir, 'b');
    await backupOf(source, dir);
    const { file, manifest: manifestFile } = backupFiles(dir);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
    const contacts = manifest.tables.find((t) => t.table === 'public.contacts')!;
    contacts.checksum = '12345';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const report = await restoreInto(file, await freshCliEnv('cairn-rs'));
    expect(report.mismatches).toEqual(['public.contacts: same row count, different contents']);
  });

  it('a backup of the other database kind is refused with kind_mismatch', async () => {
    const dir = path.join(source.dataDir, 'k');
    await backupOf(source, dir);
    const { file, manifest: manifestFile } = backupFiles(dir);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
    manifest.kind = manifest.kind === 'server' ? 'embedded' : 'server';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    await expect(restoreInto(file, await freshCliEnv('cairn-rs'))).rejects.toMatchObject({
      code: 'kind_mismatch',
    });
  });

  it.skipIf(Boolean(serverUrl))(
    'on the embedded database in use, `cairn backup` has the process holding it take the backup while it serves',
    async () => {
      // This test process holds the data directory, as a running `cairn start` does, with the
      // same signal handler installed (runtime.ts); `cairn backup` is the real command.
      const db = await openDatabase({ dataDir: source.DATA_DIR! });
      const config = loadConfig({ DATA_DIR: source.DATA_DIR!, SECRET: source.SECRET! });
      const stop = takeBackupsOnSignal({ config, database: db }, pino({ level: 'silent' }));
      try {
        const backup = await cairn(['backup'], source, SLOW);
        expect(backup.code, backup.stderr).toBe(0);
        expect(backup.stdout).toMatch(
          new RegExp(`in use by Cairn \\(pid ${process.pid}\\); asking it for a backup`),
        );
        expect(backup.stdout).toMatch(/embedded database, \d+ tables/);
        // The holder went on serving meanwhile.
        expect(
          (await db.raw.query<{ n: number }>('select count(*)::int as n from contacts')).rows[0]!.n,
        ).toBe(100);
      } finally {
        stop();
        await db.close();
      }
      const { file } = backupFiles(path.join(source.dataDir, 'backups'));
      const target = await freshCliEnv('cairn-rs');
      expect((await restoreInto(file, target)).mismatches).toEqual([]);
      expect((await inspect(target)).names).toEqual((await inspect(source)).names);
    },
  );
});
