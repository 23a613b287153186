import { and, asc, eq, or } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { forbidden, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { ListQuery } from '../../platform/query/query.schema.js';
import { savedViews } from './view.schema.js';
import { createViewIn, validateViewIn } from './view.service.js';

const ViewQuery = ListQuery.pick({ filter: true, sort: true, q: true });
const ViewInput = z
  .strictObject({
    object: z.string().max(64),
    name: z.string().trim().min(1).max(100),
    query: ViewQuery.default({}),
    columns: z.array(z.string().max(100)).max(100).default([]),
    visibility: z.enum(['private', 'shared']).default('private'),
  })
  .meta({ id: 'SavedViewCreate' });
const ViewPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    query: ViewQuery.optional(),
    columns: z.array(z.string().max(100)).max(100).optional(),
    visibility: z.enum(['private', 'shared']).optional(),
  })
  .meta({ id: 'SavedViewUpdate' });
const View = z
  .object({
    id: z.uuid(),
    object: z.string(),
    name: z.string(),
    query: z.record(z.string(), z.unknown()),
    columns: z.array(z.string()),
    visibility: z.enum(['private', 'shared']),
    owner_id: z.uuid(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'SavedView' });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

type Row = typeof savedViews.$inferSelect;
const view = (r: Row) => ({
  id: r.id,
  object: r.object,
  name: r.name,
  query: r.query,
  columns: r.columns,
  visibility: r.visibility,
  owner_id: r.ownerId,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** Checks a view in its own read transaction (see `validateViewIn`). */
const validate = (services: Services, ctx: TenantContext, object: string, query: object, columns: string[]) =>
  withTenant(services.database, ctx, (scope) => validateViewIn(scope, object, query, columns), {
    readOnly: true,
  });

/** Saved views: private to their owner, or shared with the whole tenant (owner or admin edits). */
export function registerViewRoutes(app: ApiApp, services: Services): void {
  const load = async (ctx: TenantContext, id: string, forWrite: boolean, isAdmin: boolean) =>
    withTenant(services.database, ctx, async ({ tx }) => {
      const [row] = await tx
        .select()
        .from(savedViews)
        .where(and(eq(savedViews.orgId, ctx.orgId), eq(savedViews.id, id)));
      if (!row || (row.visibility === 'private' && row.ownerId !== ctx.actor.id)) throw notFound('View', id);
      if (forWrite && row.ownerId !== ctx.actor.id && !isAdmin)
        throw forbidden('Only its owner or an admin changes a shared view');
      return row;
    });

  app.get(
    '/views',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listViews',
        tags: ['views'],
        summary: "The caller's views and the shared ones, of one object",
        querystring: z.strictObject({ object: z.string().max(64) }),
        response: { 200: z.object({ data: z.array(View) }), ...errors },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const rows = await withTenant(services.database, ctx, ({ tx }) =>
        tx
          .select()
          .from(savedViews)
          .where(
            and(
              eq(savedViews.orgId, ctx.orgId),
              eq(savedViews.object, req.query.object),
              or(eq(savedViews.visibility, 'shared'), eq(savedViews.ownerId, ctx.actor.id!)),
            ),
          )
          .orderBy(asc(savedViews.name)),
      );
      return { data: rows.map(view) };
    },
  );

  app.post(
    '/views',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'createView',
        tags: ['views'],
        summary: 'Save a view (viewers may save private ones)',
        body: ViewInput,
        response: { 201: View, ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      const input = req.body;
      if (input.visibility === 'shared' && req.principal?.role === 'viewer')
        throw forbidden('Viewers save private views only');
      const row = await withTenant(services.database, ctx, (scope) => createViewIn(scope, services, input));
      return reply.code(201).send(view(row));
    },
  );

  app.patch(
    '/views/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'updateView',
        tags: ['views'],
        summary: 'Change a view (its owner, or an admin for a shared one)',
        params: z.strictObject({ id: z.uuid() }),
        body: ViewPatch,
        response: { 200: View, ...errors },
      },
    },
    async (req) => {
      const ctx = req.tenant;
      const current = await load(ctx, req.params.id, true, req.principal?.role === 'admin');
      if (req.body.visibility === 'shared' && req.principal?.role === 'viewer')
        throw forbidden('Viewers save private views only');
      await validate(
        services,
        ctx,
        current.object,
        req.body.query ?? current.query,
        req.body.columns ?? current.columns,
      );
      const row = await withTenant(services.database, ctx, async (scope) => {
        const [updated] = await scope.tx
          .update(savedViews)
          .set({
            ...(req.body.name !== undefined ? { name: req.body.name } : {}),
            ...(req.body.query !== undefined ? { query: req.body.query as Record<string, unknown> } : {}),
            ...(req.body.columns !== undefined ? { columns: req.body.columns } : {}),
            ...(req.body.visibility !== undefined ? { visibility: req.body.visibility } : {}),
            updatedAt: new Date().toISOString(),
          })
          .where(and(eq(savedViews.orgId, ctx.orgId), eq(savedViews.id, req.params.id)))
          .returning();
        await emitEvent(scope, services.jobs, {
          type: 'view.updated',
          subject: { object: 'view', id: req.params.id },
          data: { name: updated!.name },
        });
        return updated!;
      });
      return view(row);
    },
  );

  app.delete(
    '/views/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'deleteView',
        tags: ['views'],
        summary: 'Delete a view',
        params: z.strictObject({ id: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const ctx = req.tenant;
      await load(ctx, req.params.id, true, req.principal?.role === 'admin');
      await withTenant(services.database, ctx, async (scope) => {
        await scope.tx
          .delete(savedViews)
          .where(and(eq(savedViews.orgId, ctx.orgId), eq(savedViews.id, req.params.id)));
        await emitEvent(scope, services.jobs, {
          type: 'view.deleted',
          subject: { object: 'view', id: req.params.id },
        });
      });
      return reply.code(204).send(null);
    },
  );
}
