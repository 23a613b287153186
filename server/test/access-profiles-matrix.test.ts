import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installAccessGuard, rightsOfRoute } from '../src/platform/access/access-guard.js';
import type { FieldDef, ObjectDef } from '../src/platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../src/platform/registry/standard-objects.js';
import { addMember, type Client, expectProblem, expectStatus, postOk, useOrganization } from './kit/index.js';

// Issue 22's checks, generated: the field-level matrix from the registry (every field of every
// object, custom ones included, hidden: absent from lists, the registry, refused as filter, sort
// and selected field) and the route walk (every record route declares its rights; a role without
// them is refused on each; a new record route without rights does not start).

const CUSTOM = 'gizmo';
const NOWHERE = '00000000-0000-4000-8000-00000000beef';

const org = useOrganization('Access matrix', {
  prepare: async ({ admin }) => {
    await postOk(admin.client, '/api/v1/objects', {
      key: CUSTOM,
      label_singular: 'Gizmo',
      label_plural: 'Gizmos',
    });
    for (const field of [
      { label: 'Serial', type: 'text' },
      { label: 'Weight', type: 'number' },
      { label: 'Made on', type: 'date' },
    ])
      await postOk(admin.client, `/api/v1/objects/${CUSTOM}/fields`, field);
    await postOk(admin.client, '/api/v1/objects/contact/fields', { label: 'Shoe size', type: 'number' });
  },
});

type Description = {
  key: string;
  fields: (Pick<FieldDef, 'key' | 'filterable' | 'sortable' | 'retired'> & {})[];
};

/** The list route of an object (`/api/v1/contacts`, `/api/v1/records/gizmo`). */
const listUrl = (object: string) => {
  const def: ObjectDef | undefined = STANDARD_OBJECTS[object];
  if (!def) return `/api/v1/records/${object}`;
  return `/api/v1/${def.labelPlural.toLowerCase()}`;
};
const filterOf = (field: string) => encodeURIComponent(JSON.stringify({ field, op: 'isNotEmpty' }));

/** A member holding a new role made from `objects` (and `default_access`). */
async function memberWithRole(key: string, body: Record<string, unknown>): Promise<Client> {
  expectStatus(await org.admin.client.post('/api/v1/roles', { key, name: key, ...body }), 201, key);
  const member = await addMember(org.t, org.admin.client, 'user');
  expectStatus(await org.admin.client.patch(`/api/v1/members/${member.userId}`, { role: key }), 204);
  return member.client;
}

