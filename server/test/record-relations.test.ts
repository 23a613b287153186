import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

// Issue 21's missing parts: many-to-many relations between objects (custom to custom, custom to
// contacts), shown and edited from both sides, filtered, exported; a role that sees only the
// records in the statuses it owns or had before; a bulk status change handing records off as a
// single change does.

type Linked = { id: string; name: string };
type Rec = { id: string; name: string; custom: Record<string, unknown> };
type Relation = { relation: string; label: string; side: 'from' | 'to'; object: string; records: Linked[] };
type Member = Awaited<ReturnType<typeof addMember>>;

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Links Realty'), signUp(t, 'Other Realty')]);
}, 300_000);
afterAll(() => t?.close());

const contact = async (client: Client, first_name: string) =>
  expectStatus<{ id: string }>(await client.post('/api/v1/contacts', { first_name }), 201).id;
const relations = async (client: Client, object: string, id: string) =>
  expectStatus<{ data: Relation[] }>(await client.get(`/api/v1/links/${object}/${id}`), 200).data;
const names = (value: unknown) => (value as Linked[] | undefined)?.map((r) => r.name) ?? [];

describe('many-to-many relations', () => {
  let agents: string[];
  let theirContact: string;
  let buyer: Rec;

  beforeAll(async () => {
    for (const c of [admin.client, other.client]) {
      for (const [key, one, many] of [
        ['estate', 'Estate', 'Estates'],
        ['buyer', 'Buyer', 'Buyers'],
      ])
        expectStatus(await c.post('/api/v1/objects', { key, label_singular: one, label_plural: many }), 201);
      expectStatus(
        await c.post('/api/v1/objects/estate/fields', {
          label: 'Agents',
          type: 'relation',
          relation: { object: 'contact', many: true },
        }),
        201,
      );
      expectStatus(
        await c.post('/api/v1/objects/estate/fields', {
          label: 'Buyers',
          type: 'relation',
          relation: { object: 'buyer', many: true },
        }),
        201,
      );
    }
    agents = [await contact(admin.client, 'Zoe'), await contact(admin.client, 'Adam')];
    theirContact = await contact(other.client, 'Theirs');
    buyer = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/buyer', { custom: { name: 'Bea' } }),
      201,
    );
  });

  it('is defined on a custom object only, and describes itself as many', async () => {
    expectProblem(
      await admin.client.post('/api/v1/objects/contact/fields', {
        label: 'Estates',
        type: 'relation',
        relation: { object: 'estate', many: true },
      }),
      400,
      { code: 'many_not_supported', path: 'body.relation.many' },
    );
    const def = expectStatus<{ fields: { key: string; relation?: { object: string; many: boolean } }[] }>(
      await admin.client.get('/api/v1/objects/estate'),
      200,
    );
    expect(def.fields.find((f) => f.key === 'agents')?.relation).toEqual({ object: 'contact', many: true });
  });

  it('links records on create and update, names them on read, refuses another tenant’s', async () => {
    const estate = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/estate', {
        custom: { name: 'Mill House', agents: agents, buyers: [buyer.id] },
      }),
      201,
    );
    expect(names(estate.custom.agents)).toEqual(['Adam', 'Zoe']);
    expect(names(estate.custom.buyers)).toEqual(['Bea']);
    const read = expectStatus<Rec>(await admin.client.get(`/api/v1/records/estate/${estate.id}`), 200);
    expect(names(read.custom.agents)).toEqual(['Adam', 'Zoe']);

    expectProblem(
      await admin.client.patch(`/api/v1/records/estate/${estate.id}`, {
        custom: { agents: [agents[0], theirContact] },
      }),
      422,
      { code: 'reference_not_found' },
    );
    const updated = expectStatus<Rec>(
      await admin.client.patch(`/api/v1/records/estate/${estate.id}`, { custom: { agents: [agents[0]] } }),
      200,
    );
    expect(names(updated.custom.agents)).toEqual(['Zoe']);
    // The change is an edit of the field, told on the record's timeline.
    await t.drain();
    const timeline = expectStatus<{ data: { type: string; data: { changes?: Record<string, unknown> } }[] }>(
      await admin.client.get(`/api/v1/records/estate/${estate.id}/timeline`),
      200,
    ).data;
    expect(timeline.some((e) => e.type === 'record.updated' && e.data.changes?.agents)).toBe(true);
  });

  it('filters by linked records in the query language and exports their names', async () => {
    const other1 = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/estate', { custom: { name: 'Empty Lot' } }),
      201,
    );
    const linked = expectStatus<{ data: { id: string; custom: Record<string, unknown> }[] }>(
      await admin.client.post('/api/v1/records/estate/query', {
        filter: { field: 'agents', op: 'eq', value: agents[0] },
      }),
      200,
    ).data;
    expect(linked.map((r) => r.custom.name)).toEqual(['Mill House']);
    const none = expectStatus<{ data: { id: string }[] }>(
      await admin.client.post('/api/v1/records/estate/query', { filter: { field: 'buyers', op: 'isEmpty' } }),
      200,
    ).data;
    expect(none.map((r) => r.id)).toContain(other1.id);
    expect(none.some((r) => r.id !== other1.id)).toBe(false);
    expectProblem(
      await admin.client.post('/api/v1/records/estate/query', {
        sort: [{ field: 'agents', direction: 'asc' }],
      }),
      400,
      { code: 'invalid_query' },
    );
    const csv = await admin.client.get('/api/v1/records/estate/export?fields=name,agents,buyers&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.text).toContain('Mill House,Zoe,Bea');
  });

  it('shows and edits the links from the other side: a contact, another custom object', async () => {
    const [estate] = expectStatus<{ data: { id: string }[] }>(
      await admin.client.post('/api/v1/records/estate/query', {
        filter: { field: 'agents', op: 'eq', value: agents[0] },
      }),
      200,
    ).data;
    const zoe = await relations(admin.client, 'contact', agents[0]!);
    expect(zoe).toEqual([
      expect.objectContaining({
        relation: 'estate.agents',
        side: 'to',
        object: 'estate',
        records: [{ id: estate!.id, name: 'Mill House' }],
      }),
    ]);
    // Adam links the estate from his side: the estate's field changes.
    const adam = expectStatus<{ data: Relation[] }>(
      await admin.client.post(`/api/v1/links/contact/${agents[1]}`, {
        relation: 'estate.agents',
        add: [estate!.id],
      }),
      200,
    ).data;
    expect(adam[0]!.records.map((r) => r.name)).toEqual(['Mill House']);
    const own = await relations(admin.client, 'estate', estate!.id);
    expect(own.find((r) => r.relation === 'estate.agents')?.records.map((r) => r.name)).toEqual([
      'Adam',
      'Zoe',
    ]);
    // The buyer unlinks it from the custom side.
    expect((await relations(admin.client, 'buyer', buyer.id))[0]!.records.map((r) => r.name)).toEqual([
      'Mill House',
    ]);
    expectStatus(
      await admin.client.post(`/api/v1/links/buyer/${buyer.id}`, {
        relation: 'estate.buyers',
        remove: [estate!.id],
      }),
      200,
    );
    const read = expectStatus<Rec>(await admin.client.get(`/api/v1/records/estate/${estate!.id}`), 200);
    expect(read.custom.buyers).toBeUndefined();
    // The estate links the buyer again from its own side.
    const again = expectStatus<{ data: Relation[] }>(
      await admin.client.post(`/api/v1/links/estate/${estate!.id}`, {
        relation: 'estate.buyers',
        add: [buyer.id],
      }),
      200,
    ).data;
    expect(again.find((r) => r.relation === 'estate.buyers')?.records.map((r) => r.name)).toEqual(['Bea']);
  });

  it('answers another tenant’s record as absent: 404 in the path, 422 in the body', async () => {
    const [estate] = expectStatus<{ data: { id: string }[] }>(
      await admin.client.get('/api/v1/records/estate?limit=1'),
      200,
    ).data;
    expectProblem(await other.client.get(`/api/v1/links/estate/${estate!.id}`), 404);
    expectProblem(
      await other.client.post(`/api/v1/links/contact/${theirContact}`, {
        relation: 'estate.agents',
        add: [estate!.id],
      }),
      422,
      { code: 'reference_not_found', path: 'body.add.0' },
    );
    expectProblem(
      await admin.client.post(`/api/v1/links/contact/${agents[0]}`, {
        relation: 'estate.buyers',
        add: [estate!.id],
      }),
      400,
      { path: 'body.relation' },
    );
  });

  it('drops the links of a deleted record on both sides', async () => {
    const gone = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/buyer', { custom: { name: 'Gone' } }),
      201,
    );
    const estate = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/estate', {
        custom: { name: 'Dune', buyers: [gone.id, buyer.id] },
      }),
      201,
    );
    expectStatus(await admin.client.delete(`/api/v1/records/buyer/${gone.id}`), 204);
    const read = expectStatus<Rec>(await admin.client.get(`/api/v1/records/estate/${estate.id}`), 200);
    expect(names(read.custom.buyers)).toEqual(['Bea']);
  });
});

