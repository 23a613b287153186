import { and, eq, isNull } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { isEmail } from '../../platform/registry/email.js';
import { toE164 } from '../../platform/registry/phone.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { createCompanyIn } from '../companies/company.service.js';
import { recordConsentIn } from '../consent/consent.service.js';
import { createContactIn } from '../contacts/contact.service.js';
import { findContactByEmailOrPhone } from '../contacts/contact-lookup.service.js';
import { deliverNotification } from '../notifications/notification-delivery.service.js';
import { createRecordsIn } from '../records/record-batch.service.js';
import { type FormField, formSubmissions, forms } from './form.schema.js';
import {
  choiceTitlesIn,
  formFieldChoices,
  formObjectIn,
  isManyRelation,
  orgOfToken,
} from './form.service.js';
import { checkFillTime, checkProofOfWork, type WindowLimiter } from './form-spam.js';

type FormRow = typeof forms.$inferSelect;

/** Where a submission came from: the hosted page (or its embed) or the ingest endpoint. */
export type SubmissionChannel = 'page' | 'ingest';

export type SubmissionMeta = {
  channel: SubmissionChannel;
  ip: string | null;
  userAgent: string | null;
  /** The request's Referer header (the page's own URL for the hosted page). */
  referer: string | null;
  traceId?: string;
};

export type SubmissionResult =
  | { ignored: true; form: FormRow }
  | {
      ignored: false;
      form: FormRow;
      submissionId: string;
      record: { object: string; id: string };
      created: boolean;
    };

/** What the page sends besides the form's fields. */
const PAGE_META = new Set(['_hp', '_ts', 'altcha', 'consent', '_referrer', '_landing_page']);
/**
 * Source parameters any channel may send, stored as the submission's (and record's) source; in
 * the order the submissions' CSV shows them.
 */
export const SOURCE_PARAMETERS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'referrer',
  'landing_page',
] as const;
const SOURCE_KEYS = new Set<string>(SOURCE_PARAMETERS);
/** The longest value of any field, in characters (a field's own limit may be lower). */
const MAX_VALUE_CHARS = 10_000;
const MAX_SOURCE_CHARS = 2_048;
const TRUE_WORDS = new Set(['on', 'true', '1', 'yes']);

/** A key as a problem's path can name it. */
const pathOf = (key: string) => (/^[A-Za-z0-9_]{1,64}$/.test(key) ? `body.${key}` : 'body');

/** A scalar of the body as text. @throws 400 `invalid_value` for arrays and objects */
function textOf(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  throw badRequest('Send one value per field (text)', pathOf(key), 'invalid_value');
}

function checkLength(key: string, value: string, max: number): string {
  if (value.includes('\u0000'))
    throw badRequest('The value contains a NUL character', pathOf(key), 'invalid_character');
  if (value.length > max) throw badRequest(`At most ${max} characters`, pathOf(key), 'too_long');
  return value.trim();
}

/**
 * The records a visitor picked on a many-to-many field: one id or a list (a multi-select sends its
 * key once per pick), each one of the form's live choices.
 * @throws 400 `invalid_value` for anything else (another of the organization's records included)
 */
function pickedChoices(
  field: FormField,
  key: string,
  raw: unknown,
  offered: Map<string, string> | undefined,
): string[] {
  const picks = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== '' && v !== null && v !== undefined);
  if (picks.length > 100) throw badRequest('At most 100 picks', pathOf(key), 'invalid_value');
  for (const pick of picks)
    if (typeof pick !== 'string' || !offered?.has(pick.toLowerCase()))
      throw badRequest(`Not one of the choices of ${field.label}`, pathOf(key), 'invalid_value');
  return [...new Set((picks as string[]).map((p) => p.toLowerCase()))];
}

/** A field's text value as the record takes it. @throws 400 `invalid_number`, `invalid_date` */
function typed(field: FieldDef, key: string, value: string): unknown {
  switch (field.type) {
    case 'number':
    case 'currency': {
      const n = Number(value.replace(',', '.'));
      if (!Number.isFinite(n)) throw badRequest('Not a number', pathOf(key), 'invalid_number');
      return n;
    }
    case 'boolean':
      return TRUE_WORDS.has(value.toLowerCase());
    default:
      return value;
  }
}

type Parsed = {
  values: Record<string, unknown>;
  source: Record<string, unknown>;
  consent: boolean;
  honeypot: boolean;
};

