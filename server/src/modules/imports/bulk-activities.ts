// Tasks and notes an import creates or updates, written a batch at a time (import-bulk.ts). A row
// whose outcome needs the row-by-row rules (its note is refused once sanitized, it matches a record
// another row of the batch also matches or creates) goes to `writeOne` instead, so both paths give
// every row the same outcome.

import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { nameOf, replaceNoteBodiesIn } from '../notes/note.service.js';
import { insertNotesIn, type NoteInsert } from '../notes/note-bulk.service.js';
import { sanitizeNote } from '../notes/note-html.util.js';
import { activeTasksIn, updateTasksIn } from '../tasks/task.service.js';
import { insertTasksIn, type TaskInsert } from '../tasks/task-bulk.service.js';
import type { CellProblem } from './import.schema.js';
import {
  type BulkWriter,
  findCompanies,
  findContacts,
  findOpportunities,
  finishWithExternalIds,
  insertOrDefer,
  rememberExternalIds,
  rows,
  updateOrDefer,
  type WriteOne,
} from './import-bulk.js';
import type { RowDraft } from './import-values.js';
import {
  failedRow,
  matchOn,
  problem,
  type RowResult,
  type RunContext,
  type RunSettings,
  resolveOwnerAs,
  str,
} from './import-writers.js';
import { noteHtml, type TaskRowValues, taskPatch } from './writers-activities.js';

type LinkObject = 'contact' | 'company' | 'opportunity';
const LINK_OBJECTS: readonly LinkObject[] = ['contact', 'company', 'opportunity'];

/**
 * A task or note row as read: `result` when it fails without the database (no title or text),
 * `rowByRow` for a note the sanitizer refuses (the row-by-row path gives the reason); otherwise
 * what it inserts.
 */
export type ActivityDraft = {
  externalId: string | null;
  /** The row's references per object it may be linked to, in the order they are tried. */
  refs: { object: LinkObject; ref: string }[];
  problems: CellProblem[];
  result?: RowResult;
  rowByRow?: true;
  /** The columns of the new task or note, but its link. */
  fields: Record<string, unknown>;
  /** The new record's name in its event. */
  name: string;
  /** A task row's values for `taskPatch`, when it matches a task. */
  taskValues?: TaskRowValues;
  /** A note row's text as note HTML, for `replaceNoteBodiesIn` when it matches a note. */
  noteBody?: string;
};

type ActivityBatch = {
  drafts: RowDraft[];
  prepared: ActivityDraft[];
  found?: {
    /** External id -> the existing task or note it names. */
    matched: Map<string, string>;
    links: Record<LinkObject, Map<string, string>>;
  };
};

const refsOf = (v: Record<string, unknown>) =>
  LINK_OBJECTS.flatMap((object) => {
    const ref = str(v[object]);
    return ref ? [{ object, ref }] : [];
  });

/** A task row (`writeTask`'s rules): title required, assignee by name or e-mail, due day, priority. */
export function prepareTask(run: RunSettings, draft: RowDraft): ActivityDraft {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const base = { externalId: str(v.external_id) ?? null, refs: refsOf(v), problems, fields: {}, name: '' };
  const title = str(v.title);
  if (!title)
    return { ...base, result: failedRow([problem(run, 'title', 'required', 'A task needs a title')]) };
  const dueDate = str(v.due_date);
  const priority = str(v.priority);
  const assignee = str(v.assignee);
  const assigneeId = assignee ? resolveOwnerAs(run, assignee, 'assignee', problems) : run.importerId;
  return {
    ...base,
    name: title,
    taskValues: { ...v, assignee_id: assigneeId },
    fields: {
      title,
      description: str(v.description) ?? null,
      dueAt: dueDate ? `${dueDate}T00:00:00.000Z` : null,
      allDay: Boolean(dueDate),
      priority: priority ?? 'normal',
      assigneeId,
    },
  };
}

/** A note row (`writeNote`'s rules): its text, each line a paragraph, sanitized as any note. */
export function prepareNote(run: RunSettings, draft: RowDraft): ActivityDraft {
  const v = draft.values;
  const base = {
    externalId: str(v.external_id) ?? null,
    refs: refsOf(v),
    problems: [],
    fields: {},
    name: '',
  };
  const body = str(v.body);
  if (!body) return { ...base, result: failedRow([problem(run, 'body', 'required', 'A note needs a text')]) };
  const html = noteHtml(body);
  let clean: { html: string; text: string };
  try {
    clean = sanitizeNote(html, 'body.body');
  } catch {
    return { ...base, rowByRow: true }; // empty once cleaned, or too long: the row path says which
  }
  return {
    ...base,
    name: nameOf(clean.text),
    noteBody: html,
    fields: { bodyHtml: clean.html, bodyText: clean.text },
  };
}

