import { sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { TenantScope } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import type { FilterNode } from '../../platform/query/query.schema.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { CompanyCreate, CompanyUpdate } from '../companies/company.dto.js';
import { createCompanyIn } from '../companies/company.service.js';
import { updateCompaniesIn, updateCompanyIn } from '../companies/company-updates.service.js';
import { ContactCreate, ContactUpdate } from '../contacts/contact.dto.js';
import { createContactIn } from '../contacts/contact.service.js';
import { updateContactIn, updateContactsIn } from '../contacts/contact-updates.service.js';
import { OpportunityCreate, OpportunityUpdate } from '../opportunities/opportunity.dto.js';
import { createOpportunityIn } from '../opportunities/opportunity.service.js';
import { updateOpportunitiesIn, updateOpportunityIn } from '../opportunities/opportunity-updates.service.js';
import type { RecordChangeResult } from '../records/record-changes.js';
import { createRecordIn, RecordWrite, updateRecordIn } from '../records/record-engine.service.js';
import { itemShaper } from '../records/record-list.service.js';
import { TaskCreate, TaskUpdate } from '../tasks/task.dto.js';
import { createTaskIn, updateTaskIn } from '../tasks/task.service.js';

/**
 * The records a workflow acts on, for every registry object (issue 24): read one as the query
 * language returns it, test a filter tree against it, and change or create one through its
 * object's own write path (its checks, hooks and events), inside the step's transaction.
 */

/** Each standard object's write path; a custom object's records go through the record engine. */
const WRITERS: Record<
  string,
  {
    create: z.ZodType;
    update: z.ZodType;
    createIn(scope: TenantScope, services: Services, input: never): Promise<{ id: string }>;
    updateIn(scope: TenantScope, services: Services, id: string, input: never): Promise<unknown>;
  }
> = {
  contact: {
    create: ContactCreate,
    update: ContactUpdate,
    createIn: createContactIn,
    updateIn: updateContactIn,
  },
  company: {
    create: CompanyCreate,
    update: CompanyUpdate,
    createIn: createCompanyIn,
    updateIn: updateCompanyIn,
  },
  opportunity: {
    create: OpportunityCreate,
    update: OpportunityUpdate,
    createIn: createOpportunityIn,
    updateIn: updateOpportunityIn,
  },
  task: { create: TaskCreate, update: TaskUpdate, createIn: createTaskIn, updateIn: updateTaskIn },
};

const rowsOf = <T>(result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

/** The record with every field, as a list returns it (custom values under `custom`). @throws 404 when gone or archived */
export async function readRecord(
  scope: TenantScope,
  def: ObjectDef,
  id: string,
): Promise<Record<string, unknown>> {
  const compiled = compileListQuery(def, { limit: 1 }, { table: 'r' });
  const rows = rowsOf<Record<string, unknown>>(
    await scope.tx.execute(sql`select ${compiled.select} from ${sql.identifier(def.table)} r
      where r.org_id = ${scope.ctx.orgId} and r.id = ${id}::uuid and r.archived_at is null and ${compiled.where}`),
  );
  if (!rows[0]) throw notFound(def.labelSingular, id);
  const { _cursor: _, ...record } = itemShaper(compiled.fields)(rows[0]);
  return record;
}

/** Live records with every field, as a list returns them, by id (a gone or archived one is absent); one query. */
export async function readRecords(
  scope: TenantScope,
  def: ObjectDef,
  ids: string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map();
  const compiled = compileListQuery(def, { limit: 1 }, { table: 'r' });
  const rows = rowsOf<Record<string, unknown>>(
    await scope.tx.execute(sql`select ${compiled.select} from ${sql.identifier(def.table)} r
      where r.org_id = ${scope.ctx.orgId} and r.id = any(${`{${ids.join(',')}}`}::uuid[])
        and r.archived_at is null and ${compiled.where}`),
  );
  const shape = itemShaper(compiled.fields);
  const out = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const { _cursor: _, ...record } = shape(row);
    out.set(String(record.id), record);
  }
  return out;
}

/** Whether the live record matches the filter tree (the query language, evaluated by PostgreSQL). */
export async function recordMatches(
  scope: TenantScope,
  def: ObjectDef,
  id: string,
  filter: FilterNode | undefined,
  requiredTag?: string,
): Promise<boolean> {
  const compiled = compileListQuery(def, { ...(filter ? { filter } : {}), limit: 1 }, { table: 'r' });
  const tag = requiredTag
    ? sql`and exists (select 1 from unnest(r.tags) t where lower(t) = lower(${requiredTag}))`
    : sql``;
  const rows = rowsOf(
    await scope.tx.execute(sql`select 1 from ${sql.identifier(def.table)} r
      where r.org_id = ${scope.ctx.orgId} and r.id = ${id}::uuid and r.archived_at is null
        and ${compiled.where} ${tag}`),
  );
  return rows.length > 0;
}

/** Which of the live records `ids` match the filter tree (and carry `requiredTag`): one query. */
export async function matchingIds(
  scope: TenantScope,
  def: ObjectDef,
  ids: string[],
  filter: FilterNode | undefined,
  requiredTag?: string,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const compiled = compileListQuery(def, { ...(filter ? { filter } : {}), limit: 1 }, { table: 'r' });
  const tag = requiredTag
    ? sql`and exists (select 1 from unnest(r.tags) t where lower(t) = lower(${requiredTag}))`
    : sql``;
  const rows = rowsOf<{ id: string }>(
    await scope.tx.execute(sql`select r.id::text as id from ${sql.identifier(def.table)} r
      where r.org_id = ${scope.ctx.orgId} and r.id = any(${`{${ids.join(',')}}`}::uuid[]) and r.archived_at is null
        and ${compiled.where} ${tag}`),
  );
  return new Set(rows.map((r) => r.id));
}

/** Splits `{field: value}` into the write input of `def`: custom fields under `custom`. */
function writeInput(def: ObjectDef, values: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const field = def.fields.find((f) => f.key === key);
    if (field?.storage.kind === 'custom')
      input.custom = { ...((input.custom as object) ?? {}), [key]: value };
    else input[key] = value;
  }
  return input;
}

