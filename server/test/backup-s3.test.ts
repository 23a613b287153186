import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manifestPathOf, restoreEmbedded, restoreServer } from '../src/platform/backup/backup.js';
import { fetchBackupFromBucket, listBucketBackups } from '../src/platform/backup/backup-s3.js';
import { backupNow } from '../src/platform/backup/backup-schedule.js';
import { freshCliEnv } from './kit/cli.js';
import { postOk, signUp, startTestApp, type TestApp } from './kit/index.js';

// Issue 26: every backup copied off the machine to an S3-compatible bucket (the official AWS SDK
// client against s3rver, started here), the bucket keeping the newest BACKUP_KEEP, and a backup
// fetched back from the bucket restoring with every table verified.
vi.setConfig({ testTimeout: 240_000 });

const BUCKET = 'cairn-backups';
let s3: S3rver;
let dir: string;
let t: TestApp;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cairn-s3-backups-'));
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await s3.run();
  t = await startTestApp({
    BACKUP_S3_BUCKET: BUCKET,
    BACKUP_S3_PREFIX: 'nightly/',
    BACKUP_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
    BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
    BACKUP_KEEP: '1',
  });
}, 180_000);
afterAll(async () => {
  await t?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('backups in an S3-compatible bucket', () => {
  it('copies each backup to the bucket, keeps the newest BACKUP_KEEP there, and restores one fetched back', async () => {
    const { client } = await signUp(t, 'Offsite Co');
    await postOk(client, '/api/v1/contacts', { first_name: 'Offsite', last_name: 'Ada' });
    const settings = t.services.config.backupS3!;
    const taken = [];
    for (let i = 0; i < 2; i++) {
      // Backup files are named by the second they were taken in.
      if (i) await new Promise((r) => setTimeout(r, 1100));
      taken.push(await backupNow(t.services, pino({ level: 'silent' })));
    }
    const remote = await listBucketBackups(settings);
    expect(remote).toEqual([taken[1]!.file]);

    const work = mkdtempSync(path.join(tmpdir(), 'cairn-s3-fetch-'));
    const local = await fetchBackupFromBucket(settings, remote[0]!, work);
    const fetched = JSON.parse(readFileSync(manifestPathOf(local), 'utf8'));
    expect(fetched.tables).toEqual(taken[1]!.tables);
    const target = await freshCliEnv('cairn-s3-restore');
    const report = target.DATABASE_URL
      ? await restoreServer(local, target.DATABASE_URL)
      : await restoreEmbedded(local, target.DATA_DIR!);
    expect(report.mismatches).toEqual([]);
    expect(report.rows).toBe(taken[1]!.tables.reduce((n, x) => n + x.rows, 0));
    await expect(fetchBackupFromBucket(settings, taken[0]!.file, work)).rejects.toThrow();
  });
});