/** The batch's lookups: external ids already taken by `object`, and every record a row names. */
async function lookupActivities(scope: TenantScope, object: 'task' | 'note', batch: ActivityBatch) {
  const externals = batch.prepared.flatMap((p) => (p.externalId ? [p.externalId] : []));
  const table = object === 'task' ? 'tasks' : 'notes';
  const matched =
    externals.length === 0
      ? []
      : await rows<{ ref: string; id: string }>(
          scope,
          `select x.external_id as ref, x.record_id as id from external_ids x
             join ${table} r on r.org_id = x.org_id and r.id = x.record_id
            where x.org_id = $1 and x.object = $2 and x.external_id = any($3::text[])`,
          [object, externals],
        );
  const refs = (o: LinkObject) =>
    batch.prepared.flatMap((p) => p.refs.filter((r) => r.object === o)).map((r) => r.ref);
  const links = {
    contact: await findContacts(scope, refs('contact')),
    company: await findCompanies(scope, refs('company')),
    opportunity: await findOpportunities(scope, refs('opportunity')),
  };
  batch.found = { matched: new Map(matched.map((r) => [r.ref, r.id])), links };
}

/** A row matching a stored task or note (the only row of its batch that does), to be updated. */
type Matched = { row: number; id: string; a: ActivityDraft };

type NewActivity = {
  id: string;
  row: number;
  a: ActivityDraft;
  link: { object: LinkObject; id: string } | null;
};

/**
 * Writes a batch of task or note rows: new ones with one insert each for the records, their
 * events and external ids. A row matching a task or note by external id (the lookup, `carry`,
 * earlier rows) is skipped when the mode says so (tasks: `skip`; notes: all but `overwrite`);
 * otherwise, after the inserts, a stored task or note only one row of the batch matches is updated
 * with the others (`updateMatched`; one by one too when rows already wait for that, as
 * `updateOrDefer` rules). The rest (`ActivityDraft.rowByRow`, a match to a record this
 * batch creates or that several rows match, an insert or update refused whole) go one by one
 * through `writeOne`, after those, in file order. `carry` holds the external ids the previous
 * batch wrote, with their records (its commit may come after this batch's lookup). A task or note
 * links to the first of its contact, company and opportunity found (the finders return active
 * records only: an archived contact's e-mails are inactive, so `assertLinkable` would accept every
 * link); a reference not found is a problem on the row, and a note linked to nothing fails.
 * @returns one result per draft, in order
 */
async function writeActivities(
  run: RunContext,
  object: 'task' | 'note',
  batch: ActivityBatch,
  carry: Map<string, string>,
  writeOne: WriteOne,
): Promise<RowResult[]> {
  const found = batch.found!;
  const results: (RowResult | null)[] = batch.prepared.map(() => null);
  const created: NewActivity[] = [];
  const later: number[] = [];
  const external = new Map([...carry, ...found.matched]);
  // A matched row is skipped in these modes (`writeTask`, `writeNote`); updated in the others.
  const skips = object === 'task' ? run.dedup === 'skip' : run.dedup !== 'overwrite';
  // How many rows match each stored record: one alone is updated in bulk.
  const stored = new Map<string, number>();
  for (const a of batch.prepared) {
    const id = a.externalId && !a.result ? external.get(a.externalId) : undefined;
    if (id) stored.set(id, (stored.get(id) ?? 0) + 1);
  }
  const matched: Matched[] = [];
  for (const [i, a] of batch.prepared.entries()) {
    if (a.result) {
      results[i] = a.result;
      continue;
    }
    const match = a.externalId ? external.get(a.externalId) : undefined;
    if (match && skips) {
      results[i] = {
        outcome: 'skipped',
        recordId: match,
        problems: [],
        match: matchOn(run, 'external_id', a.externalId!),
      };
      continue;
    }
    if (match && !a.rowByRow && stored.get(match) === 1) {
      matched.push({ row: i, id: match, a });
      continue;
    }
    if (a.rowByRow || match) {
      later.push(i);
      continue;
    }
    let link: NewActivity['link'] = null;
    for (const { object: o, ref } of a.refs) {
      const id = found.links[o].get(ref);
      if (id) {
        link = { object: o, id };
        break;
      }
      a.problems.push(problem(run, o, `unknown_${o}`, `No ${o} matches this: not linked`, ref));
    }
    if (object === 'note' && !link) {
      results[i] = failedRow([
        ...a.problems,
        { column: null, code: 'required', message: 'A note must be on a contact, company or opportunity' },
      ]);
      continue;
    }
    const id = newId();
    created.push({ id, row: i, a, link });
    if (a.externalId) external.set(a.externalId, id);
  }
  await insertOrDefer(
    run.scope,
    created.map((n) => ({ id: n.id, row: n.row, problems: n.a.problems })),
    (sp) => insertActivities(run, sp, object, created),
    results,
    later,
  );
  await updateMatched(run, object, matched, results, later);
  return finishWithExternalIds(
    batch.drafts,
    batch.prepared.map((a) => a.externalId),
    results,
    later,
    writeOne,
    carry,
  );
}

