import { existsSync } from 'node:fs';
import path from 'node:path';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { addMember, postOk, uploadFile, useOrganization } from './kit/index.js';

// Issue 26: the GDPR tools. An admin exports everything held about a contact as a ZIP, erases a
// contact (their notes, tasks, files and the traces in other records' history go; a tombstone
// without personal data stays), and sets retention rules that a daily job applies.

const org = useOrganization('Privacy Co');

async function person(first: string, last: string, email: string) {
  const c = org.admin.client;
  const company = await postOk(c, '/api/v1/companies', {
    name: `Employer ${Math.random().toString(36).slice(2, 8)}`,
  });
  const contact = await postOk(c, '/api/v1/contacts', {
    first_name: first,
    last_name: last,
    emails: [{ value: email }],
    phones: [{ number: '+44 20 7946 0958' }],
    companies: [{ id: company.id }],
  });
  await postOk(c, '/api/v1/notes', {
    object: 'contact',
    id: contact.id,
    body: `<p>${first} prefers calls</p>`,
  });
  await postOk(c, '/api/v1/tasks', {
    title: `Call ${first} ${last}`,
    link: { object: 'contact', id: contact.id },
  });
  const file = await uploadFile(
    org.t,
    c,
    { object: 'contact', id: contact.id },
    'passport.txt',
    `${first} ${last} passport\n`,
  );
  expect(file.status, file.text).toBe(201);
  return { contact, company, fileId: file.body.id as string };
}

async function download(url: string) {
  const res = await org.t.app.inject({
    method: 'GET',
    url,
    headers: { cookie: org.admin.client.cookieHeader },
  });
  return res;
}

