// Task and note rows, one at a time.
import type { TenantScope } from '../../db/tenant.js';
import { createNoteIn, replaceNoteBodyIn } from '../notes/note.service.js';
import type { TaskView } from '../tasks/task.dto.js';
import { activeTaskIn, createTaskIn, type TaskImportPatch, updateTaskIn } from '../tasks/task.service.js';
import type { CellProblem } from './import.schema.js';
import {
  failedRow,
  findCompany,
  findContact,
  firstId,
  matchOn,
  problem,
  type RowWriter,
  type RunContext,
  type RunSettings,
  recordOfExternalId,
  rememberExternalId,
  resolveOwnerAs,
  setField,
  str,
} from './import-writers.js';

async function findOpportunity(scope: TenantScope, ref: string): Promise<string | null> {
  return (
    (await recordOfExternalId(scope, 'opportunity', ref)) ??
    (await firstId(
      scope,
      'select id from opportunities where org_id = $1 and lower(title) = lower($2) and archived_at is null order by created_at limit 1',
      [ref],
    ))
  );
}

/** The record a task or note is about: the first filled of contact, company, opportunity that is found. */
async function linkOf(
  run: RunContext,
  v: Record<string, unknown>,
  problems: CellProblem[],
): Promise<{ object: 'contact' | 'company' | 'opportunity'; id: string } | null> {
  const finders = { contact: findContact, company: findCompany, opportunity: findOpportunity } as const;
  for (const object of ['contact', 'company', 'opportunity'] as const) {
    const ref = str(v[object]);
    if (!ref) continue;
    const id = await finders[object](run.scope, ref);
    if (id) return { object, id };
    problems.push(problem(run, object, `unknown_${object}`, `No ${object} matches this: not linked`, ref));
  }
  return null;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** A task row's values, as `writeTask` reads them (`assignee_id`: the member `assignee` names). */
export type TaskRowValues = Record<string, unknown> & { assignee_id: string | null };

/**
 * What a task row changes on the task it matches, by the import's mode (`setField`): title,
 * description, priority, the assignee when the row names one, the due day (`overwrite`: a
 * different day; `update_empty`: only a task due never); and what those fields were (`before`, a
 * timed due as `due_at`, so an undo puts it back as it was). Empty `patch`: the row is skipped.
 */
export function taskPatch(
  run: RunSettings,
  v: TaskRowValues,
  current: TaskView,
): { patch: TaskImportPatch; before: Record<string, unknown> } {
  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  setField(run, patch, before, 'title', str(v.title), current.title);
  setField(run, patch, before, 'description', str(v.description), current.description);
  setField(run, patch, before, 'priority', str(v.priority), current.priority);
  if (str(v.assignee)) setField(run, patch, before, 'assignee_id', v.assignee_id, current.assignee_id);
  const dueDate = str(v.due_date);
  if (
    dueDate &&
    (run.dedup === 'overwrite' ? dueDate !== current.due_date : !current.due_date && !current.due_at)
  ) {
    patch.due_date = dueDate;
    // A timed due goes back as it was; a due day (or none) as a day.
    Object.assign(
      before,
      current.due_at && !current.due_date ? { due_at: current.due_at } : { due_date: current.due_date },
    );
  }
  return { patch: patch as TaskImportPatch, before };
}

/**
 * A task row: assignee by name or e-mail (unknown: reported, the importer is assigned), linked
 * to the first contact, company or opportunity of the row that is found. Matched by external id
 * only; a matched task's title, description, priority, due day and assignee follow the mode (its
 * link stays).
 */
export const writeTask: RowWriter = async (run, draft) => {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const title = str(v.title);
  if (!title) return failedRow([problem(run, 'title', 'required', 'A task needs a title')]);
  const externalId = str(v.external_id);
  const existingId = externalId ? await recordOfExternalId(run.scope, 'task', externalId) : null;
  const match = existingId ? matchOn(run, 'external_id', externalId!) : undefined;
  if (existingId && run.dedup === 'skip')
    return { outcome: 'skipped', recordId: existingId, problems, match };
  const assignee = str(v.assignee);
  const assigneeId = assignee ? resolveOwnerAs(run, assignee, 'assignee', problems) : run.importerId;
  if (existingId) {
    const current = await activeTaskIn(run.scope, existingId);
    const { patch, before } = taskPatch(run, { ...v, assignee_id: assigneeId }, current);
    if (Object.keys(patch).length === 0) return { outcome: 'skipped', recordId: existingId, problems, match };
    await updateTaskIn(run.scope, run.services, existingId, patch);
    return { outcome: 'updated', recordId: existingId, before, problems, match };
  }
  const link = await linkOf(run, v, problems);
  const created = await createTaskIn(run.scope, run.services, {
    title,
    description: str(v.description) ?? null,
    ...(str(v.due_date) ? { due_date: str(v.due_date) } : {}),
    ...(str(v.priority) ? { priority: v.priority as 'normal' } : {}),
    assignee_id: assigneeId,
    link,
  });
  await rememberExternalId(run, 'task', externalId, created.id);
  return { outcome: 'created', recordId: created.id, problems };
};

/** A note row's text as a note stores it: each line a paragraph, HTML escaped. */
export const noteHtml = (body: string) =>
  body
    .split(/\r?\n/)
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join('');

/**
 * A note row: plain text (each line a paragraph, HTML escaped, then sanitized as any note) on the
 * first contact, company or opportunity of the row that is found; a note on nothing fails.
 * Matched by external id only. A matched note's text is replaced in `overwrite` mode (it is never
 * empty, so `update_empty` has nothing to fill: skipped); its link stays.
 */
export const writeNote: RowWriter = async (run, draft) => {
  const v = draft.values;
  const problems: CellProblem[] = [];
  const body = str(v.body);
  if (!body) return failedRow([problem(run, 'body', 'required', 'A note needs a text')]);
  const externalId = str(v.external_id);
  const existingId = externalId ? await recordOfExternalId(run.scope, 'note', externalId) : null;
  if (existingId) {
    const before =
      run.dedup === 'overwrite'
        ? await replaceNoteBodyIn(run.scope, run.services, existingId, noteHtml(body))
        : null;
    const match = matchOn(run, 'external_id', externalId!);
    return before === null
      ? { outcome: 'skipped', recordId: existingId, problems, match }
      : { outcome: 'updated', recordId: existingId, before: { body: before }, problems, match };
  }
  const link = await linkOf(run, v, problems);
  if (!link)
    return failedRow([
      ...problems,
      { column: null, code: 'required', message: 'A note must be on a contact, company or opportunity' },
    ]);
  const created = await createNoteIn(run.scope, run.services, {
    object: link.object,
    id: link.id,
    body: noteHtml(body),
  });
  await rememberExternalId(run, 'note', externalId, created.id);
  return { outcome: 'created', recordId: created.id, problems };
};