/**
 * The body sorted into the form's values, the source, the consent box and the honeypot.
 * @throws 400 `unknown_field` for a key the form does not take, `too_long`, `invalid_character`,
 * `invalid_value`, `required`, `invalid_email`, `invalid_phone`, `consent_required`
 */
function parseBody(
  form: FormRow,
  def: ObjectDef,
  body: Record<string, unknown>,
  meta: SubmissionMeta,
  titles: Map<string, Map<string, string>>,
): Parsed {
  const byKey = new Map(formFieldChoices(def).map((f) => [f.key, f]));
  const onForm = new Map(form.fields.map((f) => [f.key, f]));
  const values: Record<string, unknown> = {};
  const source: Record<string, unknown> = {};
  const hidden: Record<string, string> = {};
  let consent = false;
  let honeypot = false;
  for (const [rawKey, raw] of Object.entries(body)) {
    const key = meta.channel === 'ingest' ? (form.ingestMapping[rawKey] ?? rawKey) : rawKey;
    if (meta.channel === 'page' && PAGE_META.has(key)) {
      const text = checkLength(key, textOf(key, raw), 4_000);
      if (key === '_hp') honeypot = text !== '';
      else if (key === 'consent') consent = TRUE_WORDS.has(text.toLowerCase());
      else if (key === '_referrer' && text) source.referrer = text.slice(0, MAX_SOURCE_CHARS);
      else if (key === '_landing_page' && text) source.landing_page = text.slice(0, MAX_SOURCE_CHARS);
      continue;
    }
    if (meta.channel === 'ingest' && key === 'consent') {
      consent = TRUE_WORDS.has(textOf(key, raw).toLowerCase());
      continue;
    }
    if (SOURCE_KEYS.has(key)) {
      const text = checkLength(key, textOf(key, raw), MAX_SOURCE_CHARS);
      if (text) source[key] = text;
      continue;
    }
    const field = onForm.get(key);
    const def = byKey.get(key);
    if (!field || !def)
      throw badRequest(`The form has no field ${key.slice(0, 64)}`, pathOf(rawKey), 'unknown_field');
    if (isManyRelation(def)) {
      const picked = pickedChoices(field, rawKey, raw, titles.get(key));
      if (picked.length > 0) values[key] = picked;
      continue;
    }
    const text = checkLength(
      rawKey,
      textOf(rawKey, raw),
      Math.min(def.maxLength ?? MAX_VALUE_CHARS, MAX_VALUE_CHARS),
    );
    if (text === '') continue;
    if (field.hidden) hidden[key] = text;
    values[key] = typed(def, rawKey, text);
  }
  for (const field of form.fields) {
    if (values[field.key] === undefined && field.hidden && field.default) {
      values[field.key] = typed(byKey.get(field.key)!, field.key, field.default);
      hidden[field.key] = field.default;
    }
    if (field.required && (values[field.key] === undefined || values[field.key] === ''))
      throw badRequest(`${field.label} is required`, `body.${field.key}`, 'required');
    const type = byKey.get(field.key)?.type;
    const v = values[field.key];
    if (typeof v === 'string' && type === 'email' && !isEmail(v.toLowerCase()))
      throw badRequest('Not a valid e-mail address', `body.${field.key}`, 'invalid_email');
    if (typeof v === 'string' && type === 'phone' && !toE164(v))
      throw badRequest('Not a valid phone number', `body.${field.key}`, 'invalid_phone');
  }
  if (form.consent?.required && !consent)
    throw badRequest('Tick the consent box to send the form', 'body.consent', 'consent_required');
  if (Object.keys(hidden).length > 0) source.hidden = hidden;
  if (meta.channel === 'page' && !source.landing_page && meta.referer)
    source.landing_page = meta.referer.slice(0, MAX_SOURCE_CHARS);
  return { values, source, consent: consent && Boolean(form.consent), honeypot };
}

/** The form of a public token (page or ingest), live. @throws 404 for an unknown or archived one */
async function formOfToken(services: Services, token: string, channel: SubmissionChannel) {
  const orgId = orgOfToken(token);
  if (!orgId) throw notFound('Form');
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const found = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const [form] = await scope.tx
        .select()
        .from(forms)
        .where(
          and(
            eq(forms.orgId, orgId),
            eq(channel === 'page' ? forms.token : forms.ingestToken, token),
            isNull(forms.archivedAt),
          ),
        );
      if (!form) return undefined;
      const def = await formObjectIn(scope, form.object);
      return { form, def, titles: await choiceTitlesIn(scope, def, form.fields) };
    },
    { readOnly: true },
  ).catch((error: unknown) => {
    // An organization that no longer exists, or a form whose object was retired: not found.
    if (error instanceof AppError) return undefined;
    throw error;
  });
  if (!found) throw notFound('Form');
  return { ...found, ctx };
}

