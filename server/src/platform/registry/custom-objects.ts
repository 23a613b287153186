import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { customFields } from './custom-field.schema.js';
import { customObjects } from './custom-object.schema.js';
import type { FieldDef, FieldType, ObjectDef } from './registry.types.js';
import { STANDARD_OBJECTS } from './standard-objects.js';

/** The table every custom object's records live in. */
export const RECORDS_TABLE = 'records';

/** The fields every custom object has: real columns of `records`, as contacts have them. */
export const BASE_FIELD_KEYS = [
  'id',
  'owner_id',
  'tags',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'archived_at',
] as const;
const baseFields = (): FieldDef[] =>
  STANDARD_OBJECTS.contact!.fields.filter((f) => (BASE_FIELD_KEYS as readonly string[]).includes(f.key)).map(
    (f) => ({ ...f, synonyms: undefined }),
  );

/** Custom field types whose values go into a record's `search` text (and `q` matches). */
export const SEARCHED_TYPES: readonly FieldType[] = ['text', 'email', 'phone', 'url'];
/** Types a custom object's display field may have: one line of text. */
export const DISPLAY_TYPES: readonly FieldType[] = ['text', 'email', 'url'];

type ObjectRow = typeof customObjects.$inferSelect;
type FieldRow = typeof customFields.$inferSelect;

/** SQL naming a record of the object: its display field, or its id when that is empty. */
const titleSqlOf = (displayField: string) => (alias: string) =>
  `coalesce(nullif(${alias}.custom->>'${displayField.replaceAll("'", "''")}', ''), ${alias}.id::text)`;

/** The record number field of an object that numbers its records: a real column of `records`. */
const numberField = (): FieldDef => ({
  key: 'number',
  label: 'Number',
  type: 'number',
  storage: { kind: 'column', column: 'number' },
  required: false,
  unique: true,
  searchable: false,
  filterable: true,
  sortable: true,
  readOnly: true,
  origin: 'standard',
  position: 0,
  retired: false,
  description: 'The record’s number in its object (`CASE-00042` is 42), given on create, never reused',
});

/** A custom object as the registry describes it, from its row and its custom fields. */
export function customObjectDef(row: ObjectRow, fields: FieldDef[]): ObjectDef {
  const numbering = row.numberPrefix === null ? null : { prefix: row.numberPrefix, digits: row.numberDigits };
  return {
    key: row.key,
    labelSingular: row.labelSingular,
    labelPlural: row.labelPlural,
    table: RECORDS_TABLE,
    indexedSearch: true,
    titleSql: titleSqlOf(row.displayField),
    defaultSort: { field: 'created_at', direction: 'desc' },
    fields: [
      ...(numbering ? [numberField()] : []),
      ...baseFields(),
      ...fields.map((f) => ({ ...f, searchable: SEARCHED_TYPES.includes(f.type) })),
    ],
    display: {
      fields: [row.displayField],
      fallback: [],
      empty: `Unnamed ${row.labelSingular.toLowerCase()}`,
      columns: fields
        .filter((f) => !f.retired)
        .sort((a, b) =>
          a.key === row.displayField ? -1 : b.key === row.displayField ? 1 : a.position - b.position,
        )
        .slice(0, 6)
        .map((f) => f.key),
    },
    custom: {
      id: row.id,
      icon: row.icon,
      description: row.description,
      displayField: row.displayField,
      retired: row.retiredAt !== null,
      numbering,
      restrictedRoles: row.restrictedRoles,
    },
  };
}

/** A record's number as people read it: `CASE-00042` (prefix, then the number padded with zeros). */
export const formatRecordNumber = (numbering: { prefix: string; digits: number }, n: number): string =>
  `${numbering.prefix}${String(n).padStart(numbering.digits, '0')}`;

/** The tenant's custom objects' rows (retired ones included), by key, each with its fields' rows. */
export async function customObjectRows(
  tx: Tx,
  orgId: string,
  keys?: string[],
): Promise<{ row: ObjectRow; fields: FieldRow[] }[]> {
  const rows = await tx
    .select()
    .from(customObjects)
    .where(and(eq(customObjects.orgId, orgId), keys ? inArray(customObjects.key, keys) : undefined))
    .orderBy(asc(customObjects.key));
  if (rows.length === 0) return [];
  const fields = await tx
    .select()
    .from(customFields)
    .where(
      and(
        eq(customFields.orgId, orgId),
        inArray(
          customFields.object,
          rows.map((r) => r.key),
        ),
      ),
    )
    .orderBy(asc(customFields.position));
  return rows.map((row) => ({ row, fields: fields.filter((f) => f.object === row.key) }));
}

/**
 * The `search` text of a custom object's record as SQL over its values `custom` (a jsonb
 * expression: the column, or a bound value on write): its searchable fields lower-cased, phones
 * by their digits, as contacts' generated column does (migration 0005). One definition for the
 * record engine's writes and for recomputing an object's records after a field is purged.
 */
export function searchTextSql(def: ObjectDef, custom: SQL, number?: SQL): SQL {
  const numbering = def.custom?.numbering;
  // The record's number as shown (`case-00042`), so `q` finds a record by it (issue 21).
  const numberPart =
    numbering && number
      ? [
          sql`lower(${numbering.prefix}::text || case when length((${number})::text) >= ${numbering.digits}::int
            then (${number})::text else lpad((${number})::text, ${numbering.digits}::int, '0') end)`,
        ]
      : [];
  const parts = def.fields
    .filter((f) => f.origin === 'custom' && f.searchable && !f.retired)
    .map((f) => {
      const key = sql.raw(`'${f.key.replaceAll("'", "''")}'`);
      return f.type === 'phone'
        ? sql`regexp_replace(coalesce(${custom}->${key}->>'e164', ${custom}->${key}->>'raw', ''), '[^0-9]', '', 'g')`
        : sql`lower(${custom}->>${key})`;
    });
  parts.unshift(...numberPart);
  return parts.length ? sql`coalesce(concat_ws(' ', ${sql.join(parts, sql`, `)}), '')` : sql`''`;
}
