import { z } from 'zod';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { findRecordIn } from '../../platform/registry/record-lookup.js';
import { LINKABLE_OBJECTS } from '../../platform/registry/standard-objects.js';

/** The record kinds a task or a note can be attached to. */
export { LINKABLE_OBJECTS };
export type LinkableObject = (typeof LINKABLE_OBJECTS)[number];

/** A reference to a record of the tenant: `{object: 'contact', id}`. */
export const RecordRef = z
  .strictObject({ object: z.enum(LINKABLE_OBJECTS), id: z.uuid() })
  .meta({ id: 'RecordRef' });
export type RecordRefValue = z.infer<typeof RecordRef>;

/**
 * The record `ref` names in the tenant, or undefined when there is none (another tenant's id
 * included). Archived records are found, with `archived: true`.
 */
export async function findRecord(
  scope: TenantScope,
  ref: RecordRefValue,
): Promise<{ archived: boolean } | undefined> {
  return findRecordIn(scope, ref.object, ref.id);
}

/**
 * Checks that `ref` names an active (not archived) record of the tenant.
 * @throws AppError 422 `reference_not_found` at `path` (e.g. `body.link.id`) otherwise
 */
export async function assertLinkable(scope: TenantScope, ref: RecordRefValue, path: string): Promise<void> {
  const found = await findRecord(scope, ref);
  if (!found || found.archived) {
    throw new AppError(
      422,
      'reference_not_found',
      found ? `This ${ref.object} is archived; restore it first` : `No ${ref.object} has this id`,
      { path, errors: [{ path, code: 'reference_not_found', message: `No active ${ref.object} ${ref.id}` }] },
    );
  }
}
