import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { visibleDef } from '../../platform/access/access-profile.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { customObjectDefs, objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import * as fields from './custom-field.service.js';

const Field = z
  .object({
    key: z.string(),
    label: z.string(),
    type: z.string(),
    storage: z.enum(['column', 'custom', 'computed']),
    required: z.boolean(),
    unique: z.boolean(),
    options: z
      .array(z.object({ value: z.string(), label: z.string(), color: z.string().optional() }))
      .optional(),
    relation: z
      .object({
        object: z.string(),
        many: z.boolean().describe('Many-to-many: the value lists the linked records (`[{id, name}]`)'),
      })
      .optional(),
    statuses: z
      .object({
        statuses: z.array(
          z.object({
            value: z.string(),
            label: z.string(),
            color: z.string().optional(),
            kind: z.enum(['open', 'done', 'cancelled']),
            roles: z.array(z.string()).optional(),
            reason_required: z.boolean(),
            owner_role: z
              .string()
              .optional()
              .describe('The role owning the status: records entering it wait in its hand-off queue'),
          }),
        ),
        transitions: z
          .array(z.object({ from: z.string(), to: z.string(), reason_required: z.boolean() }))
          .optional(),
        initial: z.string().optional(),
      })
      .optional()
      .describe(
        'A status field’s definition: statuses in order, allowed moves (absent: any), roles, reasons',
      ),
    max_length: z.number().int().optional(),
    searchable: z.boolean(),
    filterable: z.boolean(),
    sortable: z.boolean(),
    read_only: z.boolean(),
    origin: z.enum(['standard', 'custom']),
    position: z.number().int(),
    retired: z.boolean(),
    description: z.string().optional(),
  })
  .meta({ id: 'Field' });
const ObjectDisplay = z
  .object({
    fields: z.array(z.string()).meta({ description: 'The fields that name a record, joined by a space' }),
    fallback: z.array(z.string()).meta({ description: 'Tried in order when those are all empty' }),
    empty: z.string().meta({ description: 'What a record with none of them is called' }),
    columns: z.array(z.string()).meta({ description: 'The columns a table shows before the user chooses' }),
  })
  .meta({ id: 'ObjectDisplay' });
export const ObjectDescription = z
  .object({
    key: z.string(),
    label_singular: z.string(),
    label_plural: z.string(),
    default_sort: z.object({ field: z.string(), direction: z.enum(['asc', 'desc']) }),
    display: ObjectDisplay,
    fields: z.array(Field),
    custom_object: z
      .object({
        icon: z.string().nullable(),
        description: z.string().nullable(),
        display_field: z.string(),
        retired: z.boolean(),
        numbering: z
          .object({ prefix: z.string(), digits: z.number().int() })
          .nullable()
          .describe('Record numbers (`CASE-00042`): prefix and digits; null when records are not numbered'),
        restricted_roles: z
          .array(z.string())
          .describe(
            'Roles that see only the records in the statuses they own, those that were in one before, and their own',
          ),
      })
      .optional()
      .describe('Set for a tenant-defined object: its records are under `/api/v1/records/<key>`'),
  })
  .meta({ id: 'ObjectDescription' });

/** An object of the registry as `/objects` describes it. */
export const describeObject = (def: ObjectDef) => ({
  key: def.key,
  label_singular: def.labelSingular,
  label_plural: def.labelPlural,
  default_sort: def.defaultSort,
  display: def.display ?? displayOf(def),
  fields: def.fields.map(describeField),
  ...(def.custom
    ? {
        custom_object: {
          icon: def.custom.icon,
          description: def.custom.description,
          display_field: def.custom.displayField,
          retired: def.custom.retired,
          numbering: def.custom.numbering,
          restricted_roles: def.custom.restrictedRoles,
        },
      }
    : {}),
});
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };
const ObjectParams = z.strictObject({ object: z.string().max(64) });
const FieldParams = z.strictObject({ object: z.string().max(64), key: z.string().max(64) });

type FieldDef = import('../../platform/registry/registry.types.js').FieldDef;

