import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, signUp, useOrganization } from './kit/index.js';

// Logging activity on a record (issue 20): calls, meetings and e-mails sent outside Cairn, with
// the time they happened, on the record and its related records' timelines; notes and mentions.
const org = useOrganization('Activity Co');
type Member = Awaited<ReturnType<typeof addMember>>;
let user: Member;
let contactId: string;
let companyId: string;

beforeAll(async () => {
  user = await addMember(org.t, org.admin.client, 'user');
  companyId = (await org.admin.client.post('/api/v1/companies', { name: 'Acme Rockets' })).body.id;
  contactId = (
    await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Grace',
      last_name: 'Hopper',
      companies: [{ id: companyId, primary: true }],
    })
  ).body.id;
});

const timeline = async (collection: string, id: string) =>
  (await org.admin.client.get(`/api/v1/${collection}/${id}/timeline`)).body.data.map(
    (e: { description: string }) => e.description,
  );

describe('logging a call, a meeting, an e-mail', () => {
  it('logs a call with its outcome, length and time on the contact and its company, in plain words', async () => {
    const at = '2026-03-02T14:30:00.000Z';
    const res = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'call',
      outcome: 'connected',
      duration_minutes: 15,
      occurred_at: at,
      body: '<p>Talked pricing</p>',
      related: [{ object: 'company', id: companyId }],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'call',
      outcome: 'connected',
      duration_minutes: 15,
      occurred_at: at,
      related: [{ object: 'company', id: companyId }],
      body_text: 'Talked pricing',
    });
    const words = 'A user logged a call with Grace Hopper (connected, 15 min): Talked pricing';
    expect((await timeline('contacts', contactId))[0]).toBe(words);
    expect((await timeline('companies', companyId))[0]).toBe(words);
    const home = (await org.admin.client.get('/api/v1/home')).body;
    expect(home.activity[0].description).toBe(words);
  });

  it('logs a meeting and an e-mail without text, at now by default', async () => {
    const before = Date.now();
    const meeting = await user.client.post('/api/v1/notes', {
      object: 'company',
      id: companyId,
      kind: 'meeting',
      duration_minutes: 45,
    });
    expect(meeting.status).toBe(201);
    expect(meeting.body.body_text).toBe('');
    expect(Date.parse(meeting.body.occurred_at)).toBeGreaterThanOrEqual(before - 1000);
    const email = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'email',
    });
    expect(email.status).toBe(201);
    expect((await timeline('contacts', contactId))[0]).toBe('A user logged an e-mail to Grace Hopper');
    expect((await timeline('companies', companyId))[0]).toBe(
      'A user logged a meeting with Acme Rockets (45 min)',
    );
  });

  it('refuses what does not fit the kind, naming the field', async () => {
    const outcome = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'meeting',
      outcome: 'busy',
    });
    expect(outcome.status).toBe(400);
    expect(outcome.body).toMatchObject({ code: 'invalid_for_kind', path: 'body.outcome' });
    const duration = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'email',
      duration_minutes: 3,
    });
    expect(duration.body).toMatchObject({ code: 'invalid_for_kind', path: 'body.duration_minutes' });
    const empty = await user.client.post('/api/v1/notes', { object: 'contact', id: contactId });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'empty_note', path: 'body.body' });
    const badTime = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'call',
      occurred_at: 'yesterday',
    });
    expect(badTime.status).toBe(400);
    expect(JSON.stringify(badTime.body)).toContain('body.occurred_at');
  });

  it("refuses another organization's record as a related record (422 naming it)", async () => {
    const other = await signUp(org.t, 'Elsewhere');
    const theirs = (await other.client.post('/api/v1/companies', { name: 'Secret' })).body.id;
    const res = await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      kind: 'call',
      related: [{ object: 'company', id: theirs }],
    });
    expect(res.status).toBe(422);
    expect(res.body.path).toBe('body.related[0].id');
  });
});

describe('notes', () => {
  it('are edited by their author only and deleted by the author or an admin', async () => {
    const note = (
      await user.client.post('/api/v1/notes', { object: 'contact', id: contactId, body: '<p>First</p>' })
    ).body;
    const edited = await user.client.patch(`/api/v1/notes/${note.id}`, { body: '<p>Second</p>' });
    expect(edited.body.body_text).toBe('Second');
    expect((await org.admin.client.patch(`/api/v1/notes/${note.id}`, { body: '<p>No</p>' })).status).toBe(
      403,
    );
    expect((await user.client.delete(`/api/v1/notes/${note.id}`)).status).toBeLessThan(300);
    expect((await user.client.get(`/api/v1/notes/${note.id}`)).status).toBe(404);
  });

  it('notify the member an @mention names', async () => {
    await org.admin.client.post('/api/v1/notes', {
      object: 'contact',
      id: contactId,
      body: `<p>Over to you <span data-mention="${user.userId}">@A user</span></p>`,
    });
    await org.t.drain();
    const mine = (await user.client.get('/api/v1/notifications')).body.data;
    expect(mine.some((n: { kind: string }) => n.kind === 'mention')).toBe(true);
  });
});

describe('job title', () => {
  it('is a standard contact field: set on create, changed, listed and in the timeline', async () => {
    const made = await user.client.post('/api/v1/contacts', {
      first_name: 'Katherine',
      job_title: 'Head of Sales',
    });
    expect(made.status).toBe(201);
    expect(made.body.job_title).toBe('Head of Sales');
    const changed = await user.client.patch(`/api/v1/contacts/${made.body.id}`, { job_title: 'CEO' });
    expect(changed.body.job_title).toBe('CEO');
    const listed = await user.client.post('/api/v1/contacts/query', {
      filter: { field: 'job_title', op: 'eq', value: 'CEO' },
      fields: ['id', 'job_title'],
    });
    expect(listed.body.data).toEqual([{ id: made.body.id, job_title: 'CEO' }]);
    const fields = (await user.client.get('/api/v1/objects/contact')).body.fields.map(
      (f: { key: string }) => f.key,
    );
    expect(fields).toContain('job_title');
    expect((await timeline('contacts', made.body.id))[0]).toBe(
      'A user changed the job title of contact Katherine',
    );
  });
});
