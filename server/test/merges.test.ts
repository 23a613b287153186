import { describe, expect, it } from 'vitest';
import {
  type Client,
  postOk,
  type Res,
  signUp,
  uploadCsv,
  useOrganization,
  waitForImport,
} from './kit/index.js';

const org = useOrganization('Mergers');

const post = (url: string, body: unknown) => postOk(org.admin.client, url, body);

type Group = { reason: string; key: string; record_count: number; records: { id: string }[] };

/**
 * Runs the queued duplicates scan (its job waits a second to absorb more changes: drained as if
 * its time had come), then pages through the duplicates list; `holds` must hold for the groups.
 */
async function duplicatesUntil(
  client: Client,
  collection: 'contacts' | 'companies',
  holds: (groups: Group[]) => boolean,
): Promise<Group[]> {
  await org.t.drain({ delayed: true });
  const groups: Group[] = [];
  let cursor: string | null = null;
  do {
    const res: Res<{ data: Group[]; next_cursor: string | null }> = await client.get(
      `/api/v1/${collection}/duplicates?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(res.status, res.text).toBe(200);
    groups.push(...res.body.data);
    cursor = res.body.next_cursor;
  } while (cursor);
  expect(holds(groups), JSON.stringify(groups)).toBe(true);
  return groups;
}
const idsOf = (groups: Group[], reason: string) =>
  groups.filter((g) => g.reason === reason).map((g) => g.records.map((r) => r.id).sort());
const hasGroup = (groups: Group[], reason: string, ids: string[]) =>
  idsOf(groups, reason).some((g) => JSON.stringify(g) === JSON.stringify([...ids].sort()));

describe('duplicates', () => {
  it('finds contacts sharing a phone, an e-mail up to its +tag, a name, or a similar name, page by page', async () => {
    const a = await post('/api/v1/contacts', {
      first_name: 'Dup',
      last_name: 'Phone',
      phones: [{ number: '+1 415 555 0101' }],
    });
    const b = await post('/api/v1/contacts', {
      first_name: 'Other',
      last_name: 'Person',
      phones: [{ number: '(415) 555-0101' }],
    });
    const c = await post('/api/v1/contacts', { first_name: 'Ada', emails: [{ value: 'ada@dup.example' }] });
    const d = await post('/api/v1/contacts', {
      first_name: 'Ada L',
      emails: [{ value: 'ada+crm@dup.example' }],
    });
    const e = await post('/api/v1/contacts', { first_name: 'Jonathan', last_name: 'Smithers' });
    const f = await post('/api/v1/contacts', { first_name: 'Jonathon', last_name: 'Smithers' });
    await post('/api/v1/contacts', { first_name: 'Unique', last_name: 'Soul' });
    const groups = await duplicatesUntil(
      org.admin.client,
      'contacts',
      (g) =>
        hasGroup(g, 'phone', [a.id, b.id]) &&
        hasGroup(g, 'email', [c.id, d.id]) &&
        hasGroup(g, 'similar_name', [e.id, f.id]),
    );
    expect(idsOf(groups, 'phone')).toContainEqual([a.id, b.id].sort());
    expect(idsOf(groups, 'email')).toContainEqual([c.id, d.id].sort());
    expect(idsOf(groups, 'similar_name')).toContainEqual([e.id, f.id].sort());
    expect(JSON.stringify(groups)).not.toContain('Soul');
    // Strongest reason first, across pages.
    const order = ['email', 'phone', 'name', 'similar_name'];
    const ranks = groups.map((g) => order.indexOf(g.reason));
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
  });

  it('follows edits: a changed phone leaves its group, an archived contact leaves it too', async () => {
    const a = await post('/api/v1/contacts', { first_name: 'Ed', phones: [{ number: '+1 415 555 0177' }] });
    const b = await post('/api/v1/contacts', { first_name: 'Eddy', phones: [{ number: '+1 415 555 0177' }] });
    const c = await post('/api/v1/contacts', { first_name: 'Edna', phones: [{ number: '+1 415 555 0177' }] });
    let groups = await duplicatesUntil(org.admin.client, 'contacts', (g) =>
      hasGroup(g, 'phone', [a.id, b.id, c.id]),
    );
    expect(idsOf(groups, 'phone')).toContainEqual([a.id, b.id, c.id].sort());
    const edited = await org.admin.client.patch(`/api/v1/contacts/${c.id}`, {
      phones: [{ number: '+1 415 555 0178' }],
    });
    expect(edited.status, edited.text).toBe(200);
    groups = await duplicatesUntil(org.admin.client, 'contacts', (g) => hasGroup(g, 'phone', [a.id, b.id]));
    expect(idsOf(groups, 'phone')).toContainEqual([a.id, b.id].sort());
    await post(`/api/v1/contacts/${b.id}/archive`, {});
    groups = await duplicatesUntil(
      org.admin.client,
      'contacts',
      (g) => !JSON.stringify(g).includes(a.id) && !JSON.stringify(g).includes(b.id),
    );
    expect(JSON.stringify(groups)).not.toContain(a.id);
  });

  it('a change no duplicate key reads (tags, lead status) queues no refresh; a new last name does', async () => {
    const a = await post('/api/v1/contacts', { first_name: 'Ida', last_name: 'Idle' });
    await duplicatesUntil(org.admin.client, 'contacts', () => true);
    // Contacts waiting for the finder's refresh (its job is delayed: `drain()` leaves it queued).
    const waiting = async () =>
      (
        await org.t.services.database.raw.query<{ n: number }>(
          'select count(*)::int as n from duplicate_dirty where record_id = $1',
          [a.id],
        )
      ).rows[0]!.n;
    expect(await waiting()).toBe(0);
    const tagged = await org.admin.client.patch(`/api/v1/contacts/${a.id}`, {
      tags: ['vip'],
      lead_status: 'qualified',
    });
    expect(tagged.status, tagged.text).toBe(200);
    await org.t.drain();
    expect(await waiting()).toBe(0);
    const renamed = await org.admin.client.patch(`/api/v1/contacts/${a.id}`, { last_name: 'Active' });
    expect(renamed.status, renamed.text).toBe(200);
    await org.t.drain();
    expect(await waiting()).toBe(1);
    await duplicatesUntil(org.admin.client, 'contacts', () => true);
    expect(await waiting()).toBe(0);
  });

  it('remembers "not a duplicate": a dismissed pair is never shown again, for anyone', async () => {
    const a = await post('/api/v1/contacts', { first_name: 'Twin', last_name: 'Dismissa' });
    const b = await post('/api/v1/contacts', { first_name: 'Twin', last_name: 'Dismissa' });
    await duplicatesUntil(org.admin.client, 'contacts', (g) => hasGroup(g, 'name', [a.id, b.id]));
    const dismissed = await org.admin.client.post('/api/v1/contacts/duplicates/dismiss', {
      ids: [a.id, b.id],
    });
    expect(dismissed.status, dismissed.text).toBe(200);
    expect(dismissed.body.dismissed_pairs).toBe(1);
    expect(JSON.stringify(await duplicatesUntil(org.admin.client, 'contacts', () => true))).not.toContain(
      a.id,
    );
    // A full rescan recomputes every pair; the dismissal still holds.
    const before = (await org.admin.client.get('/api/v1/contacts/duplicates')).body.scan;
    const scan = await org.admin.client.post('/api/v1/contacts/duplicates/scan', {});
    expect(scan.status, scan.text).toBe(202);
    expect(scan.body.scan.state).toMatch(/queued|running/);
    await org.t.drain({ delayed: true });
    const res = await org.admin.client.get('/api/v1/contacts/duplicates');
    expect(res.body.scan.state).toBe('done');
    expect(res.body.scan.finished_at).not.toBe(before.finished_at);
    expect(JSON.stringify(await duplicatesUntil(org.admin.client, 'contacts', () => true))).not.toContain(
      a.id,
    );
    const unknown = await org.admin.client.post('/api/v1/contacts/duplicates/dismiss', {
      ids: [a.id, '00000000-0000-7000-8000-000000000000'],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.path).toBe('body.ids[1]');
    const bad = await org.admin.client.get('/api/v1/contacts/duplicates?cursor=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(bad.body.path).toBe('query.cursor');
  });

  it('stays responsive with 2,000 contacts sharing five last names: the list and /health answer within 1 s', async () => {
    // Before the background scan, opening this list ran a query quadratic in a last name's block
    // and froze the whole server (on the embedded database every request, /health included).
    const crowd = await signUp(org.t, 'Crowd');
    const lastNames = ['Smith', 'Nguyen', 'Garcia', 'Kim', 'Jones'];
    const firstNames = [
      'Jon',
      'John',
      'Jonathan',
      'Jonathon',
      'Ann',
      'Anne',
      'Anna',
      'Hannah',
      'Mark',
      'Marc',
    ];
    const rows = Array.from(
      { length: 2000 },
      (_, i) =>
        `${firstNames[i % 10]}${i % 7 === 0 ? '' : ` ${String.fromCharCode(65 + (i % 26))}`},${lastNames[i % 5]},p${i}@crowd.example`,
    );
    const up = await uploadCsv(
      org.t,
      crowd.client,
      'contact',
      'crowd.csv',
      `First Name,Last Name,Email\n${rows.join('\n')}\n`,
    );
    expect(up.status, up.text).toBe(201);
    await crowd.client.post(`/api/v1/imports/${up.body.id}/start`);
    expect((await waitForImport(org.t, crowd.client, up.body.id)).status).toBe('completed');
    let slowest = 0;
    let slowestUrl = '';
    const timed = async (url: string) => {
      const started = performance.now();
      const res = await crowd.client.get(url);
      if (performance.now() - started > slowest) [slowest, slowestUrl] = [performance.now() - started, url];
      expect(res.status, res.text).toBe(200);
      return res;
    };
    // The scan of the imported contacts runs to its end; then the list (ten pages) and /health.
    await org.t.drain({ delayed: true });
    let page = await timed('/api/v1/contacts/duplicates');
    for (let i = 0, next = page; i < 10 && next.body.next_cursor; i++) {
      await timed('/health');
      next = await timed(`/api/v1/contacts/duplicates?cursor=${encodeURIComponent(next.body.next_cursor)}`);
    }
    page = await timed('/api/v1/contacts/duplicates');
    expect(page.body.scan.pending_changes).toBe(0);
    expect(page.body.scan.state).toBe('done');
    expect(slowest, slowestUrl).toBeLessThan(1000);
    const reasons = new Set(page.body.data.map((g: Group) => g.reason));
    expect(reasons.has('name') || reasons.has('similar_name')).toBe(true);
    expect(page.body.next_cursor).toBeTruthy();
  });

  it('finds companies sharing a domain or a name up to its legal suffix', async () => {
    const a = await post('/api/v1/companies', { name: 'Globex', website: 'https://www.globex.example' });
    const b = await post('/api/v1/companies', { name: 'Globex Intl', domain: 'globex.example' });
    const c = await post('/api/v1/companies', { name: 'Initech, Inc.' });
    const d = await post('/api/v1/companies', { name: 'initech LLC' });
    const groups = await duplicatesUntil(
      org.admin.client,
      'companies',
      (g) => hasGroup(g, 'domain', [a.id, b.id]) && hasGroup(g, 'name', [c.id, d.id]),
    );
    expect(idsOf(groups, 'domain')).toContainEqual([a.id, b.id].sort());
    expect(idsOf(groups, 'name')).toContainEqual([c.id, d.id].sort());
  });
});

describe('merge and undo', () => {
  it('merges contacts, combining what they have, and undo puts everything back', async () => {
    const acme = await post('/api/v1/companies', { name: 'Merge Acme' });
    const survivor = await post('/api/v1/contacts', {
      first_name: 'Grace',
      emails: [{ value: 'grace@merge.example' }],
      tags: ['vip'],
    });
    const other = await post('/api/v1/contacts', {
      first_name: 'Grace B.',
      last_name: 'Hopper',
      emails: [{ value: 'ghopper@merge.example' }],
      phones: [{ number: '+1 202 555 0147' }],
      tags: ['navy'],
      companies: [{ id: acme.id }],
      notes: 'Met at the conference',
    });
    const opp = await post('/api/v1/opportunities', { title: 'Compiler deal', contact_id: other.id });
    const task = await post('/api/v1/tasks', {
      title: 'Call Grace',
      link: { object: 'contact', id: other.id },
    });
    const note = await post('/api/v1/notes', { object: 'contact', id: other.id, body: '<p>Likes COBOL</p>' });

    const merged = await org.admin.client.post('/api/v1/contacts/merge', {
      survivor_id: survivor.id,
      merged_ids: [other.id],
      values: { first_name: survivor.id },
    });
    expect(merged.status, merged.text).toBe(200);
    const s = merged.body.survivor;
    expect(s).toMatchObject({
      first_name: 'Grace',
      last_name: 'Hopper',
      notes: 'Met at the conference',
      email: 'grace@merge.example',
    });
    expect(s.emails.map((e: { value: string }) => e.value)).toEqual([
      'grace@merge.example',
      'ghopper@merge.example',
    ]);
    expect(s.phones.map((p: { e164: string }) => p.e164)).toEqual(['+12025550147']);
    expect(s.tags).toEqual(['vip', 'navy']);
    expect(s.companies.map((c: { id: string }) => c.id)).toEqual([acme.id]);
    expect((await org.admin.client.get(`/api/v1/contacts/${other.id}`)).body.archived_at).not.toBeNull();
    expect((await org.admin.client.get(`/api/v1/opportunities/${opp.id}`)).body.contact.id).toBe(survivor.id);
    expect((await org.admin.client.get(`/api/v1/tasks/${task.id}`)).body.link.id).toBe(survivor.id);
    const notes = await org.admin.client.get(`/api/v1/notes?object=contact&id=${survivor.id}`);
    expect(notes.body.data.map((n: { id: string }) => n.id)).toContain(note.id);
    const timeline = (await org.admin.client.get(`/api/v1/contacts/${survivor.id}/timeline?limit=100`)).body
      .data;
    const types = timeline.map((e: { type: string; subject: { id: string } }) => `${e.type}:${e.subject.id}`);
    expect(types).toContain(`contact.merged:${survivor.id}`);
    expect(types).toContain(`contact.created:${other.id}`);

    const undone = await org.admin.client.post(`/api/v1/merges/${merged.body.merge_id}/undo`);
    expect(undone.status, undone.text).toBe(200);
    const back = (await org.admin.client.get(`/api/v1/contacts/${survivor.id}`)).body;
    expect(back).toMatchObject({
      first_name: 'Grace',
      last_name: null,
      notes: null,
      tags: ['vip'],
      companies: [],
    });
    expect(back.emails.map((e: { value: string }) => e.value)).toEqual(['grace@merge.example']);
    const restored = (await org.admin.client.get(`/api/v1/contacts/${other.id}`)).body;
    expect(restored).toMatchObject({
      archived_at: null,
      email: 'ghopper@merge.example',
      last_name: 'Hopper',
    });
    expect((await org.admin.client.get(`/api/v1/opportunities/${opp.id}`)).body.contact.id).toBe(other.id);
    expect((await org.admin.client.get(`/api/v1/tasks/${task.id}`)).body.link.id).toBe(other.id);
    const again = await org.admin.client.post(`/api/v1/merges/${merged.body.merge_id}/undo`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_undone');
  });

  it('refuses a survivor among the merged, a value from outside the merge and an unknown contact', async () => {
    const a = await post('/api/v1/contacts', { first_name: 'One' });
    const b = await post('/api/v1/contacts', { first_name: 'Two' });
    const self = await org.admin.client.post('/api/v1/contacts/merge', {
      survivor_id: a.id,
      merged_ids: [a.id],
    });
    expect([self.status, self.body.code]).toEqual([400, 'invalid_merge']);
    const outside = await org.admin.client.post('/api/v1/contacts/merge', {
      survivor_id: a.id,
      merged_ids: [b.id],
      values: { first_name: '00000000-0000-4000-8000-000000000000' },
    });
    expect([outside.status, outside.body.path]).toEqual([400, 'body.values.first_name']);
    const unknown = await org.admin.client.post('/api/v1/contacts/merge', {
      survivor_id: a.id,
      merged_ids: ['00000000-0000-4000-8000-000000000000'],
    });
    expect([unknown.status, unknown.body.path]).toEqual([404, 'body.merged_ids[0]']);
    expect((await org.admin.client.get(`/api/v1/contacts/${b.id}`)).body.archived_at).toBeNull();
  });
  it('points the merged contacts external ids at the survivor, and back on undo', async () => {
    const importRow = async (csv: string) => {
      const up = await uploadCsv(org.t, org.admin.client, 'contact', 'people.csv', csv);
      await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
      await waitForImport(org.t, org.admin.client, up.body.id);
      return (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data as {
        outcome: string;
        record_id: string;
      }[];
    };
    const [survivor, merged] = await importRow(
      'Id,First Name,Email\nCRM-1,Ext,ext.one@merge.example\nCRM-2,Ext,ext.two@merge.example\n',
    );
    const merge = await org.admin.client.post('/api/v1/contacts/merge', {
      survivor_id: survivor!.record_id,
      merged_ids: [merged!.record_id],
    });
    expect(merge.status, merge.text).toBe(200);
    // The source system's CRM-2 is now the survivor: a later file naming it matches the survivor.
    const [after] = await importRow('Id,First Name\nCRM-2,Ext\n');
    expect(after).toMatchObject({ outcome: 'skipped', record_id: survivor!.record_id });
    await org.admin.client.post(`/api/v1/merges/${merge.body.merge_id}/undo`);
    const [undone] = await importRow('Id,First Name\nCRM-2,Ext\n');
    expect(undone).toMatchObject({ outcome: 'skipped', record_id: merged!.record_id });
  });
});
