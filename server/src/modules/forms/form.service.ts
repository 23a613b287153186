import { randomBytes } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import type { FormCreateInput, FormUpdateInput, FormView } from './form.dto.js';
import { type FormField, forms } from './form.schema.js';

type FormRow = typeof forms.$inferSelect;

/** Field types a visitor can type or pick on a public form. */
const FORM_TYPES = new Set([
  'text',
  'long_text',
  'number',
  'date',
  'boolean',
  'select',
  'email',
  'phone',
  'url',
]);
/** Standard fields a visitor never sets (set by Cairn: source, status, owner). */
const NOT_ON_FORMS = new Set(['source', 'lead_status', 'owner_id']);

/** A many-to-many relation field (a custom object's): a form offers chosen records of its object. */
export const isManyRelation = (f: FieldDef) => f.type === 'relation' && Boolean(f.relation?.many);

/**
 * The registry fields of `def` a form can ask for: writable, stored, of a type a person enters,
 * and many-to-many relations (a multi-select of the records the form chooses to offer).
 */
export function formFieldChoices(def: ObjectDef): FieldDef[] {
  return def.fields.filter(
    (f) =>
      !f.readOnly &&
      !f.retired &&
      ((f.storage.kind !== 'computed' && FORM_TYPES.has(f.type)) || isManyRelation(f)) &&
      !NOT_ON_FORMS.has(f.key),
  );
}

/**
 * The names of the records each many-to-many field of the form offers, by id, live ones of this
 * organization only (one archived since is no longer offered).
 */
export async function choiceTitlesIn(
  scope: TenantScope,
  def: ObjectDef,
  fields: readonly FormField[],
): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const f of fields) {
    const field = def.fields.find((x) => x.key === f.key);
    if (!field || !isManyRelation(field) || !f.choices?.length) continue;
    out.set(f.key, await recordTitlesIn(scope, field.relation!.object, f.choices, { active: true }));
  }
  return out;
}

/**
 * The records a form's many-to-many fields offer must be live records of the field's object in
 * this organization. @throws 422 `reference_not_found` at `body.fields[i].choices[j]`
 */
async function checkChoices(scope: TenantScope, def: ObjectDef, fields: readonly FormField[]) {
  const titles = await choiceTitlesIn(scope, def, fields);
  for (const [i, f] of fields.entries()) {
    const found = titles.get(f.key);
    const j = found ? (f.choices ?? []).findIndex((id) => !found.has(id)) : -1;
    if (j >= 0) {
      const path = `body.fields[${i}].choices[${j}]`;
      const message = `No ${def.fields.find((x) => x.key === f.key)!.relation!.object} with this id`;
      throw new AppError(422, 'reference_not_found', message, {
        path,
        errors: [{ path, code: 'reference_not_found', message }],
      });
    }
  }
}

/** Fields the object needs on create: a form for it must ask for them, as required. */
export function requiredKeys(def: ObjectDef): string[] {
  return formFieldChoices(def)
    .filter((f) => f.required)
    .map((f) => f.key);
}

/** The registry entry of a form's object. @throws 400 `unknown_object` at `path` */
export async function formObjectIn(
  scope: TenantScope,
  object: string,
  path = 'body.object',
): Promise<ObjectDef> {
  try {
    const def = await objectDef(scope.tx, scope.ctx.orgId, object);
    if (def.activity || (!['contact', 'company'].includes(def.key) && !def.custom))
      throw new Error('not a form object');
    if (def.custom?.retired) throw new Error('retired');
    return def;
  } catch {
    if (path.startsWith('path.')) throw notFound('Object', object);
    throw badRequest(
      `${object} is not an object a form can create records of (contact, company or a custom object)`,
      path,
      'unknown_object',
    );
  }
}

/** Two random tokens: the org id (so a public request finds its tenant) and 16 random bytes. */
const newToken = (orgId: string) => `${orgId.replaceAll('-', '')}${randomBytes(16).toString('base64url')}`;

