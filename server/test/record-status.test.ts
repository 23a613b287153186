import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Status fields on custom objects (issue 21): a pipeline of statuses with kinds, allowed moves,
// roles and reasons, enforced by the record engine's write path, with history and timeline.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
let member: Awaited<ReturnType<typeof addMember>>;
let viewer: Awaited<ReturnType<typeof addMember>>;

const OBJECT = 'legal_case';
const url = `/api/v1/records/${OBJECT}`;
const STAGES = {
  statuses: [
    { value: 'new', label: 'New' },
    { value: 'intake', label: 'Intake' },
    { value: 'review', label: 'Review', color: '#336699' },
    { value: 'approved', label: 'Approved', kind: 'done', roles: ['admin'] },
    { value: 'cancelled', label: 'Cancelled', kind: 'cancelled', reason_required: true },
  ],
  transitions: [
    { from: 'new', to: 'intake' },
    { from: 'intake', to: 'review' },
    { from: 'intake', to: 'new', reason_required: true },
    { from: 'review', to: 'approved' },
    { from: 'review', to: 'intake' },
    ...['new', 'intake', 'review'].map((from) => ({ from, to: 'cancelled' })),
  ],
};

type Rec = { id: string; custom: Record<string, unknown> };
type History = {
  field: string;
  from: { value: string; label: string } | null;
  to: { value: string; label: string; kind: string };
  reason: string | null;
  changed_by: string | null;
  seconds_in_status: number;
  current: boolean;
}[];

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Case Agency'), signUp(t, 'Other Agency')]);
  [member, viewer] = await Promise.all([
    addMember(t, admin.client, 'user'),
    addMember(t, admin.client, 'viewer'),
  ]);
  for (const c of [admin.client, other.client])
    expectStatus(
      await c.post('/api/v1/objects', { key: OBJECT, label_singular: 'Case', label_plural: 'Cases' }),
      201,
    );
  expectStatus(
    await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
      label: 'Stage',
      type: 'status',
      statuses: STAGES,
    }),
    201,
  );
  expectStatus(
    await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
      label: 'Priority',
      type: 'select',
      options: [
        { value: 'low', label: 'Low' },
        { value: 'high', label: 'High' },
      ],
    }),
    201,
  );
}, 300_000);
afterAll(() => t?.close());

const create = async (name: string, extra: Record<string, unknown> = {}, client = admin.client) =>
  expectStatus<Rec>(await client.post(url, { custom: { name, ...extra } }), 201);
const history = async (id: string, client = admin.client) =>
  expectStatus<{ data: History }>(await client.get(`${url}/${id}/status-history`), 200).data;
const move = (id: string, stage: string, reason?: string, client = admin.client) =>
  client.patch(`${url}/${id}`, { custom: { stage }, ...(reason ? { status_reason: reason } : {}) });

describe('defining a status field', () => {
  it('the registry describes the statuses in order with kinds, roles, reasons and moves, and offers them as options', async () => {
    const object = expectStatus(await admin.client.get(`/api/v1/objects/${OBJECT}`), 200);
    const stage = object.fields.find((f: { key: string }) => f.key === 'stage');
    expect(stage.type).toBe('status');
    expect(stage.options.map((o: { value: string }) => o.value)).toEqual([
      'new',
      'intake',
      'review',
      'approved',
      'cancelled',
    ]);
    expect(stage.statuses.statuses[3]).toMatchObject({ value: 'approved', kind: 'done', roles: ['admin'] });
    expect(stage.statuses.statuses[0]).toMatchObject({ kind: 'open', reason_required: false });
    expect(stage.statuses.transitions).toContainEqual({ from: 'intake', to: 'new', reason_required: true });
  });

  it('refuses a definition that is not one: moves between unknown statuses, duplicates, no statuses, a standard object', async () => {
    const post = (body: Record<string, unknown>, object = OBJECT) =>
      admin.client.post(`/api/v1/objects/${object}/fields`, { label: 'Phase', type: 'status', ...body });
    expectProblem(
      await post({
        statuses: { statuses: [{ value: 'a', label: 'A' }], transitions: [{ from: 'a', to: 'zz' }] },
      }),
      400,
      { path: 'body.statuses.transitions[0].to' },
    );
    expectProblem(
      await post({
        statuses: {
          statuses: [
            { value: 'a', label: 'A' },
            { value: 'a', label: 'Again' },
          ],
        },
      }),
      400,
      { path: 'body.statuses.statuses[1].value' },
    );
    expectProblem(await post({}), 400, { path: 'body.statuses' });
    expectProblem(await post({ statuses: { statuses: [{ value: 'a', label: 'A' }] } }, 'contact'), 400, {
      code: 'status_not_supported',
      path: 'body.type',
    });
    expectProblem(
      await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
        label: 'Odd',
        type: 'text',
        statuses: { statuses: [{ value: 'a', label: 'A' }] },
      }),
      400,
      { path: 'body.statuses' },
    );
    // A member cannot define statuses.
    expectProblem(
      await member.client.post(`/api/v1/objects/${OBJECT}/fields`, {
        label: 'X',
        type: 'status',
        statuses: STAGES,
      }),
      403,
    );
  });
});

