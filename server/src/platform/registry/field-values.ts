import { z } from 'zod';
import { AppError, type FieldError } from '../errors/app-error.js';
import { emailSchema, normalizeEmail } from './email.js';
import { toE164 } from './phone.js';
import type { FieldDef, ObjectDef } from './registry.types.js';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
// ISO 4217 alphabetic codes as the platform knows them (Intl; falls back to the shape).
const CURRENCIES = new Set(
  typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : [],
);

/** Whether `code` is an ISO 4217 currency code the platform accepts (upper case). */
export const isCurrencyCode = (code: string): boolean =>
  /^[A-Z]{3}$/.test(code) && (CURRENCIES.size === 0 || CURRENCIES.has(code));

/**
 * The zod schema a value of `field` must satisfy on write, producing the value to store.
 * Shapes: currency `{amount: number, currency: 'EUR'}`; phone stored as `{e164, raw}`;
 * multi_select an array of option values; relation/user a uuid; date `YYYY-MM-DD`.
 */
export function valueSchema(field: FieldDef): z.ZodType {
  let schema = schemas.get(field);
  if (!schema) {
    schema = buildValueSchema(field);
    schemas.set(field, schema);
  }
  return schema;
}

/**
 * A tag as Cairn keeps and compares it: trimmed and lower-cased (migration 0017: a tag filter is
 * then the plain `tags && $1` on the GIN index). The one rule for writes, imports and filters.
 */
export const normalizeTag = (name: string): string => name.trim().toLowerCase();

/** Built once per field definition (a definition is replaced, never changed, when the field is). */
const schemas = new WeakMap<FieldDef, z.ZodType>();

/** The most records a many-to-many relation field links one record to, per write. */
export const MAX_LINKS = 500;

/** The longest text, long text or URL value a field without a `maxLength` accepts, in characters. */
const DEFAULT_MAX_LENGTH = 500;

/** The longest value a field accepts, in characters: its `maxLength`, or the default for text, long text and URL. */
export function maxLengthOf(field: FieldDef): number | undefined {
  return ['text', 'long_text', 'url'].includes(field.type)
    ? (field.maxLength ?? DEFAULT_MAX_LENGTH)
    : field.maxLength;
}

function buildValueSchema(field: FieldDef): z.ZodType {
  const max = field.maxLength ?? DEFAULT_MAX_LENGTH;
  const options = (field.options ?? []).map((o) => o.value);
  switch (field.type) {
    case 'text':
    case 'long_text':
      return z.string().max(max, `At most ${max} characters`);
    case 'email':
      return emailSchema().transform(normalizeEmail);
    case 'url':
      return z.url({ protocol: /^https?$/, error: 'Not a valid http(s) URL' }).max(max);
    case 'phone':
      return z
        .string()
        .max(64)
        .transform((raw, ctx) => {
          const e164 = toE164(raw);
          if (!e164) ctx.addIssue({ code: 'custom', message: 'Not a valid phone number' });
          return { e164, raw };
        });
    case 'number':
      return z.number().finite();
    case 'currency':
      return z.strictObject({
        amount: z.number().finite(),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/, 'An ISO 4217 code such as EUR')
          .refine(isCurrencyCode, 'Unknown ISO 4217 currency'),
      });
    case 'date':
      return z
        .string()
        .regex(ISO_DATE, 'A date as YYYY-MM-DD')
        .refine((v) => !Number.isNaN(Date.parse(v)), 'Not a real date');
    case 'datetime':
      return z.iso.datetime({ offset: true, error: 'An ISO 8601 date-time' });
    case 'boolean':
      return z.boolean();
    case 'select':
    case 'status':
      return z.string().refine((v) => options.includes(v), `One of: ${options.join(', ')}`);
    case 'multi_select':
      return z
        .array(z.string().refine((v) => options.includes(v), `One of: ${options.join(', ')}`))
        .max(100)
        .transform((vs) => [...new Set(vs)]);
    case 'relation':
      // A many-to-many relation: the whole set of linked records' ids (issue 21).
      if (field.relation?.many)
        return z
          .array(z.uuid())
          .max(MAX_LINKS, `At most ${MAX_LINKS} linked records`)
          .transform((ids) => [...new Set(ids)]);
      return z.uuid();
    case 'user':
    case 'uuid':
      return z.uuid();
    case 'tags':
      return z.array(z.string().trim().min(1).max(64)).max(100);
  }
}

/**
 * Validates the `custom` part of a write against the object's custom fields. Unknown and retired
 * keys are refused; null clears a value. On create, required custom fields must be present.
 * @returns the values to merge into the record's `custom` jsonb
 * @throws AppError 400 `validation_failed` listing every bad field as `<path>.<key>`
 */
export function parseCustomValues(
  object: ObjectDef,
  input: Record<string, unknown> | undefined,
  options: { path: string; creating: boolean },
): Record<string, unknown> {
  const custom = object.fields.filter((f) => f.origin === 'custom');
  const byKey = new Map(custom.map((f) => [f.key, f]));
  const out: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(input ?? {})) {
    const field = byKey.get(key);
    const path = `${options.path}.${key}`;
    if (!field) {
      errors.push({
        path,
        code: 'unknown_field',
        message: `${object.labelSingular} has no custom field "${key}"`,
      });
      continue;
    }
    if (field.retired) {
      errors.push({ path, code: 'retired_field', message: `The field "${field.label}" is retired` });
      continue;
    }
    if (value === null) {
      if (field.required) errors.push({ path, code: 'required', message: `${field.label} is required` });
      else out[key] = null;
      continue;
    }
    const parsed = valueSchema(field).safeParse(value);
    if (parsed.success) out[key] = parsed.data;
    else
      errors.push({
        path,
        code: 'invalid_value',
        message: parsed.error.issues[0]?.message ?? 'Invalid value',
      });
  }
  if (options.creating) {
    for (const field of custom) {
      if (field.required && !field.retired && out[field.key] === undefined) {
        errors.push({
          path: `${options.path}.${field.key}`,
          code: 'required',
          message: `${field.label} is required`,
        });
      }
    }
  }
  if (errors.length > 0) {
    throw new AppError(400, 'validation_failed', 'Some custom field values are invalid', { errors });
  }
  return out;
}

/**
 * The record's `custom` jsonb after a write: `patch` (parsed by `parseCustomValues`) over
 * `current`, where a null in the patch clears the value.
 */
export function mergeCustom(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries({ ...current, ...patch }).filter(([, v]) => v !== null));
}
