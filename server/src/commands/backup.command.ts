import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { DataDirLockedError } from '../db/lock.js';
import {
  BackupError,
  type BackupManifest,
  listBackups,
  pruneBackups,
  restoreEmbedded,
  restoreServer,
  takeBackup,
} from '../platform/backup/backup.js';
import {
  copyBackupToBucket,
  fetchBackupFromBucket,
  listBucketBackups,
  pruneBucket,
} from '../platform/backup/backup-s3.js';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function printManifest(file: string, m: BackupManifest): void {
  const rows = m.tables.reduce((n, t) => n + t.rows, 0);
  console.log(`Backup ${file}`);
  console.log(
    `  ${m.kind} database, ${m.tables.length} tables, ${rows.toLocaleString('en-US')} rows, ${mb(m.bytes)}, ${m.duration_ms} ms`,
  );
  console.log(
    `  manifest ${file.replace(/\.(dump|tar\.gz)$/, '')}.manifest.json (row count and checksum of every table)`,
  );
}

/**
 * `cairn backup [--dir D]`: a consistent backup of the whole database while Cairn serves. On the
 * embedded database in use by a running Cairn, that process takes it (signalled, SIGUSR2), since
 * only it may open the data directory; the command waits for it and prints it.
 */
export async function backupCommand(options: { dir?: string; keep?: string }): Promise<number> {
  const config = loadConfig();
  const dir = path.resolve(options.dir ?? config.backupDir);
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    if (options.dir && path.resolve(options.dir) !== config.backupDir) {
      console.error(
        `cairn: the running Cairn (pid ${error.pid}) writes its backups to ${config.backupDir}; --dir cannot change that`,
      );
      return 2;
    }
    return askRunningProcess(error.pid, config.backupDir);
  }
  try {
    const manifest = await takeBackup(database, dir, config.databaseUrl);
    printManifest(path.join(dir, manifest.file), manifest);
    if (options.keep) {
      const removed = pruneBackups(dir, Number(options.keep));
      if (removed.length) console.log(`  removed ${removed.length} older backup(s): ${removed.join(', ')}`);
    }
    if (config.backupS3) {
      await copyBackupToBucket(config.backupS3, dir, manifest);
      console.log(
        `  copied to s3://${config.backupS3.bucket}/${config.backupS3.prefix ?? ''}${manifest.file}`,
      );
      const pruned = await pruneBucket(
        config.backupS3,
        options.keep ? Number(options.keep) : config.backupKeep,
      );
      if (pruned.length) console.log(`  removed ${pruned.length} older backup(s) from the bucket`);
    }
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      console.error(`cairn: backup failed (${error.code}): ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}

async function askRunningProcess(pid: number, dir: string): Promise<number> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  console.log(`The embedded database is in use by Cairn (pid ${pid}); asking it for a backup...`);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const fresh = existsSync(dir)
      ? readdirSync(dir).filter((f) => f.endsWith('.manifest.json') && !before.has(f))
      : [];
    if (fresh.length) {
      const manifest = JSON.parse(readFileSync(path.join(dir, fresh[0]!), 'utf8')) as BackupManifest;
      printManifest(path.join(dir, manifest.file), manifest);
      return 0;
    }
    try {
      process.kill(pid, 0);
    } catch {
      console.error(`cairn: the Cairn process ${pid} stopped before the backup was written`);
      return 1;
    }
  }
  console.error(`cairn: no backup appeared in ${dir} within 30 minutes; see the server's log`);
  return 1;
}

/** `cairn backup list`: the backups in the backup directory, newest first. */
export async function listBackupsCommand(options: { dir?: string }): Promise<number> {
  const config = loadConfig();
  const dir = path.resolve(options.dir ?? config.backupDir);
  const all = listBackups(dir);
  if (!all.length) console.log(`No backups in ${dir}`);
  if (config.backupS3) {
    const remote = await listBucketBackups(config.backupS3);
    console.log(
      `${remote.length} backup(s) in s3://${config.backupS3.bucket}/${config.backupS3.prefix ?? ''} (restore one with: cairn restore s3:<file>)`,
    );
    for (const name of remote) console.log(`  ${name}`);
  }
  for (const { file, manifest: m } of all) {
    const rows = m.tables.reduce((n, t) => n + t.rows, 0);
    console.log(
      `${m.taken_at}  ${m.kind.padEnd(8)}  ${mb(m.bytes).padStart(10)}  ${rows.toLocaleString('en-US').padStart(12)} rows  ${file}`,
    );
  }
  return 0;
}

/**
 * `cairn restore <file> [--database-url URL]`: restores a backup into an empty database (the
 * server at DATABASE_URL or --database-url; else an empty DATA_DIR), then checks the row count and
 * checksum of every table against the backup's manifest. Exit 0 only when all match.
 */
export async function restoreCommand(file: string, options: { databaseUrl?: string }): Promise<number> {
  const config = loadConfig();
  const url = options.databaseUrl ?? config.databaseUrl;
  if (file.startsWith('s3:')) {
    if (!config.backupS3) {
      console.error('cairn: s3:<file> restores from the backup bucket: set BACKUP_S3_BUCKET');
      return 2;
    }
    const work = mkdtempSync(path.join(os.tmpdir(), 'cairn-restore-'));
    try {
      const local = await fetchBackupFromBucket(config.backupS3, file.slice(3), work);
      console.log(`Fetched ${file.slice(3)} from s3://${config.backupS3.bucket}`);
      return await restoreCommand(local, options);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  try {
    const report = url
      ? await restoreServer(path.resolve(file), url)
      : await restoreEmbedded(path.resolve(file), config.dataDir);
    console.log(
      `Restored ${report.tables} tables, ${report.rows.toLocaleString('en-US')} rows into ${url ? 'the PostgreSQL server' : config.dataDir} in ${report.duration_ms} ms`,
    );
    if (report.mismatches.length) {
      console.error('cairn: the restored database differs from the backup:');
      for (const m of report.mismatches) console.error(`  ${m}`);
      return 1;
    }
    console.log('Verified: every table has the row count and checksum the backup recorded');
    return 0;
  } catch (error) {
    if (error instanceof BackupError) {
      console.error(`cairn: restore failed (${error.code}): ${error.message}`);
      return error.code === 'pg_restore_failed' || error.code === 'verify_failed' ? 1 : 2;
    }
    throw error;
  }
}
