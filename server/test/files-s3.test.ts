import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile, postOk, signUp, startTestApp, type TestApp, uploadFile } from './kit/index.js';

// Issue 26: the safe store on an S3-compatible bucket (FILE_STORE=s3), through the official AWS SDK
// client, against an S3 server started here (s3rver, in this process, on loopback).

const BUCKET = 'cairn-files';
let s3: S3rver;
let dir: string;
let endpoint: string;
let t: TestApp;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cairn-s3-'));
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await s3.run();
  endpoint = `http://127.0.0.1:${port}`;
  t = await startTestApp({
    FILE_STORE: 's3',
    FILE_S3_BUCKET: BUCKET,
    FILE_S3_ENDPOINT: endpoint,
    FILE_S3_ACCESS_KEY_ID: 'S3RVER',
    FILE_S3_SECRET_ACCESS_KEY: 'S3RVER',
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('files in an S3-compatible bucket', () => {
  it('stores a checked file in the bucket, serves it through a link, and deletes it from the bucket', async () => {
    const { client, orgId } = await signUp(t, 'Bucket Co');
    const contact = await postOk(client, '/api/v1/contacts', { first_name: 'Bucket' });
    const up = await uploadFile(
      t,
      client,
      { object: 'contact', id: contact.id },
      'report.csv',
      'q,total\n1,100\n',
    );
    expect(up.status, up.text).toBe(201);
    const sdk = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const key = `${orgId}/${up.body.id}`;
    const object = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await object.Body!.transformToString()).toBe('q,total\n1,100\n');
    const down = await downloadFile(t, client, up.body.id);
    expect(down.status).toBe(200);
    expect(down.raw.toString()).toBe('q,total\n1,100\n');
    expect(down.headers['content-disposition']).toMatch(/^attachment; filename="report.csv"/);
    expect((await client.delete(`/api/v1/files/${up.body.id}`)).status).toBe(204);
    await expect(sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toThrow();
  });
});