/** The form of a hosted page's token, for rendering it. @throws 404 */
export async function pageForm(services: Services, token: string) {
  return formOfToken(services, token, 'page');
}

/** The record a submission creates, by object: a contact, a company or a custom object's record. */
function recordInput(def: ObjectDef, form: Pick<FormRow, 'ownerId'>, values: Record<string, unknown>) {
  const custom: Record<string, unknown> = {};
  const standard: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const field = def.fields.find((f) => f.key === key)!;
    if (field.storage.kind === 'custom' || isManyRelation(field)) custom[key] = value;
    else standard[key] = value;
  }
  return { custom, standard, ownerId: form.ownerId };
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The existing record a submission matches by e-mail or phone (contacts; custom objects' e-mail
 * and phone fields). Meta Lead Ads' intake matches its leads the same way.
 */
export async function matchingRecord(scope: TenantScope, def: ObjectDef, values: Record<string, unknown>) {
  if (def.key === 'contact') return findContactByEmailOrPhone(scope, str(values.email), str(values.phone));
  if (!def.custom) return undefined;
  for (const type of ['email', 'phone'] as const) {
    for (const field of def.fields.filter((f) => f.type === type && f.storage.kind === 'custom')) {
      const value = str(values[field.key]);
      if (!value) continue;
      // A custom e-mail is stored lower-cased; a custom phone as {e164, raw} (registry/field-values.ts).
      const { rows } = await scope.conn.query<{ id: string }>(
        type === 'email'
          ? `select id from records where org_id = $1 and object_id = $2 and archived_at is null
               and custom ->> $3 = $4 order by created_at limit 1`
          : `select id from records where org_id = $1 and object_id = $2 and archived_at is null
               and custom -> $3 ->> 'e164' = $4 order by created_at limit 1`,
        [
          scope.ctx.orgId,
          def.custom.id,
          field.key,
          type === 'phone' ? (toE164(value) ?? value) : value.toLowerCase(),
        ],
      );
      if (rows[0]) return rows[0].id;
    }
  }
  return undefined;
}

/** The dedup keys of a submission: the advisory locks that make two equal submissions one record. */
const dedupKeys = (orgId: string, def: ObjectDef, values: Record<string, unknown>) =>
  def.fields
    .filter((f) => (f.type === 'email' || f.type === 'phone') && str(values[f.key]))
    .map((f) => {
      const value = String(values[f.key]);
      return `form-dedup:${orgId}:${def.key}:${f.type === 'phone' ? (toE164(value) ?? value) : value.toLowerCase()}`;
    })
    .sort();

/**
 * Creates the record of checked values (field keys of `def`): a contact (its `source` given), a
 * company or a custom object's record, owned by `form.ownerId`. Meta Lead Ads' intake uses it too.
 * @throws the record engine's 400s for a value its field refuses
 */
export async function createRecord(
  scope: TenantScope,
  services: Services,
  def: ObjectDef,
  form: Pick<FormRow, 'ownerId'>,
  values: Record<string, unknown>,
  source = 'form',
) {
  const { custom, standard, ownerId } = recordInput(def, form, values);
  if (def.key === 'contact') {
    const view = await createContactIn(scope, services, {
      ...(str(standard.first_name) ? { first_name: str(standard.first_name) } : {}),
      ...(str(standard.last_name) ? { last_name: str(standard.last_name) } : {}),
      ...(str(standard.email) ? { emails: [{ value: String(standard.email).toLowerCase() }] } : {}),
      ...(str(standard.phone) ? { phones: [{ number: String(standard.phone) }] } : {}),
      ...(str(standard.notes) ? { notes: str(standard.notes) } : {}),
      source,
      owner_id: ownerId,
      custom,
    });
    return { id: view.id, name: [view.first_name, view.last_name].filter(Boolean).join(' ') || view.email };
  }
  if (def.key === 'company') {
    const view = await createCompanyIn(scope, services, {
      name: String(standard.name ?? ''),
      ...Object.fromEntries(
        ['domain', 'website', 'phone', 'industry', 'size', 'notes']
          .filter((k) => str(standard[k]))
          .map((k) => [k, standard[k]]),
      ),
      owner_id: ownerId,
      custom,
    });
    return { id: view.id, name: view.name };
  }
  const [outcome] = await createRecordsIn(scope, services, def.key, [{ custom, ownerId }]);
  if (!outcome!.ok) throw outcome!.error;
  const display = def.custom?.displayField;
  return { id: outcome!.id, name: display ? (str(custom[display]) ?? null) : null };
}

