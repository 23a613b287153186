import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, signUp, startTestApp, type TestApp } from './harness.js';
import { uploadCsv, waitForImport } from './kit/index.js';

let t: TestApp;
let admin: { client: Client; orgId: string };

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Rule keepers');
});
afterAll(() => t?.close());

describe('one rule per value: the import reads a value as the API does', () => {
  const refusedByTheApi = ['a..b@x.com', 'ada!#@x.com', '.ada@x.com', 'ada.@x.com', 'ada@x'];

  it('refuses in a file every e-mail the contacts API refuses, and keeps the ones it accepts', async () => {
    for (const email of refusedByTheApi) {
      const res = await admin.client.post('/api/v1/contacts', { emails: [{ value: email }] });
      expect(res.status, email).toBe(400);
      expect(res.body.errors[0].path).toBe('body.emails[0].value');
    }
    const accepted = ["O'Brien+crm@Example.co.uk", 'first.last@mail.example.com'];
    const csv = `First Name,Email\n${[...refusedByTheApi, ...accepted].map((e, i) => `P${i},${e}`).join('\n')}\n`;
    const up = await uploadCsv(t, admin.client, 'contact', 'emails.csv', csv);
    expect(up.status, up.text).toBe(201);
    const preview = await admin.client.get(`/api/v1/imports/${up.body.id}/preview`);
    const rows = preview.body.rows as { values: { email?: string[] }; problems: { code: string }[] }[];
    expect(rows.slice(0, refusedByTheApi.length).map((r) => r.problems.map((p) => p.code))).toEqual(
      refusedByTheApi.map(() => ['invalid_email']),
    );
    expect(rows.slice(refusedByTheApi.length).map((r) => r.values.email)).toEqual([
      ["o'brien+crm@example.co.uk"],
      ['first.last@mail.example.com'],
    ]);
    for (const email of accepted) {
      const res = await admin.client.post('/api/v1/contacts', { emails: [{ value: email }] });
      expect(res.status, email).toBe(201);
      expect(res.body.email).toBe(email.toLowerCase());
    }
  });

  it("reads numbers without a country code in the import's phone_region (GB: 07700 900123 is +447700900123)", async () => {
    const csv = 'First Name,Phone\nHarriet,07700 900123\nIan,+1 212 555 0100\n';
    const up = await uploadCsv(t, admin.client, 'contact', 'uk-contacts.csv', csv);
    expect(up.status, up.text).toBe(201);
    const bad = await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      options: { phone_region: 'XX' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('body.options.phone_region');
    const set = await admin.client.patch(`/api/v1/imports/${up.body.id}`, {
      options: { phone_region: 'gb' },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.options.phone_region).toBe('GB');

    const preview = await admin.client.get(`/api/v1/imports/${up.body.id}/preview`);
    expect(preview.body.rows[0].problems).toEqual([]);
    expect(preview.body.rows[0].values.phone).toEqual([{ e164: '+447700900123', raw: '07700 900123' }]);

    await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(t, admin.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 2, failed: 0 });
    const harriet = await admin.client.get('/api/v1/contacts?q=Harriet');
    expect(harriet.body.data[0].phone).toBe('+447700900123');
    const ian = await admin.client.get('/api/v1/contacts?q=Ian');
    expect(ian.body.data[0].phone).toBe('+12125550100');
  });

  it('reads numbers without a country code as US when the import names no region', async () => {
    const csv = 'First Name,Phone\nJune,07700 900123\nKay,(212) 555-0101\n';
    const up = await uploadCsv(t, admin.client, 'contact', 'us-contacts.csv', csv);
    const preview = await admin.client.get(`/api/v1/imports/${up.body.id}/preview`);
    expect(preview.body.rows[0].problems.map((p: { code: string }) => p.code)).toEqual(['invalid_phone']);
    expect(preview.body.rows[1].values.phone).toEqual([{ e164: '+12125550101', raw: '(212) 555-0101' }]);
  });
});

describe('one display name: a contact is named alike everywhere', () => {
  it('names a contact with only a phone by its phone on its opportunity and the board', async () => {
    const contact = await admin.client.post('/api/v1/contacts', { phones: [{ number: '+1 212 555 0199' }] });
    expect(contact.status, contact.text).toBe(201);
    const deal = await admin.client.post('/api/v1/opportunities', {
      title: 'Phone-only deal',
      contact_id: contact.body.id,
    });
    expect(deal.status, deal.text).toBe(201);
    expect(deal.body.contact).toEqual({ id: contact.body.id, name: '+12125550199' });
    const read = await admin.client.get(`/api/v1/opportunities/${deal.body.id}`);
    expect(read.body.contact.name).toBe('+12125550199');
    const board = await admin.client.get(`/api/v1/pipelines/${deal.body.pipeline_id}/board`);
    const card = board.body.columns
      .flatMap((c: { cards: { id: string }[] }) => c.cards)
      .find((c: { id: string }) => c.id === deal.body.id);
    expect(card.contact).toEqual({ id: contact.body.id, name: '+12125550199' });
  });
});
