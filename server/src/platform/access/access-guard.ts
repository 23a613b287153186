import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { isId } from '../../db/ids.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../errors/app-error.js';
import { cachedObjectDef } from '../registry/registry.service.js';
import type { ObjectDef } from '../registry/registry.types.js';
import { STANDARD_OBJECTS } from '../registry/standard-objects.js';
import {
  assertAnyRight,
  assertRight,
  assertWritableInput,
  hiddenKeysOf,
  rowScopeSql,
  stripKeys,
} from './access-profile.js';
import type { Right } from './access-profile.types.js';

/**
 * What a route does to which object's records, for access profiles (issue 22):
 * - `{object, right}`: the route uses `right` on `object` (a key, or `:object` for the path
 *   parameter of the custom records' routes); `id: 'record'` says its `:id` is such a record
 *   (one beyond the caller's record scope is then a 404, as another tenant's);
 * - `{object: '*', right}`: the right on some object (search, imports: their services narrow it);
 * - `'none'`: the route reads or writes no record (settings, the caller's own things, metadata).
 */
export type RouteRights = { object: string; right: Right; id?: 'record' } | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the route does to records, checked against the caller's access profile. Routes with a
     * `records:*` access that do not declare it get it from `rightsOfRoute`; one that matches no
     * rule there stops start-up, so a new record route cannot skip the check.
     */
    rights?: RouteRights;
  }
}

/** The URL collection of each standard object's routes. */
const COLLECTIONS: Record<string, string> = {
  contacts: 'contact',
  companies: 'company',
  opportunities: 'opportunity',
  tasks: 'task',
  notes: 'note',
  products: 'product',
  records: ':object',
};
const READ_SUFFIXES = new Set([
  'count',
  'groups',
  'duplicates',
  'timeline',
  'history',
  'status-history',
  'handoffs',
  'board',
  'price',
  'lines',
]);

/**
 * The rights of a record route by its method and URL (`/api/v1/<collection>/...`), or undefined
 * when no rule names it. The rules, for `<collection>` a standard object's or `records/:object`:
 * GET reads (`/export` exports); POST to the collection creates, `/query` reads; PATCH and the
 * state changes (`move`, `close`, `reopen`, `bulk`, merges, duplicates) update; archive, restore
 * and DELETE delete. The board and the pipeline report read opportunities; search and merges' undo
 * take the right on some object; imports and their mappings the import right.
 */
