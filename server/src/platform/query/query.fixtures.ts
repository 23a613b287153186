import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle, type PgliteDatabase } from 'drizzle-orm/pglite';
import type { FieldDef, FieldStorage, FieldType, ObjectDef } from '../registry/registry.types.js';
import { type CompileListQueryOptions, compileListQuery } from './query.compiler.js';
import type { FilterNode, ListQuery } from './query.schema.js';

/**
 * Test data for the query language: a contacts-shaped table, its registry entry and 30 varied
 * rows (NULLs, '' values, tags stored lower-case as the app stores them, custom fields present or
 * missing). Tests only.
 */

/** "Now" for every test: Wednesday 15 May 2024, 10:00 UTC. */
export const NOW = new Date('2024-05-15T10:00:00Z');
export const ORG = '0a000000-0000-4000-8000-000000000000';
export const OWNER = {
  ada: '0b000000-0000-4000-8000-000000000001',
  bob: '0b000000-0000-4000-8000-000000000002',
  cy: '0b000000-0000-4000-8000-000000000003',
} as const;

type Extra = Partial<Omit<FieldDef, 'key' | 'type' | 'storage'>>;
let position = 0;
function field(key: string, type: FieldType, storage: FieldStorage, extra: Extra = {}): FieldDef {
  position += 1;
  return {
    key,
    label: key.replaceAll('_', ' '),
    type,
    storage,
    required: false,
    unique: false,
    searchable: false,
    filterable: true,
    sortable: true,
    readOnly: false,
    origin: storage.kind === 'custom' ? 'custom' : 'standard',
    position,
    retired: false,
    ...extra,
  };
}
const column = (name: string): FieldStorage => ({ kind: 'column', column: name });
const custom: FieldStorage = { kind: 'custom' };
const options = (...values: string[]) => values.map((value) => ({ value, label: value }));

export const contactObject: ObjectDef = {
  key: 'contact',
  labelSingular: 'Contact',
  labelPlural: 'Contacts',
  table: 'contacts',
  defaultSort: { field: 'created_at', direction: 'desc' },
  fields: [
    field('id', 'uuid', column('id'), { readOnly: true }),
    field('first_name', 'text', column('first_name'), { searchable: true }),
    field('last_name', 'text', column('last_name'), { searchable: true }),
    field('email', 'email', column('email'), { searchable: true }),
    field('phone', 'phone', column('phone'), { searchable: true }),
    field('tags', 'tags', column('tags'), { sortable: false }),
    field('owner_id', 'user', column('owner_id')),
    field('created_at', 'datetime', column('created_at'), { readOnly: true }),
    field('score', 'number', column('score')),
    field('full_name', 'text', { kind: 'computed' }, { filterable: false, sortable: false }),
    field('cf_budget', 'number', custom),
    field('cf_stage', 'select', custom, { options: options('lead', 'qualified', 'customer') }),
    field('cf_interests', 'multi_select', custom, {
      options: options('crm', 'email', 'sales', 'support'),
      sortable: false,
    }),
    field('cf_renewal', 'date', custom),
    field('cf_notes', 'long_text', custom, { filterable: false, sortable: false }),
    field('cf_private', 'text', custom),
    field('cf_legacy', 'text', custom, { retired: true }),
  ],
};

export type ContactRow = {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  tags: string[] | null;
  owner_id: string | null;
  created_at: string | null;
  score: number | null;
  custom: Record<string, unknown>;
};

export const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

type Values = Omit<ContactRow, 'id'>;
const row = (n: number, v: Values): ContactRow => ({ id: idOf(n), ...v });
const { ada, bob, cy } = OWNER;

