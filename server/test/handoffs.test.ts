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

// Ownership and hand-off queues (issue 21): a status owned by a role; a record entering it from
// another role waits in that role's queue; a member accepts (becomes owner; one of two at once
// wins, the other gets 409) or denies with a reason (back to a chosen status); counts and ages;
// assignment rules; notifications; timeline; another tenant's hand-off is a 404.

type Member = Awaited<ReturnType<typeof addMember>>;
type Handoff = {
  id: string;
  record_id: string;
  record_name: string;
  number_label: string | null;
  status: string;
  status_label: string;
  from_status: string | null;
  role: string;
  state: string;
  assigned_to: string | null;
  age_seconds: number;
  reason: string | null;
  returned_to: string | null;
};
type Queue = {
  role: string;
  role_label: string;
  assignment: string;
  mine: boolean;
  waiting: number;
  waiting_for_me: number;
  oldest_age_seconds: number | null;
};

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
let intake: Member;
let managers: Member[];

const OBJECT = 'agency_case';
const url = `/api/v1/records/${OBJECT}`;
const STAGES = {
  statuses: [
    { value: 'inquiry', label: 'New inquiry' },
    { value: 'intake', label: 'Intake' },
    { value: 'review', label: 'Case review', owner_role: 'case_manager' },
    { value: 'matching', label: 'Matching', owner_role: 'case_manager' },
    { value: 'closed', label: 'Closed', kind: 'cancelled' },
  ],
};

async function memberWith(role: string) {
  const m = await addMember(t, admin.client, 'user');
  expectStatus(await admin.client.patch(`/api/v1/members/${m.userId}`, { role }), 204);
  return m;
}

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Hand-off Agency'), signUp(t, 'Other Agency')]);
  const rights = { rights: ['create', 'read', 'update'], scope: 'all' };
  for (const c of [admin.client, other.client]) {
    expectStatus(
      await c.post('/api/v1/roles', { key: 'case_manager', name: 'Case managers', default_access: rights }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/roles', { key: 'intake', name: 'Intake', default_access: rights }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/objects', {
        key: OBJECT,
        label_singular: 'Case',
        label_plural: 'Cases',
        numbering: { prefix: 'CASE-' },
      }),
      201,
    );
    expectStatus(
      await c.post(`/api/v1/objects/${OBJECT}/fields`, { label: 'Stage', type: 'status', statuses: STAGES }),
      201,
    );
  }
  intake = await memberWith('intake');
  managers = [await memberWith('case_manager'), await memberWith('case_manager')];
}, 300_000);
afterAll(() => t?.close());

const create = async (name: string, client: Client = intake.client) =>
  expectStatus<{ id: string; owner_id: string | null }>(
    await client.post(url, { custom: { name, stage: 'intake' }, owner_id: intake.userId }),
    201,
  );
const move = (id: string, stage: string, client: Client = intake.client) =>
  client.patch(`${url}/${id}`, { custom: { stage } });
const items = async (client: Client, role = 'case_manager', query = '') =>
  expectStatus<{ data: Handoff[] }>(await client.get(`/api/v1/queues/${role}/items${query}`), 200).data;
const queue = async (client: Client, role = 'case_manager') =>
  expectStatus<Queue>(await client.get(`/api/v1/queues/${role}`), 200);
async function inbox(client: Client) {
  await t.drain();
  return expectStatus<{ data: { kind: string; title: string; record: { id: string } }[] }>(
    await client.get('/api/v1/notifications?limit=100'),
    200,
  ).data;
}

describe('defining owned statuses', () => {
  it('refuses an owner role the organization does not have', async () => {
    expectProblem(
      await admin.client.post(`/api/v1/objects/${OBJECT}/fields`, {
        label: 'Phase',
        type: 'status',
        statuses: { statuses: [{ value: 'a', label: 'A', owner_role: 'nobody_here' }] },
      }),
      422,
      { code: 'reference_not_found', path: 'body.statuses.statuses[0].owner_role' },
    );
  });
});

