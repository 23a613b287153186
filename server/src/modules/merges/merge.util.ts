import { z } from 'zod';
import { AppError, badRequest } from '../../platform/errors/app-error.js';

/** The body of a merge: which record stays, which are merged into it, whose values to keep. */
export type MergeInput = { survivor_id: string; merged_ids: string[]; values: Record<string, string> };

/** A merged record as the value chooser reads it: its view, `custom` included. */
export type MergeView = { id: string; custom: Record<string, unknown> } & Record<string, unknown>;

/** The survivor's update (the chosen values, combined lists) and its values before, for undo. */
export type SurvivorPatch = { patch: Record<string, unknown>; before: Record<string, unknown> };

/**
 * The request schema of `POST /<collection>/merge` for one object: 1 to 10 records merged into a
 * survivor, and per field the id of the record whose value to keep.
 */
export function mergeInputSchema(meta: {
  id: string;
  singular: string;
  plural: string;
  fields: readonly string[];
}) {
  const plural = `${meta.plural[0]!.toUpperCase()}${meta.plural.slice(1)}`;
  return z
    .strictObject({
      survivor_id: z.uuid().describe(`The ${meta.singular} that stays`),
      merged_ids: z.array(z.uuid()).min(1).max(10).describe(`${plural} merged into it, then archived`),
      values: z
        .record(z.string().max(100), z.uuid())
        .default({})
        .describe(
          `Field -> the id of the ${meta.singular} (survivor or merged) whose value to keep: ${meta.fields.join(', ')} ` +
            "or custom.<key>. Unlisted fields keep the survivor's value, or the first merged record's when the survivor's is empty",
        ),
    })
    .meta({ id: meta.id });
}

export const isEmpty = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** @throws 400 `invalid_merge` at `body.merged_ids` when the survivor is among the merged */
export function assertNotSelfMerge(input: MergeInput): void {
  if (input.merged_ids.includes(input.survivor_id))
    throw badRequest('The survivor cannot be merged into itself', 'body.merged_ids', 'invalid_merge');
}

/**
 * Every id of the merge must be an active record of the tenant (`found`, read with the tenant's
 * filter, so another tenant's id is simply not there). @throws 404 naming `body.survivor_id` or
 * `body.merged_ids[i]`, with the same message whether the id is unknown, archived or another
 * tenant's
 */
export function assertAllFound(input: MergeInput, found: readonly string[], label: string): void {
  const missing = (id: string, path: string) =>
    new AppError(404, 'not_found', `${label} ${id} was not found`, { path });
  if (!found.includes(input.survivor_id)) throw missing(input.survivor_id, 'body.survivor_id');
  input.merged_ids.forEach((id, i) => {
    if (!found.includes(id)) throw missing(id, `body.merged_ids[${i}]`);
  });
}

/**
 * The survivor's chosen values: for each of `fields` and each custom key, the value of the record
 * named in `values`, else the survivor's, else the first non-empty one of the merged (in
 * `views` order, survivor first). Only what differs from the survivor goes in the patch; custom
 * values go in `patch.custom`. `read` reads a field (to ignore a value that cannot be kept).
 * @throws 400 `invalid_merge` at `body.values.<field>`: a record not in the merge, an unknown field
 */
export function chooseValues(
  views: readonly MergeView[],
  fields: readonly string[],
  values: Record<string, string>,
  options: { label: string; read?: (view: MergeView, field: string) => unknown },
): SurvivorPatch {
  const readField = options.read ?? ((view, field) => view[field]);
  const byId = new Map(views.map((v) => [v.id, v]));
  const [survivor, ...merged] = views as [MergeView, ...MergeView[]];
  for (const [field, fromId] of Object.entries(values)) {
    if (!byId.has(fromId))
      throw badRequest(
        `Not one of the ${options.label} being merged`,
        `body.values.${field}`,
        'invalid_merge',
      );
    if (!fields.includes(field) && !field.startsWith('custom.'))
      throw badRequest(`"${field}" cannot be chosen`, `body.values.${field}`, 'invalid_merge');
  }
  const pick = (chosen: string | undefined, read: (view: MergeView) => unknown) =>
    chosen
      ? read(byId.get(chosen)!)
      : isEmpty(read(survivor))
        ? merged.map(read).find((v) => !isEmpty(v))
        : read(survivor);

  const patch: Record<string, unknown> = {};
  const before: Record<string, unknown> = {};
  for (const field of fields) {
    const value = pick(values[field], (v) => readField(v, field));
    if (same(value, survivor[field]) || (isEmpty(value) && isEmpty(survivor[field]))) continue;
    patch[field] = value ?? null;
    before[field] = survivor[field] ?? null;
  }
  const custom: Record<string, unknown> = {};
  const customBefore: Record<string, unknown> = {};
  for (const key of new Set(views.flatMap((v) => Object.keys(v.custom)))) {
    const value = pick(values[`custom.${key}`], (v) => v.custom[key]);
    if (same(value, survivor.custom[key]) || (isEmpty(value) && isEmpty(survivor.custom[key]))) continue;
    custom[key] = value ?? null;
    customBefore[key] = survivor.custom[key] ?? null;
  }
  if (Object.keys(custom).length) {
    patch.custom = custom;
    before.custom = customBefore;
  }
  return { patch, before };
}

/** The survivor's tags followed by the merged records' others (compared case-insensitively). */
export function combineTags(survivor: readonly string[], merged: readonly (readonly string[])[]): string[] {
  const tags = [...survivor];
  for (const t of merged.flat()) if (!tags.some((x) => x.toLowerCase() === t.toLowerCase())) tags.push(t);
  return tags;
}