/** An object without a declared `display` (a custom one): named by its first text field. */
const displayOf = (def: ObjectDef) => {
  const shown = def.fields.filter((f) => !f.retired && f.key !== 'id');
  const name = shown.find((f) => f.type === 'text');
  return {
    fields: name ? [name.key] : [],
    fallback: [],
    empty: `Unnamed ${def.labelSingular.toLowerCase()}`,
    columns: shown.slice(0, 6).map((f) => f.key),
  };
};
const describeField = (f: FieldDef) => ({
  key: f.key,
  label: f.label,
  type: f.type,
  storage: f.storage.kind,
  required: f.required,
  unique: f.unique,
  ...(f.options ? { options: f.options } : {}),
  ...(f.relation ? { relation: { object: f.relation.object, many: f.relation.many ?? false } } : {}),
  ...(f.statuses ? { statuses: f.statuses } : {}),
  ...(f.maxLength ? { max_length: f.maxLength } : {}),
  searchable: f.searchable,
  filterable: f.filterable,
  sortable: f.sortable,
  read_only: f.readOnly,
  origin: f.origin,
  position: f.position,
  retired: f.retired,
  ...(f.description ? { description: f.description } : {}),
});

/**
 * The object registry over HTTP (`/objects`), so clients build forms, tables and filters from it,
 * and custom fields (admins add, rename, reorder, retire and purge them).
 */
export function registerObjectRoutes(app: ApiApp, services: Services): void {
  const describe = async (ctx: TenantContext, key: string) =>
    describeObject(
      visibleDef(ctx, await withTenant(services.database, ctx, ({ tx }) => objectDef(tx, ctx.orgId, key))),
    );

  app.get(
    '/objects',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listObjects',
        tags: ['objects'],
        summary:
          'Every object with its fields, the tenant’s custom objects included (retired ones on request)',
        querystring: z.strictObject({
          include_retired: z
            .enum(['true', 'false'])
            .optional()
            .describe('`true`: retired custom objects too (settings)'),
        }),
        response: { 200: z.object({ data: z.array(ObjectDescription) }), ...errors },
      },
    },
    async (req) => ({
      data: [
        ...(await Promise.all(Object.keys(STANDARD_OBJECTS).map((k) => describe(req.tenant, k)))),
        // The tenant's own objects (issue 21); retired ones are hidden (GET /objects/:key shows them).
        ...(
          await withTenant(services.database, req.tenant, ({ tx }) => customObjectDefs(tx, req.tenant.orgId))
        )
          .filter((d) => req.query.include_retired === 'true' || !d.custom?.retired)
          .map((d) => describeObject(visibleDef(req.tenant, d))),
      ],
    }),
  );
  app.get(
    '/objects/:object',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getObject',
        tags: ['objects'],
        summary: 'One object with its fields',
        params: ObjectParams,
        response: { 200: ObjectDescription, ...errors },
      },
    },
    async (req) => describe(req.tenant, req.params.object),
  );
  app.post(
    '/objects/:object/fields',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createCustomField',
        tags: ['objects'],
        summary: 'Add a custom field',
        params: ObjectParams,
        body: fields.CustomFieldCreate,
        response: { 201: Field, ...errors },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          describeField(await fields.createCustomField(services, req.tenant, req.params.object, req.body)),
        ),
  );
  app.patch(
    '/objects/:object/fields/:key',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateCustomField',
        tags: ['objects'],
        summary:
          'Rename, reorder or edit the options of a custom field, or a status field’s statuses (409 `status_in_use` for a status records hold)',
        params: FieldParams,
        body: fields.CustomFieldUpdate,
        response: { 200: Field, ...errors },
      },
    },
    async (req) =>
      describeField(
        await fields.updateCustomField(services, req.tenant, req.params.object, req.params.key, req.body),
      ),
  );
  for (const [action, retire] of [
    ['retire', true],
    ['unretire', false],
  ] as const) {
    app.post(
      `/objects/:object/fields/:key/${action}`,
      {
        config: { access: 'settings:manage' },
        schema: {
          operationId: retire ? 'retireCustomField' : 'unretireCustomField',
          tags: ['objects'],
          summary: retire
            ? 'Retire a custom field (hidden, refused on write, values kept)'
            : 'Bring a retired field back',
          params: FieldParams,
          response: { 200: Field, ...errors },
        },
      },
      async (req) =>
        describeField(
          await fields.retireCustomField(services, req.tenant, req.params.object, req.params.key, retire),
        ),
    );
  }
  app.delete(
    '/objects/:object/fields/:key',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'deleteCustomField',
        tags: ['objects'],
        summary: 'Purge a retired custom field: its values are removed from every record',
        params: FieldParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await fields.purgeCustomField(services, req.tenant, req.params.object, req.params.key);
      return reply.code(204).send(null);
    },
  );
}