/** Parses a write with the object's own schema. @throws 422 `invalid_value` naming the field */
function parsed(schema: z.ZodType, input: Record<string, unknown>): never {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new AppError(422, 'invalid_value', `${path || 'value'}: ${issue.message}`, { path });
  }
  return result.data as never;
}

/** Changes fields of one record through its object's write path (one `<object>.updated` event). */
export async function updateRecordFields(
  scope: TenantScope,
  services: Services,
  def: ObjectDef,
  id: string,
  values: Record<string, unknown>,
): Promise<void> {
  const input = writeInput(def, values);
  const writer = WRITERS[def.key];
  if (writer) await writer.updateIn(scope, services, id, parsed(writer.update, input));
  else await updateRecordIn(scope, services, def.key, id, parsed(RecordWrite, input));
}

/** Many records' changes through their object's batch write path: what `batchWriter` returns. */
export type BatchWrite = {
  (
    scope: TenantScope,
    services: Services,
    items: {
      id: string;
      input: Record<string, unknown> | ((current: never) => Record<string, unknown> | null);
    }[],
  ): Promise<RecordChangeResult<unknown>[]>;
  /** A change's write input from `{field: value}`, parsed. @throws 422 `invalid_value` */
  input(values: Record<string, unknown>): Record<string, unknown>;
};

const BATCH: Record<
  string,
  (scope: TenantScope, services: Services, changes: never[]) => Promise<unknown[]>
> = {
  contact: updateContactsIn as never,
  company: updateCompaniesIn as never,
  opportunity: updateOpportunitiesIn as never,
};

/**
 * The object's batch write (`updateContactsIn`...: the records read and locked once, one update
 * per table, one event insert, one result per item), for the objects that have one.
 */
export function batchWriter(def: ObjectDef): BatchWrite | undefined {
  const batch = BATCH[def.key];
  const writer = WRITERS[def.key];
  if (!batch || !writer) return undefined;
  const write = ((scope, services, items) =>
    batch(scope, services, items as never[]) as Promise<RecordChangeResult<unknown>[]>) as BatchWrite;
  write.input = (values) => parsed(writer.update, writeInput(def, values)) as Record<string, unknown>;
  return write;
}

/**
 * A new contact's primary `email` and `phone` (the registry's fields) as the contacts' write path
 * takes them: `emails: [{value}]`, `phones: [{number}]`.
 */
function contactValues(values: Record<string, unknown>): Record<string, unknown> {
  const { email, phone, ...rest } = values;
  return {
    ...rest,
    ...(email !== undefined && email !== null && email !== '' ? { emails: [{ value: String(email) }] } : {}),
    ...(phone !== undefined && phone !== null && phone !== '' ? { phones: [{ number: String(phone) }] } : {}),
  };
}

/** Creates a record of `def` through its object's write path. @returns its id */
export async function createRecordOf(
  scope: TenantScope,
  services: Services,
  def: ObjectDef,
  values: Record<string, unknown>,
): Promise<string> {
  const input = writeInput(def, def.key === 'contact' ? contactValues(values) : values);
  const writer = WRITERS[def.key];
  if (writer) return (await writer.createIn(scope, services, parsed(writer.create, input))).id;
  return (await createRecordIn(scope, services, def.key, parsed(RecordWrite, input))).id;
}

/** Creates a task, through the tasks' own path. @returns its id */
export async function createTaskFor(
  scope: TenantScope,
  services: Services,
  input: Record<string, unknown>,
): Promise<string> {
  return (await createTaskIn(scope, services, parsed(TaskCreate, input))).id;
}

/** Records' names as timelines show them (the object's title), by id; one query. */
export async function recordNames(
  scope: TenantScope,
  object: string,
  ids: string[],
): Promise<Map<string, string | null>> {
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, object);
  if (!def.titleSql || ids.length === 0) return new Map();
  const rows = rowsOf<{ id: string; name: string | null }>(
    await scope.tx.execute(
      sql`select r.id::text as id, ${sql.raw(def.titleSql('r'))} as name from ${sql.identifier(def.table)} r
           where r.org_id = ${scope.ctx.orgId} and r.id = any(${`{${ids.join(',')}}`}::uuid[])`,
    ),
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** A record's name as timelines show it (the object's title), or null. */
export async function recordName(scope: TenantScope, object: string, id: string): Promise<string | null> {
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, object);
  if (!def.titleSql) return null;
  const rows = rowsOf<{ name: string | null }>(
    await scope.tx.execute(
      sql`select ${sql.raw(def.titleSql('r'))} as name from ${sql.identifier(def.table)} r
           where r.org_id = ${scope.ctx.orgId} and r.id = ${id}::uuid`,
    ),
  );
  return rows[0]?.name ?? null;
}
