import { z } from 'zod';
import { ListQuery } from '../../platform/query/query.schema.js';
import { RoleCreate } from '../access/role.service.js';
import { CustomFieldCreate } from '../custom-fields/custom-field.service.js';
import { CustomObjectCreate } from '../custom-objects/custom-object.service.js';
import { ASSIGNMENT_RULES } from '../handoffs/handoff-queue.service.js';

/**
 * A template (issue 21): data, not code. Applying one creates its roles, objects with their
 * fields (status fields with owned statuses included), fields on standard objects, hand-off
 * queues and shared saved views, in one transaction. Each part is checked by the same zod schema
 * the API's own create routes use, so a template cannot hold what an admin could not create.
 */
export const TemplateDef = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/),
  name: z.string().min(1).max(80),
  description: z.string().min(1).max(500),
  roles: z.array(RoleCreate).default([]),
  objects: z.array(CustomObjectCreate.extend({ fields: z.array(CustomFieldCreate).default([]) })).default([]),
  /** Fields added to standard objects (`product`, `contact`...). */
  standard_fields: z.array(z.object({ object: z.string(), fields: z.array(CustomFieldCreate) })).default([]),
  queues: z.array(z.object({ role: z.string(), assignment: z.enum(ASSIGNMENT_RULES) })).default([]),
  views: z
    .array(
      z.object({
        object: z.string(),
        name: z.string().min(1).max(100),
        query: ListQuery.pick({ filter: true, sort: true, q: true }).default({}),
        columns: z.array(z.string()).default([]),
      }),
    )
    .default([]),
});
export type TemplateDefIn = z.input<typeof TemplateDef>;
export type TemplateDefOut = z.output<typeof TemplateDef>;

export const TemplateSummary = z
  .object({
    key: z.string(),
    name: z.string(),
    description: z.string(),
    applied: z.boolean().describe('This organization applied it'),
    applied_at: z.string().nullable(),
    creates: z.object({
      roles: z.array(z.string()).describe('Role names'),
      objects: z.array(z.string()).describe('Object labels (plural)'),
      fields: z.number().int().describe('Fields in all'),
      queues: z.array(z.string()).describe('Roles whose hand-off queues it sets up'),
      views: z.array(z.string()).describe('Saved view names'),
    }),
  })
  .meta({ id: 'Template' });
export type TemplateSummaryOut = z.infer<typeof TemplateSummary>;

export const TemplateApplied = TemplateSummary.extend({
  created: z.object({
    roles: z.array(z.string()).describe('Role keys created (a role the organization had is reused)'),
    objects: z.array(z.string()).describe('Object keys'),
    fields: z.number().int(),
    views: z.array(z.uuid()),
  }),
}).meta({ id: 'TemplateApplied' });
