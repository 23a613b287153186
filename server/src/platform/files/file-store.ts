import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config, S3Settings } from '../../config.js';

/**
 * Where files that passed every check live (the safe store), behind one small interface with two
 * drivers: a directory under the data directory (default) or an S3-compatible bucket
 * (`FILE_STORE=s3`, through the AWS SDK). Keys are `<org id>/<file id>`. Nothing here is served
 * by path: a file leaves only through the download route.
 */
export type FileStore = {
  kind: 'local' | 's3';
  /** Moves a checked file in (the source is gone afterwards). */
  put(key: string, sourcePath: string, contentType: string): Promise<void>;
  open(key: string): Promise<Readable>;
  remove(key: string): Promise<void>;
};

/** The quarantine: uploads land here, outside any served path, until they pass their checks. */
export const quarantineDir = (config: Config) => path.join(config.dataDir, 'files', 'quarantine');

const stores = new WeakMap<Config, FileStore>();

/** The configured store (one per configuration). */
export function fileStoreOf(config: Config): FileStore {
  let store = stores.get(config);
  if (!store) {
    store =
      config.files.store.kind === 's3'
        ? s3Store(config)
        : localStore(path.join(config.dataDir, 'files', 'store'));
    stores.set(config, store);
  }
  return store;
}

function localStore(root: string): FileStore {
  const fileOf = (key: string) => {
    if (!/^[0-9a-f-]{36}\/[0-9a-f-]{36}$/.test(key)) throw new Error(`not a file key: ${key}`);
    return path.join(root, key);
  };
  return {
    kind: 'local',
    async put(key, sourcePath) {
      const target = fileOf(key);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      try {
        await rename(sourcePath, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        await copyFile(sourcePath, target);
        await rm(sourcePath, { force: true });
      }
    },
    async open(key) {
      const file = fileOf(key);
      await stat(file);
      return createReadStream(file);
    },
    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}

/**
 * The AWS SDK's client for an S3-compatible bucket (AWS, MinIO, Ceph, s3rver...), the SDK loaded
 * on first use (an install that never uses a bucket never loads it).
 */
export async function s3ClientOf(settings: S3Settings): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    // Checksums only where S3 requires them: SDK 3.729+ otherwise sends every upload as
    // aws-chunked with a trailing CRC32, which S3-compatible servers do not all read.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
  });
}

function s3Store(config: Config): FileStore {
  const settings = config.files.store;
  if (settings.kind !== 's3') throw new Error('not an s3 store');
  const client = s3ClientOf(settings);
  const sdk = () => import('@aws-sdk/client-s3');
  return {
    kind: 's3',
    async put(key, sourcePath, contentType) {
      const { PutObjectCommand } = await sdk();
      const { size } = await stat(sourcePath);
      await (await client).send(
        new PutObjectCommand({
          Bucket: settings.bucket,
          Key: key,
          Body: createReadStream(sourcePath),
          ContentLength: size,
          ContentType: contentType,
        }),
      );
      await rm(sourcePath, { force: true });
    },
    async open(key) {
      const { GetObjectCommand } = await sdk();
      const out = await (await client).send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }));
      return out.Body as Readable;
    },
    async remove(key) {
      const { DeleteObjectCommand } = await sdk();
      await (await client).send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: key }));
    },
  };
}

/** An upload received into quarantine. */
export type Received = { path: string; size: number; sha256: string; truncated: boolean };

/**
 * Streams an upload to a new file in the quarantine directory (mode 0600), hashing it on the way:
 * memory stays flat whatever the size. `isTruncated` reports whether the multipart reader cut the
 * file at its size limit (the caller then refuses it with 413 and removes it).
 */
export async function receiveToQuarantine(
  config: Config,
  id: string,
  stream: Readable,
  isTruncated: () => boolean,
): Promise<Received> {
  const dir = quarantineDir(config);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, id);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(stream, tap, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { path: file, size, sha256: hash.digest('hex'), truncated: isTruncated() };
}
