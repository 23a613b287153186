import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, readShared, signUp, startTestApp, type TestApp, uniqueEmail } from './kit/index.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Contacts Co');
});
afterAll(() => t?.close());

describe('contacts', () => {
  it('creates a contact with e-mails, phones normalized to E.164 (input kept), tags and an owner', async () => {
    const email = uniqueEmail('grace');
    const res = await admin.client.post('/api/v1/contacts', {
      first_name: 'Grace',
      last_name: 'Hopper',
      emails: [{ value: 'other@example.com' }, { value: email.toUpperCase(), primary: true }],
      phones: [{ number: '(240) 452-2332 x4601' }, { number: '+44 20 7946 0958', label: 'office' }],
      tags: ['VIP', 'navy'],
      owner_id: admin.userId,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      first_name: 'Grace',
      email,
      phone: '+12404522332;ext=4601',
      tags: ['vip', 'navy'],
      owner_id: admin.userId,
      source: 'manual',
      created_by: admin.userId,
      archived_at: null,
    });
    expect(res.body.phones[1]).toEqual({
      e164: '+442079460958',
      raw: '+44 20 7946 0958',
      primary: false,
      label: 'office',
    });
    const read = await admin.client.get(`/api/v1/contacts/${res.body.id}`);
    expect(read.body).toEqual(res.body);
  });

  it('keeps an e-mail unique among active contacts, case-insensitively', async () => {
    const email = uniqueEmail('dup');
    const first = await admin.client.post('/api/v1/contacts', { emails: [{ value: email }] });
    const second = await admin.client.post('/api/v1/contacts', {
      first_name: 'Dup',
      emails: [{ value: email.toUpperCase() }],
    });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'duplicate_email', path: 'body.emails[0].value' });
    // Archiving frees the address; restoring the first then conflicts.
    expect(
      (await admin.client.post(`/api/v1/contacts/${first.body.id}/archive`)).body.archived_at,
    ).not.toBeNull();
    const third = await admin.client.post('/api/v1/contacts', { emails: [{ value: email }] });
    expect(third.status).toBe(201);
    const restore = await admin.client.post(`/api/v1/contacts/${first.body.id}/restore`);
    expect(restore.status).toBe(409);
  });

  it('refuses bad input with the field path, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [{ emails: [{ value: 'not an email' }] }, 'body.emails[0].value'],
      [{ first_name: 'X', phones: [{ number: '-2237' }] }, 'body.phones[0].number'],
      [{ first_name: 'x'.repeat(101) }, 'body.first_name'],
      [{ first_name: 'X', is_vip: true }, 'body.is_vip'],
      [{ first_name: 'X', owner_id: '00000000-0000-4000-8000-000000000000' }, 'body.owner_id'],
      [
        { first_name: 'X', companies: [{ id: '00000000-0000-4000-8000-000000000000' }] },
        'body.companies[0].id',
      ],
      [{ first_name: 'X', custom: { nope: 1 } }, 'body.custom.nope'],
      [{}, 'body.first_name'],
    ];
    for (const [body, path] of cases) {
      const res = await admin.client.post('/api/v1/contacts', body);
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.path, JSON.stringify(body)).toBe(path);
    }
  });

  it('stores hostile strings as given and returns them as given (never executed, never a 500)', async () => {
    const lines = (file: string) =>
      readShared(file)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() && l.length <= 100);
    const payloads = [
      ...lines('security/blns/blns.txt')
        .filter((l) => !l.startsWith('#'))
        .slice(0, 40),
      ...lines('security/payloadsallthethings/xss/xss_alert.txt').slice(0, 15),
      ...lines('security/payloadsallthethings/sqli/Generic_Fuzz.txt').slice(0, 15),
    ];
    for (const value of payloads) {
      const res = await admin.client.post('/api/v1/contacts', { first_name: value, notes: value });
      expect(res.status, value).toBe(201);
      expect(res.body.first_name).toBe(value.trim());
      expect(res.body.notes).toBe(value);
    }
  });

  it('updates given fields only, and the timeline says who changed what', async () => {
    const created = await admin.client.post('/api/v1/contacts', {
      first_name: 'Ada',
      last_name: 'Lovelace',
      tags: ['math'],
    });
    const user = await addMember(t, admin.client, 'user');
    const updated = await user.client.patch(`/api/v1/contacts/${created.body.id}`, {
      last_name: 'King',
      tags: ['math', 'poetry'],
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      first_name: 'Ada',
      last_name: 'King',
      tags: ['math', 'poetry'],
      updated_by: user.userId,
    });
    const timeline = await admin.client.get(`/api/v1/contacts/${created.body.id}/timeline`);
    expect(timeline.status).toBe(200);
    const [latest, first] = timeline.body.data;
    expect(latest.type).toBe('contact.updated');
    expect(latest.actor).toMatchObject({ type: 'user', id: user.userId, name: 'A user' });
    expect(latest.description).toBe('A user changed the last name and tags of contact Ada King');
    expect(latest.data.changes.last_name).toEqual({ before: 'Lovelace', after: 'King' });
    expect(first.description).toBe('Ada Admin created contact Ada Lovelace');
  });

  it('a viewer reads contacts but cannot create, change or archive them', async () => {
    const created = await admin.client.post('/api/v1/contacts', { first_name: 'Viewed' });
    const viewer = await addMember(t, admin.client, 'viewer');
    expect((await viewer.client.get(`/api/v1/contacts/${created.body.id}`)).status).toBe(200);
    expect((await viewer.client.post('/api/v1/contacts', { first_name: 'No' })).status).toBe(403);
    expect(
      (await viewer.client.patch(`/api/v1/contacts/${created.body.id}`, { first_name: 'No' })).status,
    ).toBe(403);
    expect((await viewer.client.post(`/api/v1/contacts/${created.body.id}/archive`)).status).toBe(403);
    expect((await admin.client.get(`/api/v1/contacts/${created.body.id}`)).body.first_name).toBe('Viewed');
  });

  it('only admins delete for good; the deletion stays in the audit trail', async () => {
    const created = await admin.client.post('/api/v1/contacts', { first_name: 'Gone' });
    const user = await addMember(t, admin.client, 'user');
    expect((await user.client.delete(`/api/v1/contacts/${created.body.id}`)).status).toBe(403);
    expect((await admin.client.delete(`/api/v1/contacts/${created.body.id}`)).status).toBe(204);
    expect((await admin.client.get(`/api/v1/contacts/${created.body.id}`)).status).toBe(404);
    const { rows } = await t.services.database.raw.query<{ type: string }>(
      'select type from events where subject_id = $1 order by occurred_at',
      [created.body.id],
    );
    expect(rows.map((r) => r.type)).toEqual(['contact.created', 'contact.deleted']);
  });
});