describe('the field-level matrix, from the registry', () => {
  it('every field of every object, hidden, is absent from lists and the registry and refused in queries', async () => {
    const objects = expectStatus<{ data: Description[] }>(
      await org.admin.client.get('/api/v1/objects'),
      200,
    ).data;
    const listed = objects.filter((o) => o.key !== 'task' && o.key !== 'note');
    expect(listed.map((o) => o.key)).toEqual(
      expect.arrayContaining(['contact', 'company', 'opportunity', CUSTOM]),
    );
    // One role hides every field of every object but the id: each field is its own case below.
    const hidden = (o: Description) =>
      Object.fromEntries(o.fields.filter((f) => f.key !== 'id' && !f.retired).map((f) => [f.key, 'hidden']));
    const client = await memberWithRole('blindfold', {
      objects: Object.fromEntries(
        objects.map((o) => [o.key, { rights: ['read'], scope: 'all', fields: hidden(o) }]),
      ),
    });
    // A record of each object, so lists have rows to inspect.
    await postOk(org.admin.client, '/api/v1/contacts', { first_name: 'Matrix', custom: { shoe_size: 44 } });
    await postOk(org.admin.client, '/api/v1/companies', { name: 'Matrix Co' });
    await postOk(org.admin.client, '/api/v1/opportunities', { title: 'Matrix deal', amount: 5 });
    await postOk(org.admin.client, '/api/v1/products', { name: 'Matrix product', sku: 'MTX-1' });
    await postOk(org.admin.client, `/api/v1/records/${CUSTOM}`, {
      custom: { name: 'Gizmo 1', serial: 'SN-1', weight: 3 },
    });

    let cases = 0;
    for (const object of listed) {
      const url = listUrl(object.key);
      const seen = expectStatus<{ fields: { key: string }[] }>(
        await client.get(`/api/v1/objects/${object.key}`),
        200,
      );
      expect(
        seen.fields.map((f) => f.key),
        object.key,
      ).toEqual(['id']);
      const rows = expectStatus<{ data: Record<string, unknown>[] }>(await client.get(url), 200, url).data;
      expect(rows.length, url).toBeGreaterThan(0);
      for (const row of rows) {
        expect(
          Object.keys(row).filter((k) => k !== 'custom'),
          url,
        ).toEqual(['id']);
        expect(row.custom ?? {}, url).toEqual({});
      }
      for (const field of object.fields.filter((f) => f.key !== 'id' && !f.retired)) {
        const label = `${object.key}.${field.key}`;
        expectProblem(await client.get(`${url}?fields=${field.key}`), 400, {
          code: 'invalid_query',
          path: 'fields[0]',
          label,
        });
        if (field.filterable)
          expectProblem(await client.get(`${url}?filter=${filterOf(field.key)}`), 400, {
            code: 'invalid_query',
            label,
          });
        if (field.sortable)
          expectProblem(await client.get(`${url}?sort=${field.key}`), 400, {
            code: 'invalid_query',
            path: 'sort[0].field',
            label,
          });
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(40);
  });
});

type Route = { method: string; url: string; access: string; rights?: unknown };

describe('the route walk: every record route declares its rights', () => {
  it('every route that reaches records names its object and right (or none)', () => {
    const routes = org.t.routes as Route[];
    const recordRoutes = routes.filter((r) => r.access.startsWith('records:'));
    expect(recordRoutes.length).toBeGreaterThan(50);
    for (const route of recordRoutes) expect(route.rights, `${route.method} ${route.url}`).toBeDefined();
    expect(rightsOfRoute('GET', '/api/v1/opportunities/export')).toEqual({
      object: 'opportunity',
      right: 'export',
    });
    expect(rightsOfRoute('POST', '/api/v1/records/:object/:id/archive')).toEqual({
      object: ':object',
      right: 'delete',
      id: 'record',
    });
  });

  it('a new record route without declared rights does not start', async () => {
    const app = Fastify();
    installAccessGuard(app, org.t.services.database);
    expect(() =>
      app.post('/api/v1/widgets/:id/frobnicate', { config: { access: 'records:write' } }, async () => ({})),
    ).toThrow(/declares no config.rights/);
    await app.close().catch(() => {});
    const declared = Fastify();
    installAccessGuard(declared, org.t.services.database);
    declared.post(
      '/api/v1/widgets/:id/frobnicate',
      { config: { access: 'records:write', rights: { object: 'contact', right: 'update' } } },
      async () => ({}),
    );
    await declared.ready();
    await declared.close();
  });

  it('a role with no rights is refused 403 right_denied on every record route; one with all passes the check', async () => {
    const none = await memberWithRole('nothing', { default_access: { rights: [], scope: 'all' } });
    // Refused on every record route on purpose: more refusals than the guard's budget of failed
    // authorization attempts allows (it would lock the member), so the walk raises it for this role.
    const unlimited = { warn: 1_000_000, block: 1_000_000, window_seconds: 600 };
    expectStatus(
      await org.admin.client.put('/api/v1/guard/settings', {
        role: 'nothing',
        budgets: { denied: unlimited },
      }),
      200,
    );
    const everything = await memberWithRole('everything', {
      default_access: { rights: ['create', 'read', 'update', 'delete', 'export', 'import'], scope: 'all' },
    });
    const routes = (org.t.routes as Route[]).filter(
      (r) => r.access.startsWith('records:') && r.rights !== 'none' && r.access !== 'records:purge',
    );
    const urlOf = (url: string) =>
      url
        .replace(':object', CUSTOM)
        .replace(/:[A-Za-z]+/g, NOWHERE)
        .replace(/\*$/, 'x');
    let walked = 0;
    for (const route of routes) {
      const url = urlOf(route.url);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      const label = `${route.method} ${route.url}`;
      const refused = await none.request(route.method as 'GET', url, body);
      // A route that takes only a file upload refuses a JSON body before any check (415).
      if (refused.status === 415) continue;
      expectProblem(refused, 403, { code: 'right_denied', label });
      const passed = await everything.request(route.method as 'GET', url, body);
      expect(passed.status === 403 && passed.body?.code === 'right_denied', `${label}: ${passed.text}`).toBe(
        false,
      );
      expect(passed.status, `${label}: ${passed.text}`).toBeLessThan(500);
      walked++;
    }
    expect(walked).toBeGreaterThan(40);
  });
});