describe('a hand-off from intake to the case managers', () => {
  let caseId: string;
  let handoff: Handoff;

  it('a record entering a status the case managers own waits in their queue, with count and age', async () => {
    caseId = (await create('Rivera family')).id;
    // Entering an unowned status opens nothing.
    expect(await items(admin.client)).toEqual([]);
    expectStatus(await move(caseId, 'review'), 200);
    const waiting = await items(managers[0]!.client);
    expect(waiting).toHaveLength(1);
    handoff = waiting[0]!;
    expect(handoff).toMatchObject({
      record_id: caseId,
      record_name: 'Rivera family',
      status: 'review',
      status_label: 'Case review',
      from_status: 'intake',
      role: 'case_manager',
      state: 'waiting',
      assigned_to: null,
    });
    expect(handoff.number_label).toMatch(/^CASE-\d{5}$/);
    expect(handoff.age_seconds).toBeGreaterThanOrEqual(0);
    const q = await queue(managers[0]!.client);
    expect(q).toMatchObject({ role_label: 'Case managers', waiting: 1, mine: true, assignment: 'manual' });
    expect(q.oldest_age_seconds).not.toBeNull();
    expect((await queue(intake.client)).mine).toBe(false);
    const all = expectStatus<{ data: Queue[] }>(await intake.client.get('/api/v1/queues'), 200).data;
    expect(all.map((x) => x.role)).toContain('case_manager');
  });

  it('every case manager is told a hand-off waits; the sender is not', async () => {
    for (const m of managers) {
      const mine = (await inbox(m.client)).filter((n) => n.record.id === caseId);
      expect(mine.map((n) => n.kind)).toContain('handoff_waiting');
      expect(mine.find((n) => n.kind === 'handoff_waiting')!.title).toContain(
        'Rivera family to your queue (Case review · Case managers)',
      );
    }
    expect((await inbox(intake.client)).filter((n) => n.kind === 'handoff_waiting')).toEqual([]);
  });

  it('only the owning role decides: intake gets 403; another tenant gets 404', async () => {
    expectProblem(await intake.client.post(`/api/v1/handoffs/${handoff.id}/accept`, {}), 403, {
      code: 'handoff_not_your_role',
    });
    expectProblem(await other.client.post(`/api/v1/handoffs/${handoff.id}/accept`, {}), 404);
    expectProblem(await other.client.get(`/api/v1/handoffs/${handoff.id}`), 404);
    expectProblem(await other.client.post(`/api/v1/handoffs/${handoff.id}/deny`, { reason: 'no' }), 404);
    expect(await items(other.client)).toEqual([]);
  });

  it('two case managers accepting at once: one wins and owns the record, the other gets 409', async () => {
    const answers = await Promise.all(
      managers.map((m) => m.client.post(`/api/v1/handoffs/${handoff.id}/accept`, {})),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.findIndex((a) => a.status === 200);
    expect(answers[1 - winner]!.body).toMatchObject({ code: 'handoff_decided' });
    expect(answers[winner]!.body).toMatchObject({ state: 'accepted' });
    const record = expectStatus<{ owner_id: string }>(await admin.client.get(`${url}/${caseId}`), 200);
    expect(record.owner_id).toBe(managers[winner]!.userId);
    expect(await items(admin.client)).toEqual([]);
    expect((await items(admin.client, 'case_manager', '?state=accepted'))[0]!.id).toBe(handoff.id);
    // The sender (the previous owner) hears it was accepted.
    expect((await inbox(intake.client)).filter((n) => n.record.id === caseId).map((n) => n.kind)).toContain(
      'handoff_accepted',
    );
    // A case manager moving it on within their own statuses opens no hand-off.
    expectStatus(await move(caseId, 'matching', managers[winner]!.client), 200);
    expect(await items(admin.client)).toEqual([]);
  });

  it('the timeline tells the hand-off and its acceptance', async () => {
    await t.drain();
    const page = expectStatus<{ data: { type: string; description: string }[] }>(
      await admin.client.get(`${url}/${caseId}/timeline`),
      200,
    );
    const types = page.data.map((e) => e.type);
    expect(types).toContain('record.handoff_requested');
    expect(types).toContain('record.handoff_accepted');
    const words = page.data.map((e) => e.description).join('\n');
    expect(words).toContain('to Case managers (Case review)');
    expect(words).toContain('accepted case Rivera family for Case managers');
  });
});

describe('denying a hand-off', () => {
  it('needs a reason and a status to return to; sends the record back with history; tells the sender', async () => {
    const { id } = await create('Chen family');
    expectStatus(await move(id, 'review'), 200);
    const h = (await items(managers[0]!.client)).find((x) => x.record_id === id)!;
    expectProblem(await managers[0]!.client.post(`/api/v1/handoffs/${h.id}/deny`, {}), 400, {
      path: 'body.reason',
    });
    expectProblem(
      await managers[0]!.client.post(`/api/v1/handoffs/${h.id}/deny`, { reason: 'x', return_to: 'nowhere' }),
      422,
      { code: 'invalid_return_status', path: 'body.return_to' },
    );
    const denied = expectStatus<Handoff>(
      await managers[0]!.client.post(`/api/v1/handoffs/${h.id}/deny`, { reason: 'Missing medical records' }),
      200,
    );
    expect(denied).toMatchObject({
      state: 'denied',
      reason: 'Missing medical records',
      returned_to: 'intake',
    });
    const record = expectStatus<{ custom: { stage: string }; owner_id: string }>(
      await admin.client.get(`${url}/${id}`),
      200,
    );
    expect(record.custom.stage).toBe('intake');
    expect(record.owner_id).toBe(intake.userId);
    const history = expectStatus<{ data: { to: { value: string }; reason: string | null }[] }>(
      await admin.client.get(`${url}/${id}/status-history`),
      200,
    ).data;
    expect(history.at(-1)).toMatchObject({ to: { value: 'intake' }, reason: 'Missing medical records' });
    const told = (await inbox(intake.client)).find((n) => n.record.id === id && n.kind === 'handoff_denied');
    expect(told?.title).toContain('sent it back: Missing medical records');
    // Decided: a second decision is a 409.
    expectProblem(await managers[1]!.client.post(`/api/v1/handoffs/${h.id}/accept`, {}), 409, {
      code: 'handoff_decided',
    });
    const mine = expectStatus<{ data: Handoff[] }>(await admin.client.get(`${url}/${id}/handoffs`), 200).data;
    expect(mine.map((x) => x.state)).toEqual(['denied']);
  });

  it('moving the record on before anyone decides cancels the waiting hand-off', async () => {
    const { id } = await create('Okafor family');
    expectStatus(await move(id, 'review'), 200);
    expectStatus(await move(id, 'closed', admin.client), 200);
    const mine = expectStatus<{ data: Handoff[] }>(await admin.client.get(`${url}/${id}/handoffs`), 200).data;
    expect(mine.map((x) => x.state)).toEqual(['cancelled']);
  });
});

describe('assignment rules', () => {
  it('round-robin gives each new hand-off to the next case manager; least-open to the one with fewest open records', async () => {
    expectProblem(
      await intake.client.patch('/api/v1/queues/case_manager', { assignment: 'round_robin' }),
      403,
    );
    expectProblem(await admin.client.patch('/api/v1/queues/case_manager', { assignment: 'sometimes' }), 400, {
      path: 'body.assignment',
    });
    const q = expectStatus<Queue>(
      await admin.client.patch('/api/v1/queues/case_manager', { assignment: 'round_robin' }),
      200,
    );
    expect(q.assignment).toBe('round_robin');
    const assigned: (string | null)[] = [];
    for (const name of ['RR one', 'RR two', 'RR three']) {
      const { id } = await create(name);
      expectStatus(await move(id, 'review'), 200);
      assigned.push((await items(admin.client)).find((x) => x.record_id === id)!.assigned_to);
    }
    const ids = managers.map((m) => m.userId).sort();
    expect(assigned[0]).not.toBe(assigned[1]);
    expect(assigned[2]).toBe(assigned[0]);
    expect(new Set(assigned)).toEqual(new Set(ids));
    // Only the assignee is told.
    const forMe = await items(managers[0]!.client, 'case_manager', '?assigned=me');
    expect(forMe.every((x) => x.assigned_to === managers[0]!.userId)).toBe(true);
    expect((await queue(managers[0]!.client)).waiting_for_me).toBe(forMe.length);

    // least_open: the manager who owns fewer open cases gets the next one.
    expectStatus(await admin.client.patch('/api/v1/queues/case_manager', { assignment: 'least_open' }), 200);
    const open = await items(admin.client);
    for (const h of open)
      expectStatus(await managers[0]!.client.post(`/api/v1/handoffs/${h.id}/accept`, {}), 200);
    const { id } = await create('Least open');
    expectStatus(await move(id, 'review'), 200);
    expect((await items(admin.client)).find((x) => x.record_id === id)!.assigned_to).toBe(
      managers[1]!.userId,
    );
  });

  it('an unknown role or queue is refused', async () => {
    expectProblem(await admin.client.patch('/api/v1/queues/ghost_role', { assignment: 'manual' }), 422, {
      code: 'reference_not_found',
    });
    expectProblem(await admin.client.get('/api/v1/queues/ghost_role'), 404);
  });
});