describe('setting a status through the record engine', () => {
  it('a new record starts in the initial status, recorded in its history', async () => {
    const rec = await create('Alvarez');
    expect(rec.custom.stage).toBe('new');
    const h = await history(rec.id);
    expect(h).toHaveLength(1);
    expect(h[0]).toMatchObject({
      field: 'stage',
      from: null,
      to: { value: 'new', label: 'New', kind: 'open' },
      current: true,
    });
    expect(h[0]!.changed_by).toBe(admin.userId);
  });

  it('a move the definition does not allow is a 409 naming the field, and the record keeps its status', async () => {
    const rec = await create('Baker');
    const res = await move(rec.id, 'approved');
    expectProblem(res, 409, { code: 'transition_not_allowed', path: 'body.custom.stage' });
    expect((res.body as { detail?: string; title?: string }).toString()).toBeTruthy();
    const after = expectStatus<Rec>(await admin.client.get(`${url}/${rec.id}`), 200);
    expect(after.custom.stage).toBe('new');
    expect(await history(rec.id)).toHaveLength(1);
  });

  it('an allowed move changes the status, adds to the history with the time spent before, and tells the timeline', async () => {
    const rec = await create('Chen');
    const moved = expectStatus<Rec>(await move(rec.id, 'intake'), 200);
    expect(moved.custom.stage).toBe('intake');
    const h = await history(rec.id);
    expect(h.map((x) => [x.from?.value ?? null, x.to.value, x.current])).toEqual([
      [null, 'new', false],
      ['new', 'intake', true],
    ]);
    expect(h[0]!.seconds_in_status).toBeGreaterThanOrEqual(0);
    const timeline = expectStatus(await admin.client.get(`${url}/${rec.id}/timeline`), 200);
    const entry = timeline.data.find((e: { type: string }) => e.type === 'record.status_changed');
    expect(entry.description).toBe('Ada Admin moved case Chen from New to Intake');
    expect(entry.data).toMatchObject({
      field: 'stage',
      from: 'new',
      to: 'intake',
      to_kind: 'open',
      reason: null,
    });
    // The status has its own event: no `record.updated` for it.
    expect(timeline.data.some((e: { type: string }) => e.type === 'record.updated')).toBe(false);
  });

  it('a move that needs a reason is a 422 without one, and keeps the reason given', async () => {
    const rec = await create('Diaz');
    expectStatus(await move(rec.id, 'intake'), 200);
    expectProblem(await move(rec.id, 'new'), 422, { code: 'reason_required', path: 'body.status_reason' });
    expectProblem(await move(rec.id, 'new', '   '), 422, { code: 'reason_required' });
    expect(expectStatus<Rec>(await admin.client.get(`${url}/${rec.id}`), 200).custom.stage).toBe('intake');
    expectStatus(await move(rec.id, 'new', 'Documents missing'), 200);
    // A status whose entry needs a reason (cancelled), from any status that may move there.
    expectProblem(await move(rec.id, 'cancelled'), 422, { code: 'reason_required' });
    expectStatus(await move(rec.id, 'cancelled', 'Client withdrew'), 200);
    const h = await history(rec.id);
    expect(h.map((x) => [x.to.value, x.reason])).toEqual([
      ['new', null],
      ['intake', null],
      ['new', 'Documents missing'],
      ['cancelled', 'Client withdrew'],
    ]);
    expect(h.at(-1)!.to.kind).toBe('cancelled');
    const timeline = expectStatus(await admin.client.get(`${url}/${rec.id}/timeline`), 200);
    expect(timeline.data.map((e: { description: string }) => e.description)).toContain(
      'Ada Admin moved case Diaz from New to Cancelled (Client withdrew)',
    );
  });

  it('a role the status does not name gets a 403; the roles it names (and admins) may set it', async () => {
    const rec = await create('Evans', {}, member.client);
    expectStatus(await move(rec.id, 'intake', undefined, member.client), 200);
    expectStatus(await move(rec.id, 'review', undefined, member.client), 200);
    expectProblem(await move(rec.id, 'approved', undefined, member.client), 403, {
      code: 'status_role_forbidden',
      path: 'body.custom.stage',
    });
    expect(expectStatus<Rec>(await admin.client.get(`${url}/${rec.id}`), 200).custom.stage).toBe('review');
    // Creating a record straight into a status the role may not set is refused too.
    expectProblem(await member.client.post(url, { custom: { name: 'Sneaky', stage: 'approved' } }), 403, {
      code: 'status_role_forbidden',
    });
    expectStatus(await move(rec.id, 'approved'), 200);
    expectProblem(await move(rec.id, 'intake', undefined, viewer.client), 403);
  });

  it('a status cannot be cleared, other values still change beside it, and an unknown status is a 400', async () => {
    const rec = await create('Fox');
    expectProblem(await admin.client.patch(`${url}/${rec.id}`, { custom: { stage: null } }), 422, {
      code: 'status_required',
      path: 'body.custom.stage',
    });
    expectProblem(await move(rec.id, 'lost'), 400, { path: 'body.custom.stage' });
    const both = expectStatus<Rec>(
      await admin.client.patch(`${url}/${rec.id}`, { custom: { stage: 'intake', priority: 'high' } }),
      200,
    );
    expect(both.custom).toMatchObject({ stage: 'intake', priority: 'high' });
    const timeline = expectStatus(await admin.client.get(`${url}/${rec.id}/timeline`), 200);
    const types = timeline.data.map((e: { type: string }) => e.type);
    expect(types).toContain('record.status_changed');
    const updated = timeline.data.find((e: { type: string }) => e.type === 'record.updated');
    expect(Object.keys(updated.data.changes)).toEqual(['priority']);
  });

  it('the owner hears of a status change another member made', async () => {
    const rec = expectStatus<Rec>(
      await member.client.post(url, { owner_id: admin.userId, custom: { name: 'Garcia' } }),
      201,
    );
    expectStatus(await move(rec.id, 'intake', undefined, member.client), 200);
    await t.drain();
    const list = expectStatus(await admin.client.get('/api/v1/notifications'), 200);
    const n = list.data.find(
      (x: { kind: string; record?: { id: string } }) =>
        x.kind === 'status_changed' && x.record?.id === rec.id,
    );
    expect(n).toBeTruthy();
    expect(JSON.stringify(n)).toContain('Intake');
  });

  it('a status records hold cannot be removed from the definition; an unused one can', async () => {
    const held = {
      ...STAGES,
      statuses: STAGES.statuses.filter((s) => s.value !== 'intake'),
      transitions: STAGES.transitions.filter((x) => x.from !== 'intake' && x.to !== 'intake'),
    };
    expectProblem(
      await admin.client.patch(`/api/v1/objects/${OBJECT}/fields/stage`, { statuses: held }),
      409,
      {
        code: 'status_in_use',
      },
    );
    const added = {
      ...STAGES,
      statuses: [...STAGES.statuses, { value: 'archived', label: 'Archived', kind: 'done' }],
    };
    expectStatus(
      await admin.client.patch(`/api/v1/objects/${OBJECT}/fields/stage`, { statuses: added }),
      200,
    );
    const removed = expectStatus(
      await admin.client.patch(`/api/v1/objects/${OBJECT}/fields/stage`, { statuses: STAGES }),
      200,
    );
    expect(removed.options.map((o: { value: string }) => o.value)).not.toContain('archived');
  });

  it('filters and counts read a status field like a select', async () => {
    const page = expectStatus(
      await admin.client.get(
        `${url}?filter=${encodeURIComponent(JSON.stringify({ field: 'stage', op: 'eq', value: 'cancelled' }))}`,
      ),
      200,
    );
    expect(page.data.map((r: { custom: { name: string } }) => r.custom.name)).toEqual(['Diaz']);
    expectProblem(
      await admin.client.get(
        `${url}?filter=${encodeURIComponent(JSON.stringify({ field: 'stage', op: 'eq', value: 'nope' }))}`,
      ),
      400,
    );
  });
});

