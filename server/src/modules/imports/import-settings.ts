// What every row of an import is read and written with, for the run and for the preview's check.
import type { Services } from '../../platform/http/types.js';
import { listMembers } from '../organizations/organization.service.js';
import type { imports } from './import.schema.js';
import { type ImportTarget, isCustomObject } from './import-targets.js';
import type { RunSettings } from './import-writers.js';

type ImportRow = typeof imports.$inferSelect;

/** What every row of the run is written with: dedup, options, the tenant's members, custom kinds. */
export async function runSettings(
  services: Services,
  importId: string,
  row: ImportRow,
  targets: ImportTarget[],
): Promise<RunSettings> {
  const members = row.createdBy
    ? (await listMembers(services, { orgId: row.orgId, actor: { type: 'system', id: null } })).map((m) => ({
        id: m.user_id,
        name: m.name,
        email: m.email,
      }))
    : [];
  return {
    services,
    importId,
    importerId: row.createdBy,
    dedup: row.dedup,
    options: row.options,
    members,
    customKinds: new Map(
      targets.flatMap((t) => (t.key.startsWith('custom.') ? [[t.key.slice(7), t.kind] as const] : [])),
    ),
    headerOf: (target: string) => row.mapping.find((m) => m.target === target)?.header ?? null,
    pipelines: new Map(),
    ...(isCustomObject(row.object)
      ? {
          object: row.object,
          relations: new Map(
            targets.flatMap((t) =>
              t.key.startsWith('custom.') && t.reference && t.reference.object !== 'member'
                ? [[t.key, t.reference.object] as const]
                : [],
            ),
          ),
          matchField: row.options.match_field,
        }
      : {}),
  };
}
