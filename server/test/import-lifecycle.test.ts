import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp, uploadCsv, waitForImport } from './kit/index.js';

/** An import cancelled before it runs, and saved mappings: listed, read, applied, deleted. */
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
beforeAll(async () => {
  // Jobs run when the test drains the queue: until then a started import stays queued.
  t = await startTestApp();
  admin = await signUp(t, 'Imports Co');
});
afterAll(() => t?.close());

const contactNames = async (q: string) =>
  (await admin.client.get(`/api/v1/contacts?q=${q}&fields=first_name&sort=first_name:asc`)).body.data.map(
    (c: { first_name: string }) => c.first_name,
  );

describe('cancelling an import', () => {
  it('a queued import cancelled imports nothing; started again, it runs to the end', async () => {
    const up = await uploadCsv(t, admin.client, 'contact', 'later.csv', 'First Name\nCancelada\nCancelado\n');
    expect((await admin.client.post(`/api/v1/imports/${up.body.id}/start`)).body.status).toBe('queued');
    const cancelled = await admin.client.post(`/api/v1/imports/${up.body.id}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    // Its job, run now, finds it cancelled and imports nothing.
    await t.drain();
    expect((await admin.client.get(`/api/v1/imports/${up.body.id}`)).body.status).toBe('cancelled');
    expect(await contactNames('Cancelad')).toEqual([]);
    const again = await admin.client.post(`/api/v1/imports/${up.body.id}/cancel`);
    expect(again.status).toBe(409);
    expect((await admin.client.post(`/api/v1/imports/${up.body.id}/start`)).status).toBe(200);
    expect((await waitForImport(t, admin.client, up.body.id, 60_000)).status).toBe('completed');
    expect(await contactNames('Cancelad')).toEqual(['Cancelada', 'Cancelado']);
  });
});

describe('saved import mappings', () => {
  it('a saved mapping is listed and read back with its columns', async () => {
    const up = await uploadCsv(t, admin.client, 'contact', 'people.csv', 'Given,Mail\nIda,ida@example.com\n');
    await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      mapping: [
        { index: 0, target: 'first_name' },
        { index: 1, target: 'email' },
      ],
    });
    const saved = await admin.client.post('/api/v1/import-mappings', {
      name: 'People',
      import_id: up.body.id,
    });
    expect(saved.status, saved.text).toBe(201);
    const list = await admin.client.get('/api/v1/import-mappings?object=contact');
    expect(list.status, list.text).toBe(200);
    expect(list.body.data.map((m: { name: string }) => m.name)).toContain('People');
    const read = await admin.client.get(`/api/v1/import-mappings/${saved.body.id}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toMatchObject({ name: 'People', object: 'contact' });
    expect(Object.values(read.body.columns).sort()).toEqual(['email', 'first_name']);
  });

  it('applying a saved mapping to a draft maps its columns by header', async () => {
    const saved = await admin.client.post('/api/v1/import-mappings', {
      name: 'By header',
      object: 'contact',
      columns: { 'given name': 'first_name', 'e-mail address': 'email' },
    });
    expect(saved.status, saved.text).toBe(201);
    const up = await uploadCsv(
      t,
      admin.client,
      'contact',
      'other.csv',
      'E-mail Address,Given Name\njo@example.com,Jo\n',
    );
    const applied = await admin.client.patch(`/api/v1/imports/${up.body.id}`, { mapping_id: saved.body.id });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.mapping.map((m: { target: string }) => m.target)).toEqual(['email', 'first_name']);
  });

  it('a deleted mapping is gone from the list and cannot be read', async () => {
    const saved = await admin.client.post('/api/v1/import-mappings', {
      name: 'Throwaway',
      object: 'company',
      columns: { name: 'name' },
    });
    const res = await admin.client.delete(`/api/v1/import-mappings/${saved.body.id}`);
    expect(res.status, res.text).toBe(204);
    expect((await admin.client.get(`/api/v1/import-mappings/${saved.body.id}`)).status).toBe(404);
    const names = (await admin.client.get('/api/v1/import-mappings')).body.data.map(
      (m: { name: string }) => m.name,
    );
    expect(names).not.toContain('Throwaway');
  });
});
