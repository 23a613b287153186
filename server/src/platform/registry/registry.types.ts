import type { StatusConfigOut } from './status-config.js';

/**
 * The object registry (DESIGN "The spine"): for each object, its fields, their types and
 * constraints, where each is stored, and what may be searched, filtered and sorted. Every
 * generic capability (lists and the query language, search, import, export, forms, workflows)
 * reads this, so a capability written once works for every object, custom ones included.
 */
export const FIELD_TYPES = [
  'text',
  'long_text',
  'number',
  'currency',
  'date',
  'datetime',
  'boolean',
  'select',
  'multi_select',
  'status',
  'email',
  'phone',
  'url',
  'relation',
  'user',
  'tags',
  'uuid',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export type SelectOption = { value: string; label: string; color?: string | undefined };

/**
 * Where a field's value lives:
 * - `column`: a real column of the object's table (`column` is its SQL name)
 * - `custom`: a key of the record's `custom` jsonb column (tenant-defined fields)
 * - `computed`: derived by the object's service (read-only; may map to an SQL expression, in which
 *   `{table}` stands for the record table's alias). A computed relation to many records (a contact's
 *   companies) may give `idsSql`, the query of the related ids: filters then read it as a set
 *   (`eq`/`in`: linked to one of them, `neq`/`nin`: to none of them, `isEmpty`: to nothing).
 */
export type FieldStorage =
  | { kind: 'column'; column: string }
  | { kind: 'custom' }
  | { kind: 'computed'; sql?: string | undefined; idsSql?: string | undefined };

export type FieldDef = {
  /** Stable API name, snake_case: `first_name`, `cf_budget`. */
  key: string;
  label: string;
  type: FieldType;
  storage: FieldStorage;
  required: boolean;
  unique: boolean;
  default?: unknown;
  /** For select and multi_select; for status, its statuses as options. */
  options?: SelectOption[] | undefined;
  /** For status: the statuses, their kinds, roles and allowed moves (status-field.ts). */
  statuses?: StatusConfigOut | undefined;
  /**
   * For a computed field: the fields its value is made of (a contact's Name: first and last
   * name). It is readable only where all of them are, so it never shows a hidden field's value.
   */
  madeOf?: string[] | undefined;
  /**
   * For relation: the object it points to. `many`: a many-to-many relation (a custom object's
   * field, issue 21) whose links are rows of `record_links` under `fieldId`; its value is the list
   * of the linked records (`[{id, name}]` read, ids written).
   */
  relation?: { object: string; many?: boolean | undefined; fieldId?: string | undefined } | undefined;
  /** For text-like types: the longest accepted value, in characters. */
  maxLength?: number | undefined;
  searchable: boolean;
  filterable: boolean;
  sortable: boolean;
  /** Set by the system (id, created_at...): never accepted on write. */
  readOnly: boolean;
  /** Standard (code-defined) or custom (tenant-defined). */
  origin: 'standard' | 'custom';
  /** Display order. */
  position: number;
  /** A retired custom field keeps its data but is hidden from forms and refused on write. */
  retired: boolean;
  description?: string | undefined;
  /**
   * Header names, normalized (lower-case letters and digits: "Phone Number" is `phonenumber`),
   * that name this field in a file: the import suggests the field for such a column.
   */
  synonyms?: string[] | undefined;
  /**
   * Keys of answers computed from this field's values (a board column's `sums` of amounts): an
   * access profile that hides the field strips them too (issue 22).
   */
  derivedKeys?: string[] | undefined;
};

export type ObjectDef = {
  /** `contact`, `company`, ... */
  key: string;
  labelSingular: string;
  labelPlural: string;
  /** SQL table of the object's records. */
  table: string;
  fields: FieldDef[];
  /** Has a `search` column and trigram index served by `cairn_search_ids` (migration 0005). */
  indexedSearch?: boolean;
  /** SQL naming a record (timelines, search results), over the table under `alias`. */
  titleSql?: (alias: string) => string;
  /**
   * A task or a note: about a record, with no custom fields (no `custom` column), not in the
   * global search.
   */
  activity?: boolean;
  /** Default sort for lists: field key and direction. */
  defaultSort: { field: string; direction: 'asc' | 'desc' };
  /** How a record is named and listed by clients (headings, links, pickers, tables). */
  display?: ObjectDisplay;
  /**
   * A tenant-defined object (issue 21): its records are the rows of the generic `records` table
   * whose `object_id` is `id` (every query of the object adds that condition).
   */
  custom?: CustomObjectInfo;
};

/**
 * How a record of an object is named and listed. Its name: the non-empty values of `fields`
 * joined by a space, else the first non-empty value of `fallback`, else `empty`
 * (`displayNameOf`; `titleSql` is the same rule in SQL).
 */
export type ObjectDisplay = {
  /** The fields that name a record: `first_name`, `last_name`; `name`; `title`. */
  fields: string[];
  /** Fields tried in order when those are all empty (a contact: its e-mail, then its phone). */
  fallback: string[];
  /** What a record with none of them is called. */
  empty: string;
  /** The columns a table of these records shows before the user chooses. */
  columns: string[];
};

/** What the registry knows of a custom object beyond its fields. */
export type CustomObjectInfo = {
  /** The `custom_objects` row: the discriminator of its records in `records.object_id`. */
  id: string;
  icon: string | null;
  description: string | null;
  /** The key of the field that names a record. */
  displayField: string;
  /** Retired: hidden from the object list and refusing writes; records kept. */
  retired: boolean;
  /**
   * Record numbers (`CASE-00042`): the prefix and the digits the number is padded to; null when
   * the object does not number its records.
   */
  numbering: { prefix: string; digits: number } | null;
  /**
   * Roles that see only the records in the statuses they own, those that were in one of them
   * before, and those they own (platform/access/status-scope.ts); admins see every record.
   */
  restrictedRoles: string[];
};