export function rightsOfRoute(method: string, url: string): RouteRights | undefined {
  const parts = url.replace(/^\/api\/v1\//, '').split('/');
  const [head] = parts;
  if (head === 'search') return { object: '*', right: 'read' };
  if (head === 'imports' || head === 'import-mappings') return { object: '*', right: 'import' };
  if (head === 'merges') return { object: '*', right: 'update' };
  if (head === 'views' || head === 'tags' || head === 'objects') return 'none';
  // The caller's own things and settings read by every member: no records.
  if (head === 'me' || head === 'sales-settings' || head === 'workflows' || head === 'workflow-runs') {
    // Starting a workflow on records changes them as the workflow says.
    if (head === 'workflows' && method === 'POST') return { object: '*', right: 'update' };
    return 'none';
  }
  // Files hang on a record named in the request (`?object=&id=`): the right on that object.
  if (head === 'files')
    return { object: '*', right: method === 'GET' || parts[2] === 'link' ? 'read' : 'update' };
  // The home page and REST hooks (event payloads carry records): reading some object.
  if (head === 'home' || head === 'hooks') return { object: '*', right: 'read' };
  if (head === 'consents') return { object: 'contact', right: method === 'GET' ? 'read' : 'update' };
  // Outreach (issue 25): sequences send to contacts; the suppression list names their addresses.
  if (head === 'sequences' || head === 'sequence-enrollments' || head === 'suppressions')
    return { object: 'contact', right: method === 'GET' ? 'read' : 'update' };
  // Broadcasts (issue 33) send to contacts; the segment's preview only reads them.
  if (head === 'broadcasts')
    return { object: 'contact', right: method === 'GET' || parts[1] === 'preview' ? 'read' : 'update' };
  // The inbox: conversations and messages with contacts (issue 23).
  if (head === 'conversations' || head === 'messages')
    return { object: 'contact', right: method === 'GET' ? 'read' : 'update' };
  // Message templates (issue 23) are texts, no records; rendering one reads the contact it fills.
  if (head === 'message-templates')
    return parts[1] === 'render' ? { object: 'contact', right: 'read' } : 'none';
  if (head === 'price-lists') return { object: 'product', right: method === 'GET' ? 'read' : 'update' };
  // Quotes are the deals' documents.
  if (head === 'quotes')
    return { object: 'opportunity', right: method === 'GET' || parts[1] === 'totals' ? 'read' : 'update' };
  // Orders are the deals' documents too (issue 29); stock and warehouses hold products.
  if (head === 'orders') return { object: 'opportunity', right: method === 'GET' ? 'read' : 'update' };
  if (head === 'stock' || head === 'warehouses')
    return { object: 'product', right: method === 'GET' ? 'read' : 'update' };
  if (head === 'exchange-rates') return 'none';
  // Hand-off queues (issue 21) hold records of any object; deciding one updates its record.
  if (head === 'queues' || head === 'handoffs')
    return { object: '*', right: method === 'GET' ? 'read' : 'update' };
  // Templates define objects, roles and views: settings (admins), no records.
  if (head === 'templates') return 'none';
  // A person's data (GDPR): the export right to take it out, the delete right to erase it.
  if (head === 'contacts' && parts[2] === 'personal-data')
    return { object: 'contact', right: 'export', id: 'record' };
  if (head === 'contacts' && parts[2] === 'erase')
    return { object: 'contact', right: 'delete', id: 'record' };
  if (head === 'pipelines') {
    if (parts[2] === 'board' || parts[2] === 'report') return { object: 'opportunity', right: 'read' };
    return 'none';
  }
  const object = head ? COLLECTIONS[head] : undefined;
  if (!object) return undefined;
  const rest = head === 'records' ? parts.slice(2) : parts.slice(1);
  const [first, second] = rest;
  const onId = first === ':id';
  const id = onId ? ({ id: 'record' } as const) : {};
  if (onId && second === 'convert') return { object: 'opportunity', right: 'create' };
  if (onId && second === 'contacts') return { object: 'contact', right: 'read' };
  if (method === 'GET') {
    if (first === 'export') return { object, right: 'export' };
    if (
      first === undefined ||
      READ_SUFFIXES.has(first) ||
      READ_SUFFIXES.has(second ?? '') ||
      (onId && !second)
    )
      return { object, right: 'read', ...id };
    return undefined;
  }
  if (method === 'DELETE') return onId && !second ? { object, right: 'delete', ...id } : undefined;
  if (method === 'PATCH') return onId && !second ? { object, right: 'update', ...id } : undefined;
  // A deal's line items (issue 29) are replaced whole.
  if (method === 'PUT') return onId && second === 'lines' ? { object, right: 'update', ...id } : undefined;
  if (method !== 'POST') return undefined;
  if (first === undefined) return { object, right: 'create' };
  if (first === 'query') return { object, right: 'read' };
  if (first === 'bulk' || first === 'merge' || first === 'duplicates') return { object, right: 'update' };
  if (onId && (second === 'archive' || second === 'restore')) return { object, right: 'delete', ...id };
  if (onId && (second === 'move' || second === 'close' || second === 'reopen' || second === 'complete'))
    return { object, right: 'update', ...id };
  return undefined;
}

const RECORD_ACCESS = new Set(['records:read', 'records:write', 'records:purge']);

/**
 * Installs the access profiles' checks on every route (install before the route guard, so the
 * route table carries each route's rights). For a caller with a profile, before the handler:
 * the object right (403 `right_denied`; bulk archive and restore need `delete`), a write naming a
 * field the role may not write (403 `field_not_writable` at its path), a record beyond the role's
 * scope (404, as an unknown id), all before the input is validated; after the handler, the
 * object's hidden fields stripped from the answer.
 * Lists, counts, exports and search are narrowed further down, by the query compiler.
 */
export function installAccessGuard(app: FastifyInstance, database: Database): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/v1/')) return;
    const access = route.config?.access;
    if (route.config?.rights || !access || !RECORD_ACCESS.has(access)) return;
    const method = [route.method].flat().find((m) => m !== 'HEAD') ?? 'GET';
    const rights = rightsOfRoute(method, route.url);
    if (!rights) throw new Error(`Route ${method} ${route.url} declares no config.rights`);
    route.config = { ...route.config, rights };
  });

  const hidden = new WeakMap<FastifyRequest, Set<string>>();

  // Before validation: a caller without the right learns nothing of the route's input rules.
  app.addHook('preValidation', async (req) => {
    const rights = req.routeOptions.config?.rights;
    if (!rights || rights === 'none' || !req.principal?.orgId) return;
    const ctx = req.tenant;
    if (!ctx.access) return assertStatusScope(database, ctx, rights, req.params);
    if (rights.object === '*') {
      // An import names its object in its query or body (`?object=contact`): that object's right.
      const named = [
        (req.query as Record<string, unknown> | undefined)?.object,
        (req.body as Record<string, unknown> | undefined)?.object,
      ].find((v): v is string => typeof v === 'string');
      return named ? assertRight(ctx, named, rights.right) : assertAnyRight(ctx, rights.right);
    }
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    const object = rights.object === ':object' ? params.object : rights.object;
    if (!object) return;
    const def = await withTenant(database, ctx, ({ tx }) => cachedObjectDef(tx, ctx.orgId, object), {
      readOnly: true,
    });
    const body = req.body as Record<string, unknown> | undefined;
    const action = typeof body?.action === 'string' ? body.action : undefined;
    const right: Right = action === 'archive' || action === 'restore' ? 'delete' : rights.right;
    assertRight(ctx, def.key, right, def.labelPlural.toLowerCase());
    if (right === 'create' || right === 'update') assertWritableInput(ctx, def, body);
    if (rights.id === 'record' && params.id && isId(params.id))
      await assertInScope(database, ctx, def, params.id);
    // A timeline redacts its entries itself, per the object each is about (timeline.service.ts).
    const keys = req.routeOptions.url?.endsWith('/timeline') ? new Set<string>() : hiddenKeysOf(ctx, def);
    if (keys.size > 0) hidden.set(req, keys);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const keys = hidden.get(req);
    if (!keys || typeof payload !== 'string' || reply.statusCode >= 300) return payload;
    if (!String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    return JSON.stringify(stripKeys(JSON.parse(payload), keys));
  });
}

