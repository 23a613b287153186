import { describe, expect, it } from 'vitest';
import {
  addMember,
  type Client,
  defaultPipeline,
  expectProblem,
  expectStatus,
  newDeal,
  postOk,
  useOrganization,
} from './kit/index.js';

// Issue 22, "Done means": an admin creates a "Support" role that cannot see opportunity values or
// export, and a user with that role finds those values absent everywhere (tables, detail, board,
// filters, sorts, export, timeline, search, the registry, the API); a read-only key cannot write;
// a key never exceeds its creator's role; team scope reaches teammates' records and no others.

const org = useOrganization('Access profiles');
const AMOUNT = 424242.5;
const NEW_AMOUNT = 737373;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Creates a role as the admin; its answer. */
async function createRole(body: Record<string, unknown>) {
  return expectStatus(await org.admin.client.post('/api/v1/roles', body), 201, `role ${String(body.key)}`);
}

/** A new member holding `role` (invited as a user, then given the role). */
async function memberWith(role: string) {
  const member = await addMember(org.t, org.admin.client, 'user');
  expectStatus(await org.admin.client.patch(`/api/v1/members/${member.userId}`, { role }), 204);
  return member;
}

const filterOn = (field: string, op: string, value: unknown) =>
  encodeURIComponent(JSON.stringify({ field, op, value }));

