import { describe, expect, it } from 'vitest';
import { addMember, postOk, signUp, uploadCsv, useOrganization, waitForImport } from './kit/index.js';

const org = useOrganization('Company Mergers', {
  prepare: async ({ admin }) => {
    await admin.client.post('/api/v1/objects/company/fields', { label: 'Tier', type: 'text' });
  },
});

const post = (url: string, body: unknown) => postOk(org.admin.client, url, body);
const get = async (url: string) => {
  const res = await org.admin.client.get(url);
  expect(res.status, `${url}: ${res.text}`).toBe(200);
  return res.body;
};
/** A contact's company links as `id:primary`, sorted. */
const linksOf = async (contactId: string) =>
  (await get(`/api/v1/contacts/${contactId}`)).companies
    .map((c: { id: string; primary: boolean }) => `${c.id}:${c.primary}`)
    .sort();
const timelineOf = async (companyId: string) =>
  (await get(`/api/v1/companies/${companyId}/timeline?limit=200`)).data as {
    type: string;
    subject: { id: string };
    actor: { type: string; id: string };
  }[];

describe('merging companies', () => {
  it('keeps the chosen values, moves contacts, deals, tasks, notes and children; undo puts everything back', async () => {
    const holding = await post('/api/v1/companies', { name: 'Umbrella Holdings' });
    const other = await post('/api/v1/companies', { name: 'Other Employer' });
    const survivor = await post('/api/v1/companies', {
      name: 'Umbrella',
      domain: 'umbrella.example',
      phone: '+1 202 555 0100',
      tags: ['vip'],
      custom: { tier: 'gold' },
    });
    const a = await post('/api/v1/companies', {
      name: 'Umbrella Corporation',
      website: 'https://umbrella-corp.example',
      industry: 'Pharma',
      notes: 'Raccoon City HQ',
      address: { city: 'Raccoon City' },
      parent_id: holding.id,
      tags: ['biotech', 'VIP'],
      custom: { tier: 'platinum' },
    });
    const b = await post('/api/v1/companies', {
      name: 'Umbrella Inc',
      phone: '+1 202 555 0199',
      size: '1001-5000',
      owner_id: org.admin.userId,
      tags: ['pharma'],
    });
    const child = await post('/api/v1/companies', { name: 'Umbrella Labs', parent_id: b.id });
    const onlyA = await post('/api/v1/contacts', { first_name: 'Albert', companies: [{ id: a.id }] });
    const both = await post('/api/v1/contacts', {
      first_name: 'Jill',
      companies: [
        { id: b.id, primary: true },
        { id: survivor.id, primary: false },
      ],
    });
    const elsewhere = await post('/api/v1/contacts', {
      first_name: 'Chris',
      companies: [
        { id: other.id, primary: true },
        { id: b.id, primary: false },
      ],
    });
    const deal = await post('/api/v1/opportunities', { title: 'Vaccine supply', company_id: a.id });
    const task = await post('/api/v1/tasks', {
      title: 'Call Umbrella Inc',
      link: { object: 'company', id: b.id },
    });
    const note = await post('/api/v1/notes', { object: 'company', id: a.id, body: '<p>Secretive</p>' });

    const res = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: survivor.id,
      merged_ids: [a.id, b.id],
      values: { name: a.id, phone: b.id, 'custom.tier': a.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.survivor).toMatchObject({
      id: survivor.id,
      name: 'Umbrella Corporation',
      domain: 'umbrella.example',
      website: 'https://umbrella-corp.example',
      phone: '+12025550199',
      industry: 'Pharma',
      size: '1001-5000',
      owner_id: org.admin.userId,
      parent_id: holding.id,
      notes: 'Raccoon City HQ',
      address: { city: 'Raccoon City' },
      tags: ['vip', 'biotech', 'pharma'],
      custom: { tier: 'platinum' },
      contact_count: 3,
    });
    expect(await get(`/api/v1/companies/${survivor.id}`)).toEqual(res.body.survivor);
    for (const merged of [a, b])
      expect((await get(`/api/v1/companies/${merged.id}`)).archived_at).not.toBeNull();
    expect(await linksOf(onlyA.id)).toEqual([`${survivor.id}:true`]);
    expect(await linksOf(both.id)).toEqual([`${survivor.id}:true`]);
    expect(await linksOf(elsewhere.id)).toEqual([`${other.id}:true`, `${survivor.id}:false`].sort());
    const contactsOfSurvivor = (await get(`/api/v1/companies/${survivor.id}/contacts`)).data;
    expect(contactsOfSurvivor.map((c: { id: string }) => c.id).sort()).toEqual(
      [onlyA.id, both.id, elsewhere.id].sort(),
    );
    expect((await get(`/api/v1/opportunities/${deal.id}`)).company.id).toBe(survivor.id);
    expect((await get(`/api/v1/tasks/${task.id}`)).link).toEqual({ object: 'company', id: survivor.id });
    const notes = (await get(`/api/v1/notes?object=company&id=${survivor.id}`)).data;
    expect(notes.map((n: { id: string }) => n.id)).toContain(note.id);
    expect((await get(`/api/v1/companies/${child.id}`)).parent_id).toBe(survivor.id);

    // The survivor's timeline shows the merge (by the user) and the merged companies' history.
    const timeline = await timelineOf(survivor.id);
    const entries = timeline.map((e) => `${e.type}:${e.subject.id}`);
    expect(entries).toContain(`company.merged:${survivor.id}`);
    expect(entries).toContain(`company.created:${a.id}`);
    expect(entries).toContain(`company.created:${b.id}`);
    expect(entries).toContain(`company.archived:${b.id}`);
    expect(timeline.find((e) => e.type === 'company.merged')?.actor).toMatchObject({
      type: 'user',
      id: org.admin.userId,
    });

    const undone = await org.admin.client.post(`/api/v1/merges/${res.body.merge_id}/undo`);
    expect(undone.status, undone.text).toBe(200);
    expect(undone.body.restored_ids).toEqual([a.id, b.id]);
    expect(await get(`/api/v1/companies/${survivor.id}`)).toMatchObject({
      name: 'Umbrella',
      domain: 'umbrella.example',
      website: null,
      phone: '+12025550100',
      industry: null,
      size: null,
      owner_id: null,
      parent_id: null,
      notes: null,
      address: {},
      tags: ['vip'],
      custom: { tier: 'gold' },
      contact_count: 1,
    });
    expect(await get(`/api/v1/companies/${a.id}`)).toMatchObject({
      archived_at: null,
      name: 'Umbrella Corporation',
      parent_id: holding.id,
      custom: { tier: 'platinum' },
    });
    expect((await get(`/api/v1/companies/${b.id}`)).archived_at).toBeNull();
    expect(await linksOf(onlyA.id)).toEqual([`${a.id}:true`]);
    expect(await linksOf(both.id)).toEqual([`${b.id}:true`, `${survivor.id}:false`].sort());
    expect(await linksOf(elsewhere.id)).toEqual([`${b.id}:false`, `${other.id}:true`].sort());
    expect((await get(`/api/v1/opportunities/${deal.id}`)).company.id).toBe(a.id);
    expect((await get(`/api/v1/tasks/${task.id}`)).link).toEqual({ object: 'company', id: b.id });
    const notesOfA = (await get(`/api/v1/notes?object=company&id=${a.id}`)).data;
    expect(notesOfA.map((n: { id: string }) => n.id)).toContain(note.id);
    expect((await get(`/api/v1/companies/${child.id}`)).parent_id).toBe(b.id);
    const after = (await timelineOf(survivor.id)).map((e) => `${e.type}:${e.subject.id}`);
    expect(after).not.toContain(`company.created:${a.id}`);
    expect(after).toContain(`company.merge_undone:${survivor.id}`);

    const again = await org.admin.client.post(`/api/v1/merges/${res.body.merge_id}/undo`);
    expect([again.status, again.body.code]).toEqual([409, 'already_undone']);
  });

  it('never makes the survivor its own parent: a merged parent gives way to the next one', async () => {
    const top = await post('/api/v1/companies', { name: 'Top Group' });
    const parent = await post('/api/v1/companies', { name: 'Initech Parent', parent_id: top.id });
    const survivor = await post('/api/v1/companies', { name: 'Initech', parent_id: parent.id });
    const res = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: survivor.id,
      merged_ids: [parent.id],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.survivor.parent_id).toBe(top.id);
    await post(`/api/v1/merges/${res.body.merge_id}/undo`, {});
    expect((await get(`/api/v1/companies/${survivor.id}`)).parent_id).toBe(parent.id);

    const chosen = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: parent.id,
      merged_ids: [survivor.id],
      values: { parent_id: survivor.id },
    });
    expect(chosen.status, chosen.text).toBe(200);
    expect(chosen.body.survivor.parent_id).toBeNull();
  });

  it('points the merged companies external ids at the survivor, and back on undo', async () => {
    const up = await uploadCsv(
      org.t,
      org.admin.client,
      'company',
      'accounts.csv',
      'Id,Name\nACC-1,Extern Survivor Co\nACC-2,Extern Merged Co\n',
    );
    await post(`/api/v1/imports/${up.body.id}/start`, {});
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).progress.created).toBe(2);
    const rows = (await get(`/api/v1/imports/${up.body.id}/rows`)).data;
    const [survivorId, mergedId] = rows.map((r: { record_id: string }) => r.record_id);
    const merge = await post('/api/v1/companies/merge', { survivor_id: survivorId, merged_ids: [mergedId] });

    const linkedTask = async (title: string) => {
      const tasks = await uploadCsv(
        org.t,
        org.admin.client,
        'task',
        'tasks.csv',
        `Subject,Account\n${title},ACC-2\n`,
      );
      await post(`/api/v1/imports/${tasks.body.id}/start`, {});
      await waitForImport(org.t, org.admin.client, tasks.body.id);
      const [row] = (await get(`/api/v1/imports/${tasks.body.id}/rows`)).data;
      return (await get(`/api/v1/tasks/${row.record_id}`)).link;
    };
    expect(await linkedTask('After the merge')).toEqual({ object: 'company', id: survivorId });
    await post(`/api/v1/merges/${merge.merge_id}/undo`, {});
    expect(await linkedTask('After the undo')).toEqual({ object: 'company', id: mergedId });
  });

  it('refuses the survivor among the merged, another tenant or archived company, and a value from outside', async () => {
    const a = await post('/api/v1/companies', { name: 'Refused One' });
    const b = await post('/api/v1/companies', { name: 'Refused Two' });
    const self = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [a.id],
    });
    expect([self.status, self.body.code, self.body.path]).toEqual([400, 'invalid_merge', 'body.merged_ids']);

    const stranger = await signUp(org.t, 'Stranger Co');
    const theirs = (await stranger.client.post('/api/v1/companies', { name: 'Not Yours' })).body;
    const cross = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [b.id, theirs.id],
    });
    expect([cross.status, cross.body.path]).toEqual([404, 'body.merged_ids[1]']);
    expect(cross.text).not.toContain('Not Yours');
    const intoTheirs = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: theirs.id,
      merged_ids: [a.id],
    });
    expect([intoTheirs.status, intoTheirs.body.path]).toEqual([404, 'body.survivor_id']);
    expect((await stranger.client.get(`/api/v1/companies/${theirs.id}`)).body.archived_at).toBeNull();

    await post(`/api/v1/companies/${b.id}/archive`, {});
    const archived = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [b.id],
    });
    expect([archived.status, archived.body.path]).toEqual([404, 'body.merged_ids[0]']);

    const c = await post('/api/v1/companies', { name: 'Refused Three' });
    const outside = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [c.id],
      values: { name: b.id },
    });
    expect([outside.status, outside.body.path]).toEqual([400, 'body.values.name']);
    const unknownField = await org.admin.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [c.id],
      values: { created_at: c.id },
    });
    expect([unknownField.status, unknownField.body.path]).toEqual([400, 'body.values.created_at']);
    expect((await get(`/api/v1/companies/${c.id}`)).archived_at).toBeNull();
  });

  it('is for the roles that can edit records: a viewer is refused', async () => {
    const viewer = await addMember(org.t, org.admin.client, 'viewer');
    const a = await post('/api/v1/companies', { name: 'Viewed One' });
    const b = await post('/api/v1/companies', { name: 'Viewed Two' });
    const res = await viewer.client.post('/api/v1/companies/merge', {
      survivor_id: a.id,
      merged_ids: [b.id],
    });
    expect(res.status).toBe(403);
    expect((await get(`/api/v1/companies/${b.id}`)).archived_at).toBeNull();
  });
});