/** The organization a public token belongs to, or undefined for a token of no known shape. */
export function orgOfToken(token: string): string | undefined {
  const m = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})[A-Za-z0-9_-]{22}$/.exec(
    token,
  );
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}` : undefined;
}

const escapeAttr = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function formViewOf(services: Services, r: FormRow): FormView {
  const pageUrl = `${services.config.baseUrl}/f/${r.token}`;
  return {
    id: r.id,
    name: r.name,
    object: r.object,
    fields: r.fields.map((f) => ({ ...f, default: f.default ?? null })),
    consent: r.consent ?? null,
    owner_id: r.ownerId,
    ingest_mapping: r.ingestMapping,
    submit_label: r.submitLabel,
    success_message: r.successMessage,
    min_fill_seconds: r.minFillSeconds,
    proof_of_work: r.proofOfWork,
    version: r.version,
    page_url: pageUrl,
    embed_snippet: `<iframe src="${escapeAttr(pageUrl)}" title="${escapeAttr(r.name)}" width="100%" height="640" style="border:0;max-width:640px" loading="lazy"></iframe>`,
    ingest_url: `${services.config.baseUrl}/ingest/form/${r.ingestToken}`,
    archived_at: r.archivedAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/**
 * The form's fields checked against the object: each a field a form can ask for, once; every
 * field the object requires present and required; the ingest mapping's targets among them.
 * @throws 400 `unknown_field`, `duplicate_field`, `missing_required_field`, `unknown_mapping_target`
 */
function checkedFields(
  def: ObjectDef,
  input: NonNullable<FormCreateInput['fields']>,
  mapping: Record<string, string>,
): FormField[] {
  const choices = new Map(formFieldChoices(def).map((f) => [f.key, f]));
  const seen = new Set<string>();
  const fields = input.map((f, i) => {
    const field = choices.get(f.key);
    if (!field)
      throw badRequest(
        `${def.labelPlural} have no field ${f.key} a form can ask for`,
        `body.fields[${i}].key`,
        'unknown_field',
      );
    if (seen.has(f.key))
      throw badRequest(`${f.key} is on the form twice`, `body.fields[${i}].key`, 'duplicate_field');
    seen.add(f.key);
    if (f.hidden && field.required && !f.default)
      throw badRequest(
        'A hidden required field needs a default',
        `body.fields[${i}].default`,
        'hidden_required',
      );
    const many = isManyRelation(field);
    if (many && !f.choices?.length)
      throw badRequest(
        `${field.label} links records: choose the records the form offers`,
        `body.fields[${i}].choices`,
        'choices_required',
      );
    if (!many && f.choices)
      throw badRequest(
        'Only a many-to-many relation field takes choices',
        `body.fields[${i}].choices`,
        'choices_not_allowed',
      );
    if (many && (f.hidden || (f.default !== undefined && f.default !== null)))
      throw badRequest(
        `${field.label} is picked by the visitor: it cannot be hidden or have a default`,
        `body.fields[${i}].${f.hidden ? 'hidden' : 'default'}`,
        'invalid_value',
      );
    return {
      key: f.key,
      label: f.label ?? field.label,
      required: Boolean(f.required || field.required),
      hidden: Boolean(f.hidden),
      ...(f.default !== undefined && f.default !== null ? { default: f.default } : {}),
      ...(many ? { choices: [...new Set(f.choices!.map((id) => id.toLowerCase()))] } : {}),
    };
  });
  for (const key of requiredKeys(def))
    if (!seen.has(key))
      throw badRequest(
        `${def.labelPlural} need ${choices.get(key)!.label}: add it to the form`,
        'body.fields',
        'missing_required_field',
      );
  if (def.key === 'contact' && !['first_name', 'last_name', 'email', 'phone'].some((k) => seen.has(k)))
    throw badRequest(
      'A contact form needs a name, an e-mail or a phone field',
      'body.fields',
      'missing_required_field',
    );
  for (const [incoming, key] of Object.entries(mapping))
    if (!seen.has(key))
      throw badRequest(
        `${key} is not a field of this form`,
        `body.ingest_mapping.${incoming}`,
        'unknown_mapping_target',
      );
  return fields;
}

/** Creates a form. @throws 400 (see `checkedFields`, `unknown_object`), 422 unknown owner */
export async function createForm(
  services: Services,
  ctx: TenantContext,
  input: FormCreateInput,
): Promise<FormView> {
  return withTenant(services.database, ctx, async (scope) => {
    const def = await formObjectIn(scope, input.object);
    const mapping = input.ingest_mapping ?? {};
    const fields = checkedFields(def, input.fields, mapping);
    await checkChoices(scope, def, fields);
    if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
    const [row] = await scope.tx
      .insert(forms)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        object: def.key,
        fields,
        consent: input.consent ?? null,
        ingestMapping: mapping,
        token: newToken(ctx.orgId),
        ingestToken: newToken(ctx.orgId),
        ownerId:
          input.owner_id !== undefined ? input.owner_id : ctx.actor.type === 'user' ? ctx.actor.id : null,
        ...(input.submit_label ? { submitLabel: input.submit_label } : {}),
        ...(input.success_message ? { successMessage: input.success_message } : {}),
        ...(input.min_fill_seconds !== undefined ? { minFillSeconds: input.min_fill_seconds } : {}),
        ...(input.proof_of_work !== undefined ? { proofOfWork: input.proof_of_work } : {}),
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    return formViewOf(services, row!);
  });
}

/** The organization's form `id` (`lock`: for update). @throws 404 `not_found` */
export async function loadForm(scope: TenantScope, id: string, lock = false): Promise<FormRow> {
  const query = scope.tx
    .select()
    .from(forms)
    .where(and(eq(forms.orgId, scope.ctx.orgId), eq(forms.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Form', id);
  return row;
}

export async function listForms(services: Services, ctx: TenantContext): Promise<FormView[]> {
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(forms)
        .where(eq(forms.orgId, ctx.orgId))
        .orderBy(desc(forms.createdAt), desc(forms.id)),
    { readOnly: true },
  );
  return rows.map((r) => formViewOf(services, r));
}

export async function getForm(services: Services, ctx: TenantContext, id: string): Promise<FormView> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => formViewOf(services, await loadForm(scope, id)),
    {
      readOnly: true,
    },
  );
}

/** Changes a form; a change of what visitors see makes a new version. @throws 404, 400, 409 `form_archived` */
export async function updateForm(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: FormUpdateInput,
): Promise<FormView> {
  return withTenant(services.database, ctx, async (scope) => {
    const current = await loadForm(scope, id, true);
    if (current.archivedAt) throw new AppError(409, 'form_archived', 'The form is archived');
    const def = await formObjectIn(scope, current.object);
    const mapping = input.ingest_mapping ?? current.ingestMapping;
    const fields = input.fields
      ? checkedFields(def, input.fields, mapping)
      : checkedFields(def, current.fields, mapping);
    if (input.fields) await checkChoices(scope, def, fields);
    if (input.owner_id) await assertMember(scope, input.owner_id, 'body.owner_id');
    const seen =
      input.fields !== undefined ||
      input.consent !== undefined ||
      input.submit_label !== undefined ||
      input.name !== undefined;
    const [row] = await scope.tx
      .update(forms)
      .set({
        ...(input.name ? { name: input.name } : {}),
        fields,
        ...(input.consent !== undefined ? { consent: input.consent } : {}),
        ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
        ingestMapping: mapping,
        ...(input.submit_label ? { submitLabel: input.submit_label } : {}),
        ...(input.success_message ? { successMessage: input.success_message } : {}),
        ...(input.min_fill_seconds !== undefined ? { minFillSeconds: input.min_fill_seconds } : {}),
        ...(input.proof_of_work !== undefined ? { proofOfWork: input.proof_of_work } : {}),
        ...(seen ? { version: sql`${forms.version} + 1` } : {}),
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(forms.orgId, ctx.orgId), eq(forms.id, id)))
      .returning();
    return formViewOf(services, row!);
  });
}

/** Archives a form: its page and ingest endpoint answer 404 from then on; submissions are kept. @throws 404 */
export async function archiveForm(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    await loadForm(scope, id);
    await scope.tx
      .update(forms)
      .set({
        archivedAt: sql`coalesce(${forms.archivedAt}, clock_timestamp())`,
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(forms.orgId, ctx.orgId), eq(forms.id, id)));
  });
}

/** The fields a form for `object` can ask for (the builder's choices). @throws 400 `unknown_object` */
export async function fieldChoices(services: Services, ctx: TenantContext, object: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const def = await formObjectIn(scope, object, 'path.object');
      return formFieldChoices(def).map((f) => ({
        key: f.key,
        label: f.label,
        type: f.type,
        required: f.required,
        ...(f.options ? { options: f.options.map((o) => ({ value: o.value, label: o.label })) } : {}),
        ...(isManyRelation(f) ? { relation: { object: f.relation!.object, many: true } } : {}),
      }));
    },
    { readOnly: true },
  );
}