/** What the bulk update did to a matched row's task or note; null: not found (archived, deleted). */
type UpdateAnswer = { outcome: 'updated'; before: Record<string, unknown> } | { outcome: 'skipped' } | null;

/**
 * Updates the matched rows' tasks or notes (`updateOrDefer`), as `writeTask` and `writeNote` would
 * one by one: a task by `taskPatch` (skipped when it changes nothing), a note's text replaced
 * (`overwrite`; skipped when it is the same). A task archived or a note deleted since the lookup
 * goes to `later` for its own outcome.
 */
async function updateMatched(
  run: RunContext,
  object: 'task' | 'note',
  matched: Matched[],
  results: (RowResult | null)[],
  later: number[],
): Promise<void> {
  await updateOrDefer(
    run.scope,
    matched,
    (scope) => (object === 'task' ? updateTasks(run, scope, matched) : updateNotes(run, scope, matched)),
    (m, answer: UpdateAnswer) =>
      answer && {
        ...answer,
        recordId: m.id,
        problems: m.a.problems,
        match: matchOn(run, 'external_id', m.a.externalId!),
      },
    (m) => m.a.problems,
    results,
    later,
  );
}

async function updateTasks(run: RunContext, scope: TenantScope, matched: Matched[]): Promise<UpdateAnswer[]> {
  const current = await activeTasksIn(
    scope,
    matched.map((m) => m.id),
  );
  const changes = matched.map((m) => {
    const task = current.get(m.id);
    return task ? { task, ...taskPatch(run, m.a.taskValues!, task) } : null;
  });
  const changed = changes.filter((c) => c !== null && Object.keys(c.patch).length > 0);
  await updateTasksIn(
    scope,
    run.services,
    changed.map((c) => ({ current: c!.task, patch: c!.patch })),
  );
  return changes.map((c) =>
    c === null
      ? null
      : Object.keys(c.patch).length === 0
        ? { outcome: 'skipped' }
        : { outcome: 'updated', before: c.before },
  );
}

async function updateNotes(run: RunContext, scope: TenantScope, matched: Matched[]): Promise<UpdateAnswer[]> {
  const before = await replaceNoteBodiesIn(
    scope,
    run.services,
    matched.map((m) => ({ id: m.id, body: m.a.noteBody! })),
  );
  return before.map((body) =>
    body === undefined
      ? null
      : body === null
        ? { outcome: 'skipped' }
        : { outcome: 'updated', before: { body } },
  );
}

async function insertActivities(
  run: RunContext,
  scope: TenantScope,
  object: 'task' | 'note',
  created: NewActivity[],
) {
  const linkColumns = (n: NewActivity) => ({
    linkedObject: n.link?.object ?? null,
    linkedId: n.link?.id ?? null,
  });
  if (object === 'task')
    await insertTasksIn(
      scope,
      run.services,
      created.map((n) => ({
        id: n.id,
        ...(n.a.fields as Omit<TaskInsert, 'id' | 'linkedObject' | 'linkedId'>),
        ...linkColumns(n),
      })),
    );
  else
    await insertNotesIn(
      scope,
      run.services,
      created.map((n) => ({
        id: n.id,
        ...(n.a.fields as Pick<NoteInsert, 'bodyHtml' | 'bodyText'>),
        linkedObject: n.link!.object,
        linkedId: n.link!.id,
      })),
    );
  const ids = created.flatMap((n) => (n.a.externalId ? [{ externalId: n.a.externalId, id: n.id }] : []));
  if (ids.length > 0) await rememberExternalIds(run, object, ids, scope);
}

function activityBulkWriter(object: 'task' | 'note', prepare: typeof prepareTask): BulkWriter {
  const carry = new Map<string, string>();
  return {
    prepare: (run, drafts): ActivityBatch => ({ drafts, prepared: drafts.map((d) => prepare(run, d)) }),
    lookup: (scope, batch) => lookupActivities(scope, object, batch as ActivityBatch),
    write: (run, batch, writeOne) => writeActivities(run, object, batch as ActivityBatch, carry, writeOne),
  };
}

export const taskBulkWriter = () => activityBulkWriter('task', prepareTask);
export const noteBulkWriter = () => activityBulkWriter('note', prepareNote);
