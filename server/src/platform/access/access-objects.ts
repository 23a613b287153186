import type { Database, Tx } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../errors/app-error.js';
import { customObjectDefs, objectDef } from '../registry/registry.service.js';
import type { ObjectDef } from '../registry/registry.types.js';
import { STANDARD_OBJECTS } from '../registry/standard-objects.js';

/** Every object of the tenant's registry, standard ones first, custom ones (retired too) after. */
export async function registryObjects(tx: Tx, orgId: string): Promise<ObjectDef[]> {
  const defs: ObjectDef[] = [];
  for (const key of Object.keys(STANDARD_OBJECTS)) defs.push(await objectDef(tx, orgId, key));
  defs.push(...(await customObjectDefs(tx, orgId)));
  return defs;
}

/** @throws AppError 422 `unknown_object` naming `<path>.<key>` for a key no object of the tenant has */
export async function assertKnownObjects(
  database: Database,
  ctx: TenantContext,
  keys: string[],
  path: string,
): Promise<void> {
  if (keys.length === 0) return;
  const known = await withTenant(
    database,
    ctx,
    async ({ tx }) => new Set((await registryObjects(tx, ctx.orgId)).map((d) => d.key)),
    { readOnly: true },
  );
  for (const key of keys) {
    if (!known.has(key))
      throw new AppError(422, 'unknown_object', `No object has the key "${key}"`, { path: `${path}.${key}` });
  }
}