/**
 * A built-in role (no access profile) restricted to the statuses it owns on a custom object
 * (platform/access/status-scope.ts): a record of it beyond them is a 404 on every route about it.
 */
async function assertStatusScope(
  database: Database,
  ctx: TenantContext,
  rights: Exclude<RouteRights, 'none'>,
  rawParams: unknown,
) {
  const params = (rawParams ?? {}) as Record<string, string | undefined>;
  if (rights.id !== 'record' || rights.object !== ':object' || !ctx.role || ctx.role === 'admin') return;
  if (!params.object || !params.id || !isId(params.id) || STANDARD_OBJECTS[params.object]) return;
  const object = params.object;
  const def = await withTenant(database, ctx, ({ tx }) => cachedObjectDef(tx, ctx.orgId, object), {
    readOnly: true,
  }).catch((error: unknown) => {
    // An unknown object answers its route's own 404.
    if (error instanceof AppError && error.status === 404) return undefined;
    throw error;
  });
  if (def?.custom?.restrictedRoles.includes(ctx.role)) await assertInScope(database, ctx, def, params.id);
}

/** @throws AppError 404 when the record `id` of `def` is beyond the context's record scope */
async function assertInScope(database: Database, ctx: TenantContext, def: ObjectDef, id: string) {
  const condition = rowScopeSql(ctx, def, 'r');
  if (!condition) return;
  const found = await withTenant(
    database,
    ctx,
    async ({ tx }) => {
      const result = await tx.execute(sql`
        select 1 from ${sql.identifier(def.table)} r
         where r.org_id = ${ctx.orgId} and r.id = ${id}::uuid and ${condition}`);
      const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
      return rows.length > 0;
    },
    { readOnly: true },
  );
  // A record that does not exist at all answers its route's own 404 (same words either way).
  if (!found) throw notFound(def.labelSingular, id);
}
