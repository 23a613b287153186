import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  readShared,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

/**
 * Encodings and bytes: a file saved as Windows-1252 / Latin-1 or UTF-16 is decoded, never stored
 * as U+FFFD; a control character is a cell problem; what is not text is refused and not kept.
 * The real files are re-encoded here (a format conversion, as a spreadsheet's "Save as" does).
 */
let t: TestApp;
let admin: { client: Client; orgId: string };
const customers = readShared('crm/datablist-samples/customers-100.csv').toString('utf8');
const salesforce = readShared('crm/salesforce-trailhead-lwc-recipes/Accounts-Contacts.csv')
  .toString('utf8')
  .replace(/^\uFEFF/, '');

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Encodings Inc');
}, 120_000);
afterAll(() => t?.close());

const importDir = () => path.join(t.services.config.dataDir, 'imports', admin.orgId);
const filesKept = () => (existsSync(importDir()) ? readdirSync(importDir()).length : 0);

/** `text` as Windows-1252 bytes (every character of it is in that code page). */
const windows1252 = (text: string) => Buffer.from(latin(text));
function latin(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code > 0xff) throw new Error(`not in Latin-1: ${ch}`);
    out.push(code);
  }
  return out;
}
const utf16 = (text: string, endian: 'le' | 'be') => {
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  return endian === 'le' ? le : le.swap16();
};

describe('encodings', () => {
  it('reads a Latin-1 / Windows-1252 file: accents kept, no U+FFFD', async () => {
    const accented = customers
      .replace(',Sheryl,Baxter,', ',José,Muñoz,')
      .replace(',Preston,Lozano,', ',Zoë,Größe,');
    const up = await uploadCsv(t, admin.client, 'contact', 'customers-latin1.csv', windows1252(accented));
    expect(up.status, up.text).toBe(201);
    expect(up.body.progress.total_rows).toBe(100);
    const preview = (await admin.client.get(`/api/v1/imports/${up.body.id}/preview?limit=2`)).body;
    expect(preview.rows.map((r: { values: { first_name: string; last_name: string } }) => r.values)).toEqual([
      expect.objectContaining({ first_name: 'José', last_name: 'Muñoz' }),
      expect.objectContaining({ first_name: 'Zoë', last_name: 'Größe' }),
    ]);
    expect(JSON.stringify(preview)).not.toContain('\uFFFD');
    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 100, failed: 0 });
    const jose = await admin.client.get('/api/v1/contacts?q=zunigavanessa@smith.info');
    expect(jose.body.data[0]).toMatchObject({ first_name: 'José', last_name: 'Muñoz' });
  });

  it('reads the Salesforce export saved as UTF-16 (both byte orders) as its UTF-8 original', async () => {
    const original = await uploadCsv(t, admin.client, 'contact', 'sf.csv', salesforce);
    expect(original.status, original.text).toBe(201);
    const detail = async (id: string) => {
      const d = (await admin.client.get(`/api/v1/imports/${id}`)).body;
      return {
        headers: d.headers,
        total_rows: d.progress.total_rows,
        sample_rows: d.sample_rows,
      };
    };
    const expected = await detail(original.body.id);
    expect(expected.headers[0]).toBe('Account: Account Name');
    for (const endian of ['le', 'be'] as const) {
      const up = await uploadCsv(
        t,
        admin.client,
        'contact',
        `sf-utf16${endian}.csv`,
        utf16(salesforce, endian),
      );
      expect(up.status, up.text).toBe(201);
      expect(await detail(up.body.id)).toEqual(expected);
    }
  });

  it('refuses what is not text with a 415 and keeps none of its bytes', async () => {
    const before = filesKept();
    for (const file of [
      'security/payloadsallthethings/upload-samples/Picture Compression/PNG_32x32_resize_bypass_use_LFI.png',
      'security/payloadsallthethings/upload-samples/Picture Compression/GIF_exploit.gif',
      'security/payloadsallthethings/upload-samples/Picture Compression/JPG_exploit-55.jpg',
    ]) {
      const up = await uploadCsv(t, admin.client, 'contact', path.basename(file), readShared(file));
      expect(up.status, up.text).toBe(415);
      expect(up.body).toMatchObject({ code: 'unsupported_media_type', errors: [{ path: 'body.file' }] });
    }
    expect(filesKept()).toBe(before);
  });

  it('reads an ASCII file whose first Latin-1 byte comes late as Windows-1252', async () => {
    const big = readShared('crm/datablist-samples/customers-1000.csv');
    const late = Buffer.concat([big, Buffer.from(latin('1001,LATE1,José,Muñoz,,,,,,late@example.com,,\n'))]);
    const up = await uploadCsv(t, admin.client, 'contact', 'customers-late-latin1.csv', late);
    expect(up.status, up.text).toBe(201);
    expect(up.body.progress.total_rows).toBe(1001);
    const all = await admin.client.get(`/api/v1/imports/${up.body.id}/preview?limit=200`);
    expect(all.text).not.toContain('\uFFFD');
  });

  it('refuses a file that is UTF-8 at first and Latin-1 later, and keeps nothing', async () => {
    const before = filesKept();
    const big = readShared('crm/datablist-samples/customers-1000.csv')
      .toString('utf8')
      .replace(',Sheryl,Delgado,', ',Sheryl,Délgado,');
    const broken = Buffer.concat([
      Buffer.from(big, 'utf8'),
      Buffer.from(latin('1001,X,José,Muñoz,,,,,,,,\n')),
    ]);
    const up = await uploadCsv(t, admin.client, 'contact', 'customers-broken.csv', broken);
    expect(up.status, up.text).toBe(400);
    expect(up.body).toMatchObject({ code: 'invalid_encoding', errors: [{ path: 'body.file' }] });
    expect(filesKept()).toBe(before);
  });

  it('a control character in a cell is a problem on that row: removed, the row imported', async () => {
    const dirty = customers.replace(',Sheryl,Baxter,', ',Sher\u0007yl,Bax\u000Bter,');
    const up = await uploadCsv(t, admin.client, 'contact', 'customers-bell.csv', dirty);
    await admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup: 'overwrite' });
    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id);
    expect(done.status).toBe('completed');
    expect(done.progress.failed).toBe(0);
    const rows = (await admin.client.get(`/api/v1/imports/${up.body.id}/rows?problem=control_character`)).body
      .data;
    expect(rows.map((r: { row_number: number }) => r.row_number)).toEqual([1]);
    expect(rows[0].problems.filter((p: { code: string }) => p.code === 'control_character')).toEqual([
      expect.objectContaining({ column: 'First Name', value: 'Sher\\x07yl' }),
      expect.objectContaining({ column: 'Last Name', value: 'Bax\\x0bter' }),
    ]);
    const contact = (await admin.client.get(`/api/v1/contacts/${rows[0].record_id}`)).body;
    expect([contact.first_name, contact.last_name]).toEqual(['Sheryl', 'Baxter']);
  });
});