describe('a Support role that cannot see opportunity values or export', () => {
  let support: { client: Client; userId: string };
  let deal: { id: string; title: string };

  it('is created by an admin and given to a member; the audit log records both', async () => {
    const role = await createRole({
      key: 'support',
      name: 'Support',
      description: 'Answers customers; no deal values, no exports',
      objects: {
        opportunity: {
          rights: ['read', 'update', 'create'],
          scope: 'all',
          fields: { amount: 'hidden', currency: 'read', title: 'write' },
        },
      },
      default_access: { rights: ['create', 'read', 'update'], scope: 'all' },
    });
    // Rights in their canonical order; `write` (no narrowing) is not stored.
    expect(role.objects.opportunity).toEqual({
      rights: ['create', 'read', 'update'],
      scope: 'all',
      fields: { amount: 'hidden', currency: 'read' },
    });
    const roles = expectStatus(await org.admin.client.get('/api/v1/roles'), 200).data;
    expect(roles.map((r: { key: string }) => r.key)).toEqual(['admin', 'user', 'viewer', 'support']);

    deal = await newDeal(org.admin.client, 'Glacier renewal', { amount: AMOUNT });
    expectStatus(
      await org.admin.client.patch(`/api/v1/opportunities/${deal.id}`, { amount: NEW_AMOUNT }),
      200,
    );
    support = await memberWith('support');
    const members = expectStatus(await org.admin.client.get('/api/v1/members'), 200).data;
    expect(members.find((m: { user_id: string }) => m.user_id === support.userId)?.role).toBe('support');

    const log = expectStatus(await org.admin.client.get('/api/v1/audit'), 200).data as {
      action: string;
      details: Record<string, unknown>;
    }[];
    expect(log.find((e) => e.action === 'role.created')?.details).toMatchObject({ key: 'support' });
    expect(log.find((e) => e.action === 'member.role_changed')?.details).toEqual({ role: 'support' });
  });

  it('finds the value absent from the list, the detail, the board and the search', async () => {
    const c = support.client;
    const list = expectStatus(await c.get('/api/v1/opportunities'), 200);
    const row = list.data.find((d: { id: string }) => d.id === deal.id);
    expect(row.title).toBe('Glacier renewal');
    expect(row).not.toHaveProperty('amount');
    expect(row.currency).toBe('EUR');

    const detail = expectStatus(await c.get(`/api/v1/opportunities/${deal.id}`), 200);
    expect(detail.title).toBe('Glacier renewal');
    expect(detail).not.toHaveProperty('amount');

    const pipeline = await defaultPipeline(c);
    const board = expectStatus(await c.get(`/api/v1/pipelines/${pipeline.id}/board`), 200);
    const card = board.columns
      .flatMap((col: { cards: { id: string }[] }) => col.cards)
      .find((x: { id: string }) => x.id === deal.id);
    expect(card.title).toBe('Glacier renewal');
    expect(card).not.toHaveProperty('amount');
    expect(board.columns[0]).not.toHaveProperty('sums');
    expect(board).not.toHaveProperty('total');

    const report = expectStatus(await c.get(`/api/v1/pipelines/${pipeline.id}/report`), 200);
    expect(report.stages[0]).not.toHaveProperty('total');

    const hits = expectStatus(await c.get('/api/v1/search?q=glacier'), 200);
    expect(hits.data.map((h: { id: string }) => h.id)).toContain(deal.id);

    for (const text of [list, detail, board, report, hits].map((b) => JSON.stringify(b))) {
      expect(text).not.toContain(String(AMOUNT));
      expect(text).not.toContain(String(NEW_AMOUNT));
    }
    // The admin still sees it.
    const own = expectStatus(await org.admin.client.get(`/api/v1/opportunities/${deal.id}`), 200);
    expect(own.amount).toBe(NEW_AMOUNT);
  });

  it('cannot filter, sort, select or count on it: the query names the field, values cannot be inferred', async () => {
    const c = support.client;
    const byFilter = await c.get(`/api/v1/opportunities?filter=${filterOn('amount', 'gt', 1000)}`);
    expectProblem(byFilter, 400, { code: 'invalid_query' });
    expect(byFilter.body.detail ?? byFilter.body.title).toBeDefined();
    expectProblem(await c.get('/api/v1/opportunities?sort=-amount'), 400, {
      code: 'invalid_query',
      path: 'sort[0].field',
    });
    expectProblem(await c.get('/api/v1/opportunities?fields=title,amount'), 400, {
      code: 'invalid_query',
      path: 'fields[1]',
    });
    expectProblem(
      await c.post('/api/v1/opportunities/query', { sort: [{ field: 'amount', direction: 'desc' }] }),
      400,
      {
        code: 'invalid_query',
        path: 'sort[0].field',
      },
    );
    expectProblem(
      await c.get(`/api/v1/opportunities/count?filter=${filterOn('amount', 'eq', NEW_AMOUNT)}`),
      400,
      'invalid_query',
    );
    const pipeline = await defaultPipeline(c);
    expectProblem(
      await c.get(`/api/v1/pipelines/${pipeline.id}/board?filter=${filterOn('amount', 'gt', 0)}`),
      400,
      'invalid_query',
    );
    // The registry the web app builds tables, forms and filters from: no amount, currency read-only.
    const described = expectStatus(await c.get('/api/v1/objects/opportunity'), 200);
    const keys = described.fields.map((f: { key: string }) => f.key);
    expect(keys).toContain('title');
    expect(keys).not.toContain('amount');
    expect(described.fields.find((f: { key: string }) => f.key === 'currency').read_only).toBe(true);
  });

  it('cannot export (403) nor write a hidden or read-only field (403 naming the field)', async () => {
    const c = support.client;
    expectProblem(await c.get('/api/v1/opportunities/export?format=csv'), 403, 'right_denied');
    expectProblem(await c.get('/api/v1/contacts/export?format=jsonl'), 403, 'right_denied');
    expectProblem(await c.patch(`/api/v1/opportunities/${deal.id}`, { amount: 1 }), 403, {
      code: 'field_not_writable',
      path: 'body.amount',
    });
    expectProblem(await c.patch(`/api/v1/opportunities/${deal.id}`, { currency: 'USD' }), 403, {
      code: 'field_not_writable',
      path: 'body.currency',
    });
    expectProblem(await c.post('/api/v1/opportunities', { title: 'Sneaky', amount: 5 }), 403, {
      code: 'field_not_writable',
      path: 'body.amount',
    });
    const renamed = expectStatus(
      await c.patch(`/api/v1/opportunities/${deal.id}`, { title: 'Glacier renewal 2027' }),
      200,
    );
    expect(renamed).not.toHaveProperty('amount');
    // Deleting is not among its rights either.
    expectProblem(await c.post(`/api/v1/opportunities/${deal.id}/archive`), 403, 'right_denied');
    const own = expectStatus(await org.admin.client.get(`/api/v1/opportunities/${deal.id}`), 200);
    expect(own.amount).toBe(NEW_AMOUNT);
  });

  it('sees in the timeline that the amount changed, never from what to what', async () => {
    const timeline = expectStatus(await support.client.get(`/api/v1/opportunities/${deal.id}/timeline`), 200);
    const text = JSON.stringify(timeline);
    expect(text).not.toContain(String(AMOUNT));
    expect(text).not.toContain(String(NEW_AMOUNT));
    const changed = timeline.data.find(
      (e: { type: string; data: { changes?: Record<string, unknown> } }) =>
        e.type === 'opportunity.updated' && e.data.changes?.amount,
    );
    expect(changed.data.changes.amount).toEqual({ redacted: true, before: null, after: null });
    expect(changed.description).toMatch(/amount/i);
    // The admin's timeline keeps the values.
    const full = JSON.stringify(
      expectStatus(await org.admin.client.get(`/api/v1/opportunities/${deal.id}/timeline`), 200),
    );
    expect(full).toContain(String(NEW_AMOUNT));
  });

  it('is not deletable while held, and a built-in role name is not a key to take', async () => {
    const roles = expectStatus(await org.admin.client.get('/api/v1/roles'), 200).data;
    const id = roles.find((r: { key: string }) => r.key === 'support').id;
    expectProblem(await org.admin.client.delete(`/api/v1/roles/${id}`), 409, 'role_in_use');
    expectProblem(await org.admin.client.post('/api/v1/roles', { key: 'admin', name: 'Admin 2' }), 409, {
      code: 'role_exists',
      path: 'body.key',
    });
    expectProblem(
      await org.admin.client.post('/api/v1/roles', {
        key: 'odd',
        name: 'Odd',
        objects: { opportunity: { rights: ['read'], fields: { wingspan: 'hidden' } } },
      }),
      422,
      { code: 'unknown_field', path: 'body.objects.opportunity.fields.wingspan' },
    );
    expectProblem(
      await org.admin.client.post('/api/v1/roles', {
        key: 'odd',
        name: 'Odd',
        objects: { unicorn: { rights: [] } },
      }),
      422,
      { code: 'unknown_object', path: 'body.objects.unicorn' },
    );
    expectProblem(
      await org.admin.client.patch('/api/v1/members/00000000-0000-4000-8000-000000000001', {
        role: 'support',
      }),
      404,
    );
    const member = await addMember(org.t, org.admin.client, 'viewer');
    expectProblem(await org.admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'nobody' }), 422, {
      code: 'reference_not_found',
      path: 'body.role',
    });
    // Only admins see and manage roles and teams.
    expectProblem(await support.client.get('/api/v1/roles'), 403, 'forbidden');
    expectProblem(await support.client.post('/api/v1/teams', { name: 'Mine' }), 403, 'forbidden');
  });

  it('a role change reaches the member at their next request', async () => {
    const roles = expectStatus(await org.admin.client.get('/api/v1/roles'), 200).data;
    const id = roles.find((r: { key: string }) => r.key === 'support').id;
    const updated = expectStatus(
      await org.admin.client.patch(`/api/v1/roles/${id}`, {
        objects: { opportunity: { rights: ['read', 'export'], scope: 'all', fields: { amount: 'hidden' } } },
      }),
      200,
    );
    expect(updated.objects.opportunity.rights).toEqual(['read', 'export']);
    const csv = await support.client.get('/api/v1/opportunities/export?format=csv');
    expect(csv.status, csv.text).toBe(200);
    expect(csv.text).toContain('Glacier renewal');
    expect(csv.text).not.toMatch(/Amount/);
    expect(csv.text).not.toContain(String(NEW_AMOUNT));
    const jsonl = await support.client.get('/api/v1/opportunities/export?format=jsonl');
    expect(jsonl.text).toContain('Glacier renewal');
    expect(jsonl.text).not.toContain('"amount"');
    // Update is gone with the change.
    expectProblem(
      await support.client.patch(`/api/v1/opportunities/${deal.id}`, { title: 'X' }),
      403,
      'right_denied',
    );
    const log = expectStatus(await org.admin.client.get('/api/v1/audit'), 200).data as { action: string }[];
    expect(log.some((e) => e.action === 'role.updated')).toBe(true);
  });
});