describe('a role that sees only the statuses it owns', () => {
  const OBJECT = 'vis_case';
  const url = `/api/v1/records/${OBJECT}`;
  let intake: Member;
  let manager: Member;
  const ids: Record<string, string> = {};

  const memberWith = async (role: string) => {
    const m = await addMember(t, admin.client, 'user');
    expectStatus(await admin.client.patch(`/api/v1/members/${m.userId}`, { role }), 204);
    return m;
  };

  beforeAll(async () => {
    const rights = { rights: ['create', 'read', 'update', 'export'], scope: 'all' };
    for (const key of ['vis_intake', 'vis_manager'])
      expectStatus(await admin.client.post('/api/v1/roles', { key, name: key, default_access: rights }), 201);
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: OBJECT,
        label_singular: 'Case',
        label_plural: 'Cases',
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
        label: 'Stage',
        type: 'status',
        statuses: {
          statuses: [
            { value: 'intake', label: 'Intake', owner_role: 'vis_intake' },
            { value: 'review', label: 'Review', owner_role: 'vis_manager' },
            { value: 'closed', label: 'Closed', kind: 'done' },
          ],
        },
      }),
      201,
    );
    intake = await memberWith('vis_intake');
    manager = await memberWith('vis_manager');
    const make = async (name: string, stage: string) =>
      expectStatus<Rec>(await admin.client.post(url, { custom: { name, stage } }), 201).id;
    ids.fresh = await make('Fresh intake', 'intake');
    ids.handed = await make('Handed over', 'intake');
    ids.direct = await make('Straight to review', 'review');
    ids.closed = await make('Closed long ago', 'closed');
    expectStatus(await admin.client.patch(`${url}/${ids.handed}`, { custom: { stage: 'review' } }), 200);
  });

  it('refuses admin and unknown roles as restricted', async () => {
    expectProblem(
      await admin.client.patch(`/api/v1/objects/${OBJECT}`, { restricted_roles: ['admin'] }),
      400,
      {
        path: 'body.restricted_roles.0',
      },
    );
    expectProblem(
      await admin.client.patch(`/api/v1/objects/${OBJECT}`, { restricted_roles: ['nobody'] }),
      422,
      {
        path: 'body.restricted_roles.0',
      },
    );
  });

  it('everyone sees every record until the object restricts the roles', async () => {
    const seen = expectStatus<{ data: unknown[] }>(await intake.client.get(url), 200).data;
    expect(seen).toHaveLength(4);
  });

  it('narrows lists, search, counts, exports and reads by id for each restricted role', async () => {
    const def = expectStatus<{ custom_object: { restricted_roles: string[] } }>(
      await admin.client.patch(`/api/v1/objects/${OBJECT}`, {
        restricted_roles: ['vis_intake', 'vis_manager'],
      }),
      200,
    );
    expect(def.custom_object.restricted_roles).toEqual(['vis_intake', 'vis_manager']);
    const listed = async (client: Client) =>
      expectStatus<{ data: { custom: { name: string } }[] }>(
        await client.get(`${url}?fields=name&sort=name`),
        200,
      )
        .data.map((r) => r.custom.name)
        .sort();
    // Intake: its own status, and the case it handed over (in intake before).
    expect(await listed(intake.client)).toEqual(['Fresh intake', 'Handed over']);
    // Case managers: the cases in review, however they got there.
    expect(await listed(manager.client)).toEqual(['Handed over', 'Straight to review']);
    expect(await listed(admin.client)).toHaveLength(4);

    expectStatus(await intake.client.get(`${url}/${ids.handed}`), 200);
    expectProblem(await intake.client.get(`${url}/${ids.direct}`), 404);
    expectProblem(await manager.client.get(`${url}/${ids.fresh}`), 404);
    expectProblem(await manager.client.patch(`${url}/${ids.fresh}`, { custom: { name: 'x' } }), 404);
    expectProblem(await manager.client.get(`${url}/${ids.fresh}/timeline`), 404);

    const found = expectStatus<{ data: unknown[] }>(
      await manager.client.post(`${url}/query`, { q: 'intake' }),
      200,
    ).data;
    expect(found).toHaveLength(0);
    const counted = expectStatus<{ count: number }>(await manager.client.get(`${url}/count`), 200);
    expect(counted.count).toBe(2);
    const csv = await intake.client.get(`${url}/export?fields=name`);
    expect(csv.status).toBe(200);
    expect(csv.text).toContain('Fresh intake');
    expect(csv.text).not.toContain('Straight to review');
    expect(csv.text).not.toContain('Closed long ago');
  });

  it('lets a member see the records they own in any status', async () => {
    expectStatus(await admin.client.patch(`${url}/${ids.closed}`, { owner_id: manager.userId }), 200);
    expectStatus(await manager.client.get(`${url}/${ids.closed}`), 200);
    expectProblem(await intake.client.get(`${url}/${ids.closed}`), 404);
  });

  it('restricts a built-in role owning no status to the records its members own', async () => {
    const plain = await addMember(t, admin.client, 'user');
    expectStatus(
      await admin.client.patch(`/api/v1/objects/${OBJECT}`, {
        restricted_roles: ['vis_intake', 'vis_manager', 'user'],
      }),
      200,
    );
    expectStatus(await admin.client.patch(`${url}/${ids.direct}`, { owner_id: plain.userId }), 200);
    const seen = expectStatus<{ data: { id: string }[] }>(await plain.client.get(url), 200).data;
    expect(seen.map((r) => r.id)).toEqual([ids.direct]);
    expectStatus(await plain.client.get(`${url}/${ids.direct}`), 200);
    expectProblem(await plain.client.get(`${url}/${ids.fresh}`), 404);
    expectProblem(await plain.client.get(`${url}/${ids.fresh}/status-history`), 404);
  });
});