describe('status history route', () => {
  it('reads one field, refuses an unknown one, and another tenant’s record is a 404', async () => {
    const rec = await create('Hill');
    expect(
      expectStatus(await admin.client.get(`${url}/${rec.id}/status-history?field=stage`), 200).data,
    ).toHaveLength(1);
    expectProblem(await admin.client.get(`${url}/${rec.id}/status-history?field=priority`), 400, {
      path: 'query.field',
    });
    expectProblem(await other.client.get(`${url}/${rec.id}/status-history`), 404);
    expectProblem(await admin.client.get(`/api/v1/records/contact/${rec.id}/status-history`), 404);
  });
});

describe('the board of a custom object', () => {
  it('groups by a status field: every status in order with its count and cards, and days in status', async () => {
    const board = expectStatus(await admin.client.get(`${url}/board?field=stage`), 200);
    expect(board.field).toEqual({ key: 'stage', label: 'Stage', type: 'status' });
    expect(board.columns.map((c: { value: string }) => c.value)).toEqual([
      'new',
      'intake',
      'review',
      'approved',
      'cancelled',
    ]);
    const list = expectStatus(await admin.client.get(`${url}?limit=200`), 200).data as Rec[];
    for (const column of board.columns) {
      const expected = list.filter((r) => r.custom.stage === column.value);
      expect(column.count).toBe(expected.length);
      expect(column.cards.map((c: { id: string }) => c.id).sort()).toEqual(expected.map((r) => r.id).sort());
    }
    const cancelled = board.columns.find((c: { value: string }) => c.value === 'cancelled');
    expect(cancelled).toMatchObject({ label: 'Cancelled', kind: 'cancelled', count: 1 });
    expect(cancelled.cards[0]).toMatchObject({ title: 'Diaz', value: 'cancelled' });
    expect(cancelled.cards[0].days_in_status).toBeGreaterThanOrEqual(0);
  });

  it('pages each column with its own cursor, and takes the list’s filter and q', async () => {
    for (let i = 0; i < 5; i += 1) await create(`Paged ${i}`);
    const first = expectStatus(await admin.client.get(`${url}/board?field=stage&per_column=2`), 200);
    const fresh = first.columns.find((c: { value: string }) => c.value === 'new');
    expect(fresh.cards).toHaveLength(2);
    expect(fresh.next_cursor).toBeTruthy();
    const seen = [...fresh.cards.map((c: { id: string }) => c.id)];
    let cursor: string | null = fresh.next_cursor;
    while (cursor) {
      const page = expectStatus(
        await admin.client.get(
          `${url}/board/column?field=stage&value=new&per_column=2&cursor=${encodeURIComponent(cursor)}`,
        ),
        200,
      );
      seen.push(...page.cards.map((c: { id: string }) => c.id));
      cursor = page.next_cursor;
    }
    expect(new Set(seen).size).toBe(fresh.count);
    expect(seen).toHaveLength(fresh.count);
    const searched = expectStatus(await admin.client.get(`${url}/board?field=stage&q=paged`), 200);
    expect(searched.columns.find((c: { value: string }) => c.value === 'new').count).toBe(5);
    const filtered = expectStatus(
      await admin.client.get(
        `${url}/board?field=stage&filter=${encodeURIComponent(JSON.stringify({ field: 'priority', op: 'eq', value: 'high' }))}`,
      ),
      200,
    );
    expect(filtered.columns.reduce((n: number, c: { count: number }) => n + c.count, 0)).toBe(1);
  });

  it('groups by a select field, with a column for records without a value', async () => {
    const board = expectStatus(await admin.client.get(`${url}/board?field=priority`), 200);
    expect(board.columns.map((c: { value: string | null }) => c.value)).toEqual(['low', 'high', null]);
    expect(board.columns[1].count).toBe(1);
    expect(board.columns[2].label).toBe('No priority');
    expect(board.columns[2].kind).toBeNull();
  });

  it('refuses a field that is not a status or select, and another tenant’s object is its own', async () => {
    expectProblem(await admin.client.get(`${url}/board?field=name`), 400, {
      code: 'not_a_board_field',
      path: 'query.field',
    });
    expectProblem(await admin.client.get(`${url}/board`), 400);
    expectProblem(await admin.client.get('/api/v1/records/contact/board?field=stage'), 404);
    // The other tenant's object of the same key has no stage field and none of these records.
    expectProblem(await other.client.get(`${url}/board?field=stage`), 400, { code: 'not_a_board_field' });
  });
});