describe('API keys scoped per object and right', () => {
  type Issued = { id: string; key: string };
  const issue = async (client: Client, body: Record<string, unknown>) =>
    expectStatus<Issued>(await client.post('/api/v1/api-keys', { name: 'Scoped', ...body }), 201);
  const script = (key: string) => {
    const c = org.t.client({ origin: null });
    return {
      get: (url: string) => c.get(url, bearer(key)),
      post: (url: string, body: unknown) => c.post(url, body, bearer(key)),
      patch: (url: string, body: unknown) => c.request('PATCH', url, body, bearer(key)),
    };
  };

  it('a key reaches only its objects with only its rights; a read-only key cannot write', async () => {
    const { key, id } = await issue(org.admin.client, { scopes: { contact: ['read', 'create'] } });
    const keys = expectStatus(await org.admin.client.get('/api/v1/api-keys'), 200).data;
    expect(keys.find((k: { id: string }) => k.id === id).scopes).toEqual({ contact: ['read', 'create'] });
    const api = script(key);
    const made = expectStatus(await api.post('/api/v1/contacts', { first_name: 'Scoped' }), 201);
    expectStatus(await api.get(`/api/v1/contacts/${made.id}`), 200);
    expectProblem(await api.patch(`/api/v1/contacts/${made.id}`, { first_name: 'No' }), 403, 'right_denied');
    expectProblem(await api.get('/api/v1/opportunities'), 403, 'right_denied');
    expectProblem(await api.get('/api/v1/contacts/export'), 403, 'right_denied');
    expectProblem(await api.post('/api/v1/companies', { name: 'No' }), 403, 'right_denied');

    const readOnly = script(
      (await issue(org.admin.client, { read_only: true, scopes: { contact: ['read', 'update'] } })).key,
    );
    expectStatus(await readOnly.get('/api/v1/contacts'), 200);
    expectProblem(await readOnly.post('/api/v1/contacts', { first_name: 'No' }), 403, 'api_key_read_only');
    expectProblem(
      await readOnly.patch(`/api/v1/contacts/${made.id}`, { first_name: 'No' }),
      403,
      'api_key_read_only',
    );

    expectProblem(
      await org.admin.client.post('/api/v1/api-keys', { name: 'Bad', scopes: { unicorn: ['read'] } }),
      422,
      {
        code: 'unknown_object',
        path: 'body.scopes.unicorn',
      },
    );
  });

  it("never exceeds its creator's role: a demoted creator's key loses what they lost", async () => {
    const second = await addMember(org.t, org.admin.client, 'admin');
    const { key } = await issue(second.client, {});
    const api = script(key);
    const deal = await newDeal(org.admin.client, 'Key deal', { amount: 31337 });
    expect(expectStatus(await api.get(`/api/v1/opportunities/${deal.id}`), 200).amount).toBe(31337);
    await createRole({
      key: 'no_values',
      name: 'No values',
      objects: { opportunity: { rights: ['read'], scope: 'all', fields: { amount: 'hidden' } } },
    });
    expectStatus(
      await org.admin.client.patch(`/api/v1/members/${second.userId}`, { role: 'no_values' }),
      204,
    );
    const seen = expectStatus(await api.get(`/api/v1/opportunities/${deal.id}`), 200);
    expect(seen).not.toHaveProperty('amount');
    expectProblem(await api.patch(`/api/v1/opportunities/${deal.id}`, { title: 'No' }), 403, 'right_denied');
    expectStatus(await org.admin.client.patch(`/api/v1/members/${second.userId}`, { role: 'viewer' }), 204);
    expectProblem(await api.post('/api/v1/contacts', { first_name: 'No' }), 403, 'api_key_read_only');
    expectStatus(await org.admin.client.delete(`/api/v1/members/${second.userId}`), 204);
    expectProblem(await api.get('/api/v1/contacts'), 401, 'unauthenticated');
  });
});

