import type { Logger } from 'pino';
import type { Services } from '../http/types.js';
import { type BackupManifest, pruneBackups, takeBackup } from './backup.js';
import { copyBackupToBucket, pruneBucket } from './backup-s3.js';

/**
 * Scheduled backups: a worker takes one every `BACKUP_EVERY_HOURS` hours (0: never) into
 * `BACKUP_DIR` and keeps the newest `BACKUP_KEEP`. The schedule is one job at a time on a
 * `stately` queue (a second worker's send is absorbed), each run sending the next.
 */
export const BACKUP_QUEUE = 'backup';
type BackupJob = { reason: 'schedule' };

/** Takes a backup now and prunes old ones; logs the result. */
export async function backupNow(
  services: Pick<Services, 'config' | 'database'>,
  logger: Logger,
): Promise<BackupManifest> {
  const { config, database } = services;
  const manifest = await takeBackup(database, config.backupDir, config.databaseUrl);
  const removed = pruneBackups(config.backupDir, config.backupKeep);
  logger.info(
    {
      file: manifest.file,
      bytes: manifest.bytes,
      tables: manifest.tables.length,
      duration_ms: manifest.duration_ms,
      removed,
    },
    'backup taken',
  );
  if (config.backupS3) {
    // The local backup stands whatever happens to the copy; a failed copy is logged as an error.
    try {
      await copyBackupToBucket(config.backupS3, config.backupDir, manifest);
      const pruned = await pruneBucket(config.backupS3, config.backupKeep);
      logger.info(
        { file: manifest.file, bucket: config.backupS3.bucket, removed: pruned },
        'backup copied to the bucket',
      );
    } catch (error) {
      logger.error(
        { err: error, file: manifest.file, bucket: config.backupS3.bucket },
        'backup copy to the bucket failed',
      );
    }
  }
  return manifest;
}

/** Defines the backup queue (before the job queue starts). */
export function defineBackupJobs(services: Services, logger: Logger): void {
  services.jobs.define<BackupJob>(
    { name: BACKUP_QUEUE, policy: 'stately', retryLimit: 2, expireInSeconds: 6 * 3600 },
    async () => {
      try {
        await backupNow(services, logger);
      } finally {
        await scheduleNextBackup(services);
      }
    },
  );
}

/** Queues the next scheduled backup, unless one is queued or backups are off. */
export async function scheduleNextBackup(services: Services): Promise<void> {
  const hours = services.config.backupEveryHours;
  if (hours <= 0) return;
  await services.jobs.send<BackupJob>(
    null,
    BACKUP_QUEUE,
    { reason: 'schedule' },
    { startAfter: Math.round(hours * 3600), singletonKey: 'backup' },
  );
}

/**
 * `cairn backup` on an embedded database in use asks the process holding it for the backup, with
 * SIGUSR2: only that process may open the data directory and take a consistent copy. Installed
 * by every process on the embedded database; returns the uninstaller.
 */
export function takeBackupsOnSignal(
  services: Pick<Services, 'config' | 'database'>,
  logger: Logger,
): () => void {
  const onSignal = () => {
    backupNow(services, logger).catch((error: Error) => logger.error({ err: error }, 'backup failed'));
  };
  process.on('SIGUSR2', onSignal);
  return () => process.off('SIGUSR2', onSignal);
}