describe('hand-offs from a bulk status change', () => {
  const OBJECT = 'bulk_case';
  const url = `/api/v1/records/${OBJECT}`;
  let intake: Member;

  beforeAll(async () => {
    const rights = { rights: ['create', 'read', 'update'], scope: 'all' };
    for (const key of ['bulk_intake', 'bulk_manager'])
      expectStatus(await admin.client.post('/api/v1/roles', { key, name: key, default_access: rights }), 201);
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: OBJECT,
        label_singular: 'Case',
        label_plural: 'Cases',
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
        label: 'Stage',
        type: 'status',
        statuses: {
          statuses: [
            { value: 'intake', label: 'Intake' },
            { value: 'review', label: 'Review', owner_role: 'bulk_manager' },
            { value: 'closed', label: 'Closed', kind: 'done', roles: ['bulk_manager'] },
          ],
        },
      }),
      201,
    );
    intake = await addMember(t, admin.client, 'user');
    expectStatus(await admin.client.patch(`/api/v1/members/${intake.userId}`, { role: 'bulk_intake' }), 204);
  });

  it('queues each record moved into a status another role owns, as a single move does', async () => {
    const made = [];
    for (const name of ['One', 'Two', 'Three'])
      made.push(
        expectStatus<Rec>(await intake.client.post(url, { custom: { name, stage: 'intake' } }), 201).id,
      );
    const result = expectStatus<{ matched: number; changed: number }>(
      await intake.client.post(`${url}/bulk`, {
        ids: made.slice(0, 2),
        action: 'set_status',
        field: 'stage',
        status: 'review',
      }),
      200,
    );
    expect(result).toEqual({ matched: 2, changed: 2 });
    const queued = expectStatus<{ data: { record_id: string; status: string }[] }>(
      await admin.client.get('/api/v1/queues/bulk_manager/items'),
      200,
    ).data;
    expect(queued.map((h) => h.record_id).sort()).toEqual(made.slice(0, 2).sort());
    const read = expectStatus<Rec>(await intake.client.get(`${url}/${made[0]}`), 200);
    expect(read.custom.stage).toBe('review');
  });

  it('refuses the whole bulk change when the role may not set the status', async () => {
    const one = expectStatus<Rec>(
      await intake.client.post(url, { custom: { name: 'Four', stage: 'intake' } }),
      201,
    );
    expectProblem(
      await intake.client.post(`${url}/bulk`, {
        ids: [one.id],
        action: 'set_status',
        field: 'stage',
        status: 'closed',
      }),
      403,
      { code: 'status_role_forbidden' },
    );
    expect(expectStatus<Rec>(await intake.client.get(`${url}/${one.id}`), 200).custom.stage).toBe('intake');
    expectProblem(
      await intake.client.post(`${url}/bulk`, {
        ids: [one.id],
        action: 'set_status',
        field: 'name',
        status: 'x',
      }),
      400,
      { path: 'body.field' },
    );
    expectProblem(
      await admin.client.post('/api/v1/contacts/bulk', {
        ids: [one.id],
        action: 'set_status',
        field: 'stage',
        status: 'x',
      }),
      400,
      {
        path: 'body.field',
      },
    );
  });
});