describe('teams and the team scope', () => {
  it("a team-scoped role sees its own and its teammates' records, and no others (404 by id)", async () => {
    await createRole({
      key: 'team_rep',
      name: 'Team rep',
      objects: {
        opportunity: { rights: ['create', 'read', 'update', 'export'], scope: 'team' },
        contact: { rights: ['read'], scope: 'own' },
      },
    });
    const rep = await memberWith('team_rep');
    const mate = await addMember(org.t, org.admin.client, 'user');
    const stranger = await addMember(org.t, org.admin.client, 'user');
    const team = await postOk(org.admin.client, '/api/v1/teams', {
      name: 'North',
      description: 'Northern accounts',
    });
    for (const who of [rep, mate])
      expectStatus(await org.admin.client.put(`/api/v1/teams/${team.id}/members/${who.userId}`), 204);
    const shown = expectStatus(await org.admin.client.get(`/api/v1/teams/${team.id}`), 200);
    expect(shown.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [rep.userId, mate.userId].sort(),
    );
    expectProblem(await org.admin.client.post('/api/v1/teams', { name: 'north' }), 409, {
      code: 'team_exists',
      path: 'body.name',
    });

    const mine = await newDeal(rep.client, 'Rep own deal');
    const mates = await newDeal(mate.client, 'Mate deal');
    const strangers = await newDeal(stranger.client, 'Stranger deal');
    const unowned = await newDeal(org.admin.client, 'Nobody deal', { owner_id: null });

    const listed = expectStatus(await rep.client.get('/api/v1/opportunities?limit=200'), 200).data.map(
      (d: { id: string }) => d.id,
    );
    expect(listed).toEqual(expect.arrayContaining([mine.id, mates.id]));
    expect(listed).not.toContain(strangers.id);
    expect(listed).not.toContain(unowned.id);
    expectStatus(await rep.client.get(`/api/v1/opportunities/${mates.id}`), 200);
    expectProblem(await rep.client.get(`/api/v1/opportunities/${strangers.id}`), 404, 'not_found');
    expectProblem(await rep.client.get(`/api/v1/opportunities/${strangers.id}/timeline`), 404, 'not_found');
    expectProblem(
      await rep.client.patch(`/api/v1/opportunities/${strangers.id}`, { title: 'Mine now' }),
      404,
      'not_found',
    );
    const count = expectStatus(await rep.client.get('/api/v1/opportunities/count'), 200);
    expect(count.count).toBe(listed.length);
    const csv = await rep.client.get('/api/v1/opportunities/export?format=csv');
    expect(csv.text).toContain('Mate deal');
    expect(csv.text).not.toContain('Stranger deal');
    const hits = expectStatus(await rep.client.get('/api/v1/search?q=deal'), 200).data.map(
      (h: { id: string }) => h.id,
    );
    expect(hits).toContain(mates.id);
    expect(hits).not.toContain(strangers.id);
    const pipeline = await defaultPipeline(rep.client);
    const board = JSON.stringify(
      expectStatus(await rep.client.get(`/api/v1/pipelines/${pipeline.id}/board`), 200),
    );
    expect(board).toContain(mates.id);
    expect(board).not.toContain(strangers.id);

    // Taken out of the team, the mate's records leave the rep's reach.
    expectStatus(await org.admin.client.delete(`/api/v1/teams/${team.id}/members/${mate.userId}`), 204);
    expectProblem(await rep.client.get(`/api/v1/opportunities/${mates.id}`), 404, 'not_found');
    // Own scope on contacts: only the rep's own (none), not the admin's.
    await postOk(org.admin.client, '/api/v1/contacts', { first_name: 'Admin contact' });
    expect(expectStatus(await rep.client.get('/api/v1/contacts'), 200).data).toEqual([]);
    // Objects its role does not name: the default (read all, nothing else).
    expectStatus(await rep.client.get('/api/v1/companies'), 200);
    expectProblem(await rep.client.post('/api/v1/companies', { name: 'No' }), 403, 'right_denied');

    expectStatus(await org.admin.client.patch(`/api/v1/teams/${team.id}`, { name: 'North-east' }), 200);
    expectStatus(await org.admin.client.delete(`/api/v1/teams/${team.id}`), 204);
    expectProblem(await org.admin.client.get(`/api/v1/teams/${team.id}`), 404, 'not_found');
    const log = expectStatus(await org.admin.client.get('/api/v1/audit'), 200).data.map(
      (e: { action: string }) => e.action,
    );
    expect(log).toEqual(
      expect.arrayContaining(['team.created', 'team.member_added', 'team.member_removed', 'team.deleted']),
    );
  });
});