/**
 * Accepts one submission of a public form (hosted page or ingest endpoint): the spam defences
 * (page: honeypot, minimum fill time, proof of work; both: the rate limit per IP), the values
 * checked against the form and the registry, then in one transaction: the record created, or the
 * existing one matched by e-mail or phone (never a duplicate, even for two equal submissions at
 * once), the submission with its source, the consent with its proof, the `form.submitted` event
 * and the form owner's notification. A honeypot hit is answered as accepted and stores nothing.
 * @throws 404 unknown form, 429 rate limited, 400 with a code and the field's path
 */
export async function submitForm(
  services: Services,
  limiter: WindowLimiter,
  token: string,
  body: unknown,
  meta: SubmissionMeta,
): Promise<SubmissionResult> {
  if (!orgOfToken(token)) throw notFound('Form');
  limiter.hit(`${meta.channel}:${token}:${meta.ip ?? ''}`);
  const { form, def, ctx, titles } = await formOfToken(services, token, meta.channel);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('Send the form as an object of field values', 'body', 'invalid_body');
  const input = body as Record<string, unknown>;
  if (Object.keys(input).length > 100) throw badRequest('Too many fields', 'body', 'too_many_fields');
  const parsed = parseBody(form, def, input, meta, titles);
  if (meta.channel === 'page') {
    if (parsed.honeypot) return { ignored: true, form };
    checkFillTime(services.config.secret, form.id, input._ts, form.minFillSeconds);
    if (form.proofOfWork) await checkProofOfWork(services.config.secret, input.altcha);
  }
  return withTenant(services.database, { ...ctx, traceId: meta.traceId }, async (scope) => {
    for (const key of dedupKeys(ctx.orgId, def, parsed.values))
      await scope.conn.query('select pg_advisory_xact_lock(hashtext($1))', [key]);
    const existing = await matchingRecord(scope, def, parsed.values);
    const record = existing
      ? { id: existing, name: null as string | null, created: false }
      : { ...(await createRecord(scope, services, def, form, parsed.values)), created: true };
    const [submission] = await scope.tx
      .insert(formSubmissions)
      .values({
        orgId: ctx.orgId,
        formId: form.id,
        formVersion: form.version,
        channel: meta.channel,
        object: def.key,
        recordId: record.id,
        createdRecord: record.created,
        values: parsed.values,
        source: parsed.source,
        ip: meta.ip,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
      })
      .returning({ id: formSubmissions.id, createdAt: formSubmissions.createdAt });
    let consentId: string | null = null;
    if (parsed.consent && form.consent) {
      consentId = await recordConsentIn(scope, {
        object: def.key,
        recordId: record.id,
        channel: form.consent.channel,
        purpose: form.consent.purpose,
        status: 'granted',
        source: `form:${form.id}`,
        proof: {
          form_id: form.id,
          form_version: form.version,
          text: form.consent.text,
          at: submission!.createdAt,
          ip: meta.ip,
          user_agent: meta.userAgent?.slice(0, 512) ?? null,
          submission_id: submission!.id,
        },
      });
      await scope.tx
        .update(formSubmissions)
        .set({ consentId })
        .where(and(eq(formSubmissions.orgId, ctx.orgId), eq(formSubmissions.id, submission!.id)));
    }
    const eventId = await emitEvent(scope, services.jobs, {
      type: 'form.submitted',
      subject: { object: def.key, id: record.id },
      data: {
        name: record.name,
        form_id: form.id,
        form_name: form.name,
        form_version: form.version,
        submission_id: submission!.id,
        created: record.created,
        channel: meta.channel,
        values: parsed.values,
        source: parsed.source,
        ...(form.consent ? { consent: parsed.consent } : {}),
      },
    });
    if (form.ownerId)
      await deliverNotification(scope, {
        recipientId: form.ownerId,
        kind: 'form_submitted',
        object: def.key,
        recordId: record.id,
        recordName: record.name,
        actorId: null,
        detail: form.name,
        eventId,
      });
    return {
      ignored: false,
      form,
      submissionId: submission!.id,
      record: { object: def.key, id: record.id },
      created: record.created,
    };
  });
}