describe('subject access export', () => {
  it('hands an admin everything about a contact as a ZIP, and audits it', async () => {
    const { contact } = await person('Grace', 'Hopper', 'grace@navy.example');
    const res = await download(`/api/v1/contacts/${contact.id}/personal-data`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="personal-data-Grace-Hopper-/);
    const zip = await JSZip.loadAsync(res.rawPayload);
    const names = Object.keys(zip.files);
    expect(names).toEqual(
      expect.arrayContaining([
        'README.txt',
        'contact.json',
        'notes.json',
        'tasks.json',
        'files.json',
        'events.json',
        'consent.json',
      ]),
    );
    const read = async (name: string) => JSON.parse(await zip.file(name)!.async('string'));
    expect((await read('contact.json')).emails[0].value).toBe('grace@navy.example');
    expect((await read('notes.json'))[0].body_text).toBe('Grace prefers calls');
    expect((await read('tasks.json'))[0].title).toBe('Call Grace Hopper');
    const files = await read('files.json');
    expect(files[0]).toMatchObject({ name: 'passport.txt', status: 'stored' });
    expect(await zip.file(files[0].in_archive)!.async('string')).toBe('Grace Hopper passport\n');
    const events = await read('events.json');
    expect(events.map((e: { description: string }) => e.description)).toContain(
      'Ada Admin created contact Grace Hopper',
    );
    const audit = await org.admin.client.get('/api/v1/audit?action=personal_data.exported');
    expect(audit.body.data[0]).toMatchObject({
      action: 'personal_data.exported',
      target: { type: 'contact', id: contact.id },
    });
  });

  it('is refused to a member without the right, and is a 404 for an unknown contact', async () => {
    const { contact } = await person('Alan', 'Turing', 'alan@bletchley.example');
    const user = await addMember(org.t, org.admin.client, 'user');
    expect((await user.client.get(`/api/v1/contacts/${contact.id}/personal-data`)).status).toBe(403);
    expect(
      (await download('/api/v1/contacts/00000000-0000-4000-8000-00000000beef/personal-data')).statusCode,
    ).toBe(404);
  });
});

describe('erasure', () => {
  it('removes the contact, their notes, tasks and files, scrubs their traces, and leaves a tombstone', async () => {
    const c = org.admin.client;
    const { contact, company, fileId } = await person('Ada', 'Lovelace', 'ada@engine.example');
    const before = JSON.stringify((await c.get(`/api/v1/companies/${company.id}/timeline?limit=200`)).body);
    expect(before).toContain('Lovelace');
    expect((await c.post(`/api/v1/contacts/${contact.id}/erase`, {})).status).toBe(400); // no confirmation
    const erased = await c.post(`/api/v1/contacts/${contact.id}/erase`, { confirm: true });
    expect(erased.status, erased.text).toBe(200);
    expect(erased.body).toMatchObject({ erased: true, removed: { notes: 1, tasks: 1, files: 1 } });
    expect(erased.body.removed.events_scrubbed).toBeGreaterThan(3);
    expect((await c.get(`/api/v1/contacts/${contact.id}`)).status).toBe(404);
    expect((await c.get(`/api/v1/files/${fileId}`)).status).toBe(404);
    const stored = path.join(org.t.services.config.dataDir, 'files', 'store', org.admin.orgId, fileId);
    expect(existsSync(stored)).toBe(false);
    const after = JSON.stringify((await c.get(`/api/v1/companies/${company.id}/timeline?limit=200`)).body);
    for (const trace of ['Lovelace', 'ada@engine.example', '7946']) expect(after).not.toContain(trace);
    // The whole history of the organization holds nothing of her, but the tombstone says what went.
    const { rows } = await org.t.services.database.raw.query<{ type: string; data: unknown }>(
      `select type, data from events where org_id = $1`,
      [org.admin.orgId],
    );
    const history = JSON.stringify(rows);
    for (const trace of ['Lovelace', 'ada@engine.example', 'Ada prefers calls'])
      expect(history).not.toContain(trace);
    const tombstone = rows.find((r) => r.type === 'contact.erased')!;
    expect(tombstone.data).toEqual({ removed: erased.body.removed });
    const audit = await c.get('/api/v1/audit?action=personal_data.erased');
    expect(audit.body.data[0]).toMatchObject({ target: { type: 'contact', id: contact.id } });
    expect(JSON.stringify(audit.body.data[0])).not.toContain('Lovelace');
  });

  it('is refused without the right and changes nothing', async () => {
    const { contact } = await person('Katherine', 'Johnson', 'kj@nasa.example');
    const user = await addMember(org.t, org.admin.client, 'user');
    const res = await user.client.post(`/api/v1/contacts/${contact.id}/erase`, { confirm: true });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect((await org.admin.client.get(`/api/v1/contacts/${contact.id}`)).status).toBe(200);
  });
});

describe('retention rules', () => {
  const age = async (table: string, id: string, months: number) =>
    org.t.services.database.raw.query(
      `update ${table} set updated_at = now() - make_interval(months => $2) where id = $1`,
      [id, months],
    );

  it('archives records unchanged for N months, and erases contacts when the rule says so', async () => {
    const c = org.admin.client;
    const old = await postOk(c, '/api/v1/companies', { name: 'Dormant Ltd' });
    const fresh = await postOk(c, '/api/v1/companies', { name: 'Busy Ltd' });
    await age('companies', old.id, 25);
    const rule = await c.put('/api/v1/retention-rules/company', { action: 'archive', after_months: 24 });
    expect(rule.status, rule.text).toBe(200);
    expect(rule.body).toMatchObject({
      object: 'company',
      action: 'archive',
      after_months: 24,
      last_run_at: null,
    });
    expect((await org.t.queued('gdpr.retention')).length).toBe(1); // the daily job is armed
    const run = await c.post('/api/v1/retention-rules/run');
    expect(run.status, run.text).toBe(200);
    expect(run.body.rules).toContainEqual({ object: 'company', action: 'archive', records: 1 });
    expect((await c.get(`/api/v1/companies/${old.id}`)).body.archived_at).not.toBeNull();
    expect((await c.get(`/api/v1/companies/${fresh.id}`)).body.archived_at).toBeNull();

    const { contact } = await person('Old', 'Lead', 'old.lead@example.com');
    await age('contacts', contact.id, 40);
    expect(
      (await c.put('/api/v1/retention-rules/contact', { action: 'erase', after_months: 36 })).status,
    ).toBe(200);
    // The scheduled job (as pg-boss would start it when its time came) applies the rules.
    await org.t.services.jobs.send(null, 'gdpr.retention', {
      org_id: org.admin.orgId,
      not_before: Date.now() - 1,
    });
    await org.t.drain();
    expect((await c.get(`/api/v1/contacts/${contact.id}`)).status).toBe(404);
    const rules = (await c.get('/api/v1/retention-rules')).body.data;
    expect(rules.map((r: { object: string }) => r.object)).toEqual(['company', 'contact']);
    expect(rules.every((r: { last_run_at: string | null }) => r.last_run_at)).toBe(true);
    const audit = await c.get('/api/v1/audit?action=retention.applied');
    expect(audit.body.data.length).toBeGreaterThanOrEqual(2);
    expect((await c.delete('/api/v1/retention-rules/contact')).status).toBe(204);
    expect((await c.delete('/api/v1/retention-rules/contact')).status).toBe(404);
  });

  it('refuses erase for anything but contacts, and an object the organization does not have', async () => {
    const c = org.admin.client;
    const res = await c.put('/api/v1/retention-rules/company', { action: 'erase', after_months: 12 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'erase_not_supported', path: 'body.action' });
    expect(
      (await c.put('/api/v1/retention-rules/spaceship', { action: 'archive', after_months: 12 })).status,
    ).toBe(404);
    const user = await addMember(org.t, c, 'user');
    expect((await user.client.get('/api/v1/retention-rules')).status).toBe(403);
  });
});