// biome-ignore format: one contact per line reads as a table
const handmade: ContactRow[] = [
  row(1, { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+1 555-123-4567', tags: ['vip', 'customer'], owner_id: ada, created_at: '2024-05-15T08:00:00Z', score: 90, custom: { cf_budget: 5000, cf_stage: 'customer', cf_interests: ['crm', 'sales'], cf_renewal: '2024-06-01' } }),
  row(2, { first_name: 'Grace', last_name: 'Hopper', email: 'grace@navy.mil', phone: '(555) 987-6543', tags: ['vip'], owner_id: bob, created_at: '2024-05-14T12:00:00Z', score: 75, custom: { cf_budget: 1200.5, cf_stage: 'qualified', cf_interests: ['support'], cf_renewal: '2024-05-15' } }),
  row(3, { first_name: 'Alan', last_name: 'Turing', email: 'alan@bletchley.uk', phone: null, tags: ['prospect'], owner_id: ada, created_at: '2024-05-01T00:00:00Z', score: 75, custom: { cf_stage: 'lead' } }),
  row(4, { first_name: 'Edsger', last_name: 'Dijkstra', email: null, phone: '555 000 1111', tags: [], owner_id: null, created_at: '2024-04-20T09:00:00Z', score: null, custom: {} }),
  row(5, { first_name: 'Barbara', last_name: 'Liskov', email: 'barbara@mit.edu', phone: '', tags: null, owner_id: cy, created_at: '2024-05-13T00:30:00Z', score: 60, custom: { cf_budget: 0, cf_interests: [] } }),
  row(6, { first_name: 'Donald', last_name: 'Knuth', email: 'don@stanford.edu', phone: '+44 20 7946 0958', tags: ['author', 'vip'], owner_id: bob, created_at: '2023-12-31T23:00:00Z', score: 99.5, custom: { cf_budget: 250000, cf_stage: 'customer', cf_interests: ['crm', 'email', 'sales'], cf_renewal: '2025-01-01' } }),
  row(7, { first_name: 'Ken', last_name: 'Thompson', email: 'ken@bell-labs.com', phone: null, tags: ['unix'], owner_id: ada, created_at: '2024-05-15T09:59:59Z', score: 40, custom: { cf_stage: 'lead', cf_renewal: '2024-05-14' } }),
  row(8, { first_name: 'Dennis', last_name: 'Ritchie', email: 'dmr@bell-labs.com', phone: '555-123-0000', tags: ['unix', 'c'], owner_id: ada, created_at: '2024-03-10T10:00:00Z', score: 40, custom: { cf_budget: 40, cf_interests: ['email'] } }),
  row(9, { first_name: 'Linus', last_name: 'Torvalds', email: 'linus@kernel.org', phone: null, tags: ['kernel'], owner_id: cy, created_at: '2024-05-09T00:00:00Z', score: 85, custom: { cf_stage: 'qualified', cf_renewal: '2024-05-09' } }),
  row(10, { first_name: 'Margaret', last_name: 'Hamilton', email: 'margaret@nasa.gov', phone: '+1 (555) 123-9999', tags: ['vip'], owner_id: null, created_at: '2024-05-10T00:00:00Z', score: null, custom: { cf_budget: 99.99, cf_interests: ['crm'] } }),
  row(11, { first_name: '100% Legit', last_name: 'Under_Score', email: 'under_score@example.com', phone: null, tags: ['100%'], owner_id: bob, created_at: '2024-02-29T12:00:00Z', score: 10, custom: { cf_stage: 'lead', cf_private: 'secret' } }),
  row(12, { first_name: 'Conan', last_name: "O'Brien", email: 'conan@example.com', phone: '+1 555 867 5309', tags: null, owner_id: cy, created_at: '2024-05-16T02:00:00Z', score: 55, custom: { cf_renewal: '2024-05-20' } }),
  row(13, { first_name: null, last_name: 'Nobody', email: null, phone: null, tags: null, owner_id: null, created_at: null, score: null, custom: {} }),
  row(14, { first_name: '', last_name: 'Emptyname', email: 'empty@example.com', phone: '', tags: [], owner_id: ada, created_at: '2024-05-12T23:59:59Z', score: 75, custom: { cf_stage: 'customer', cf_interests: ['sales', 'support'] } }),
];

const filler: ContactRow[] = Array.from({ length: 16 }, (_, k) => {
  const n = 15 + k;
  const stage = (['lead', 'qualified', 'customer', undefined] as const)[k % 4];
  return row(n, {
    first_name: `Test${String.fromCharCode(65 + k)}`,
    last_name: ['Smith', 'Jones', 'Brown', 'Taylor'][k % 4] ?? null,
    email: k % 5 === 0 ? null : `test${n}@corp.example`,
    phone: k % 3 === 0 ? null : `+33 1 ${10 + k} ${20 + k} 00`,
    tags: [null, ['lead'], ['lead', 'partner'], []][k % 4] ?? null,
    owner_id: [ada, bob, cy][k % 3] ?? null,
    created_at: `2024-0${1 + (k % 5)}-${10 + k}T0${k % 10}:00:00Z`,
    score: k % 5 === 0 ? null : (k * 7) % 100,
    custom: {
      ...(k % 2 === 1 ? { cf_budget: k * 100 } : {}),
      ...(stage ? { cf_stage: stage } : {}),
      ...(k % 3 === 0
        ? { cf_interests: ['crm'] }
        : k % 3 === 1
          ? { cf_interests: ['email', 'support'] }
          : {}),
      ...(k % 2 === 0 ? { cf_renewal: `2024-0${1 + (k % 6)}-15` } : {}),
    },
  });
});

export const contactRows: ContactRow[] = [...handmade, ...filler];

/** The ids of the rows `predicate` accepts, sorted: what a correct query returns. */
export const idsWhere = (predicate: (row: ContactRow) => boolean) =>
  contactRows
    .filter(predicate)
    .map((r) => r.id)
    .sort();

/** Runs a compiled list query the way a route does, against `db`. */
export function listRunner(db: PgliteDatabase) {
  const run = async (query: ListQuery, options: CompileListQueryOptions = {}) => {
    const compiled = compileListQuery(contactObject, query, { table: 'c', now: NOW, ...options });
    const result = await db.execute(
      sql`select ${compiled.select} from contacts c where ${compiled.where} order by ${compiled.orderBy} limit ${compiled.limit}`,
    );
    return { rows: result.rows as Record<string, unknown>[], compiled };
  };
  /** The ids (sorted) of every row matching `filter` (and `q`). */
  const matching = async (
    filter: FilterNode | undefined,
    extra: Partial<ListQuery> = {},
    options: CompileListQueryOptions = {},
  ) => {
    const { rows } = await run({ filter, limit: 200, ...extra }, options);
    return rows.map((r) => String(r.id)).sort();
  };
  /** The ids in the order the list shows them. */
  const ordered = async (query: ListQuery, options: CompileListQueryOptions = {}) =>
    (await run({ limit: 200, ...query }, options)).rows.map((r) => String(r.id));
  return { run, matching, ordered };
}

/** A fresh in-memory database with the contacts table and rows. */
export async function openContactsDb(): Promise<{ pglite: PGlite; db: PgliteDatabase }> {
  const pglite = new PGlite();
  const db = drizzle(pglite);
  await db.execute(sql`create table contacts (
    org_id uuid not null, id uuid primary key, first_name text, last_name text, email text,
    phone text, tags text[], owner_id uuid, created_at timestamptz, score numeric,
    custom jsonb not null default '{}'::jsonb)`);
  for (const r of contactRows) {
    const tags =
      r.tags === null
        ? sql`null`
        : sql`array[${sql.join(
            r.tags.map((t) => sql`${t}`),
            sql`, `,
          )}]::text[]`;
    await db.execute(sql`insert into contacts values (${ORG}, ${r.id}, ${r.first_name}, ${r.last_name},
      ${r.email}, ${r.phone}, ${tags}, ${r.owner_id}, ${r.created_at}::timestamptz,
      ${r.score === null ? null : String(r.score)}::numeric, ${JSON.stringify(r.custom)}::jsonb)`);
  }
  return { pglite, db };
}
