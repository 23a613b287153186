import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { roles } from '../../platform/access/access.schema.js';
import { forgetRoles } from '../../platform/access/access-loader.js';
import type { AuditSource } from '../../platform/audit/audit.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { forgetRegistry } from '../../platform/registry/registry.service.js';
import { createRoleIn } from '../access/role.service.js';
import { createCustomFieldIn } from '../custom-fields/custom-field.service.js';
import { createCustomObjectIn } from '../custom-objects/custom-object.service.js';
import { setQueueRule } from '../handoffs/handoff-queue.service.js';
import { createViewIn } from '../views/view.service.js';
import { TEMPLATES } from './catalog/index.js';
import { appliedTemplates } from './template.schema.js';
import type { TemplateApplied, TemplateDefOut, TemplateSummaryOut } from './template.types.js';

/**
 * Templates (issue 21): data files (catalog/) applied by an admin. Applying one creates its roles
 * (a role the organization already has is reused), objects and their fields, fields on standard
 * objects, hand-off queues and shared saved views in ONE tenant transaction, through the same
 * services the API's create routes use: any refusal (a key the tenant already uses, 409
 * `duplicate_key`) rolls all of it back. A template applies once per organization (409
 * `template_applied` after).
 */

function summaryOf(t: TemplateDefOut, applied?: { appliedAt: string }): TemplateSummaryOut {
  return {
    key: t.key,
    name: t.name,
    description: t.description,
    applied: Boolean(applied),
    applied_at: applied ? new Date(applied.appliedAt).toISOString() : null,
    creates: {
      roles: t.roles.map((r) => r.name),
      objects: [
        ...t.objects.map((o) => o.label_plural),
        ...t.standard_fields.map((s) => `${s.object} (fields)`),
      ],
      fields:
        t.objects.reduce((n, o) => n + o.fields.length, 0) +
        t.standard_fields.reduce((n, s) => n + s.fields.length, 0),
      queues: t.queues.map((q) => q.role),
      views: t.views.map((v) => v.name),
    },
  };
}

async function appliedIn(scope: TenantScope) {
  const rows = await scope.tx
    .select({ key: appliedTemplates.key, appliedAt: appliedTemplates.appliedAt })
    .from(appliedTemplates)
    .where(eq(appliedTemplates.orgId, scope.ctx.orgId));
  return new Map(rows.map((r) => [r.key, r]));
}

/** The shipped templates, each with whether this organization applied it. */
export async function listTemplates(services: Services, ctx: TenantContext): Promise<TemplateSummaryOut[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const applied = await appliedIn(scope);
      return TEMPLATES.map((t) => summaryOf(t, applied.get(t.key)));
    },
    { readOnly: true },
  );
}

const templateOf = (key: string) => {
  const t = TEMPLATES.find((x) => x.key === key);
  if (!t) throw notFound('Template', key);
  return t;
};

/** One template. @throws 404 */
export async function getTemplate(services: Services, ctx: TenantContext, key: string) {
  const t = templateOf(key);
  return (await listTemplates(services, ctx)).find((s) => s.key === t.key)!;
}

/**
 * Applies a template in one transaction. @throws 404 for an unknown template, 409
 * `template_applied` when this organization applied it, 409 `duplicate_key` (path names the
 * template's part) when an object or field key is taken; nothing is created then.
 */
export async function applyTemplate(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  key: string,
): Promise<z.infer<typeof TemplateApplied>> {
  const t = templateOf(key);
  try {
    return await withTenant(services.database, ctx, async (scope) => {
      if ((await appliedIn(scope)).has(t.key))
        throw conflict(`The template "${t.name}" was applied already`, 'path.key', 'template_applied');
      const created = { roles: [] as string[], objects: [] as string[], fields: 0, views: [] as string[] };
      for (const role of t.roles) {
        const [exists] = await scope.tx
          .select({ id: roles.id })
          .from(roles)
          .where(and(eq(roles.orgId, ctx.orgId), eq(roles.key, role.key)));
        if (exists) continue;
        await createRoleIn(scope, services, source, role);
        created.roles.push(role.key);
      }
      for (const { fields, ...object } of t.objects) {
        await createCustomObjectIn(scope, services, object);
        created.objects.push(object.key);
      }
      // Fields after every object, so relations between the template's objects resolve.
      for (const object of t.objects)
        for (const field of object.fields) {
          await createCustomFieldIn(scope, services, object.key, field);
          created.fields++;
        }
      for (const { object, fields } of t.standard_fields)
        for (const field of fields) {
          await createCustomFieldIn(scope, services, object, field);
          created.fields++;
        }
      for (const q of t.queues) await setQueueRule(scope, q.role, q.assignment);
      for (const v of t.views) {
        const view = await createViewIn(scope, services, {
          object: v.object,
          name: v.name,
          query: v.query,
          columns: v.columns,
          visibility: 'shared',
        });
        created.views.push(view.id);
      }
      const [row] = await scope.tx
        .insert(appliedTemplates)
        .values({ orgId: ctx.orgId, key: t.key, appliedBy: ctx.actor.type === 'user' ? ctx.actor.id : null })
        .returning();
      await emitEvent(scope, services.jobs, {
        type: 'template.applied',
        subject: { object: 'template', id: row!.id },
        data: { key: t.key, name: t.name, objects: created.objects, roles: created.roles },
      });
      return { ...summaryOf(t, row!), created };
    });
  } finally {
    forgetRegistry(ctx.orgId);
    forgetRoles(ctx.orgId);
  }
}
