import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Settings } from '../../config.js';
import { s3ClientOf } from '../files/file-store.js';
import { type BackupManifest, manifestPathOf } from './backup.js';

/**
 * Backups copied off the machine (issue 26): each backup and its manifest go to an S3-compatible
 * bucket under `BACKUP_S3_PREFIX` (`cairn-backups/` by default), the bucket keeping the newest
 * `BACKUP_KEEP` like the directory does; `cairn restore s3:<file>` fetches one back.
 */

const keyOf = (settings: S3Settings, name: string) => `${settings.prefix ?? ''}${name}`;

/** Uploads a backup (taken into `dir`) and its manifest to the bucket. */
export async function copyBackupToBucket(
  settings: S3Settings,
  dir: string,
  manifest: BackupManifest,
): Promise<void> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3ClientOf(settings);
  try {
    const file = path.join(dir, manifest.file);
    const manifestFile = manifestPathOf(file);
    // The backup first, its manifest last: a manifest in the bucket means its backup is whole.
    for (const [source, type] of [
      [file, 'application/octet-stream'],
      [manifestFile, 'application/json'],
    ] as const) {
      const { size } = await stat(source);
      await client.send(
        new PutObjectCommand({
          Bucket: settings.bucket,
          Key: keyOf(settings, path.basename(source)),
          Body: createReadStream(source),
          ContentLength: size,
          ContentType: type,
        }),
      );
    }
  } finally {
    client.destroy();
  }
}

/** The backups in the bucket (those whose manifest is there), newest first, by file name. */
export async function listBucketBackups(settings: S3Settings): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = await s3ClientOf(settings);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: settings.bucket,
          Prefix: settings.prefix ?? '',
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice((settings.prefix ?? '').length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const names = new Set(keys);
    return keys
      .filter(
        (k) =>
          /^cairn-(embedded|server)-.+\.(dump|tar\.gz)$/.test(k) &&
          names.has(path.basename(manifestPathOf(k))),
      )
      .sort()
      .reverse();
  } finally {
    client.destroy();
  }
}

/** Deletes all but the newest `keep` backups (and their manifests) from the bucket; returns what went. */
export async function pruneBucket(settings: S3Settings, keep: number): Promise<string[]> {
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const old = (await listBucketBackups(settings)).slice(keep);
  if (old.length === 0) return [];
  const client = await s3ClientOf(settings);
  try {
    for (const name of old)
      for (const key of [path.basename(manifestPathOf(name)), name])
        await client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: keyOf(settings, key) }));
  } finally {
    client.destroy();
  }
  return old;
}

/**
 * Downloads a backup and its manifest from the bucket into `dir`.
 * @returns the local path of the backup file
 * @throws when the bucket does not hold it (the SDK's NoSuchKey)
 */
export async function fetchBackupFromBucket(
  settings: S3Settings,
  name: string,
  dir: string,
): Promise<string> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  if (!/^cairn-(embedded|server)-[A-Za-z0-9-]+\.(dump|tar\.gz)$/.test(name))
    throw new Error(`not a backup's file name: ${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const client = await s3ClientOf(settings);
  try {
    const file = path.join(dir, name);
    for (const local of [manifestPathOf(file), file]) {
      const out = await client.send(
        new GetObjectCommand({ Bucket: settings.bucket, Key: keyOf(settings, path.basename(local)) }),
      );
      await pipeline(out.Body as Readable, createWriteStream(local, { mode: 0o600 }));
    }
    return file;
  } finally {
    client.destroy();
  }
}
