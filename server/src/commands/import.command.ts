import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TenantContext } from '../db/tenant.js';
import { ImportOptions } from '../modules/imports/import.dto.js';
import { DEDUP_MODES, type DedupMode } from '../modules/imports/import.schema.js';
import { createImport, getImport, startImport, updateImport } from '../modules/imports/import.service.js';
import { runImport } from '../modules/imports/import-runner.service.js';
import { IMPORT_OBJECTS, type ImportObject } from '../modules/imports/import-targets.js';
import { createServices } from '../runtime.js';

/** `--object contacts` or `contact`. */
const OBJECT_NAMES: Record<string, ImportObject> = {
  contact: 'contact',
  contacts: 'contact',
  company: 'company',
  companies: 'company',
  opportunity: 'opportunity',
  opportunities: 'opportunity',
  task: 'task',
  tasks: 'task',
  note: 'note',
  notes: 'note',
};

export type ImportCommandOptions = {
  org: string;
  object: string;
  mapping?: string;
  dedup?: string;
  as?: string;
};

/**
 * `cairn import --org ORG --object contacts FILE.csv [--mapping FILE] [--dedup MODE] [--as EMAIL]`:
 * imports a CSV file through the same service as the API, in this process, printing progress
 * after each batch and the summary at the end. ORG is an organization id or its exact name; the
 * import is made on behalf of `--as` (a member's e-mail) or the organization's first admin.
 * The mapping file is JSON: `{"columns": {"<header>": "<target>"|null}, "dedup": "...",
 * "options": {...}}`; without it the suggested mapping is used. Events the import records are
 * dispatched by the worker of a running server. Exit 0 when it completed (even with failed rows,
 * listed by `GET /api/v1/imports/<id>/errors.csv`), 1 when it stopped, 2 for bad arguments.
 */
export async function importCommand(file: string, options: ImportCommandOptions): Promise<number> {
  const object = OBJECT_NAMES[options.object.toLowerCase()];
  if (!object) {
    console.error(`cairn: --object: one of ${IMPORT_OBJECTS.join(', ')} (or their plurals)`);
    return 2;
  }
  if (options.dedup && !DEDUP_MODES.includes(options.dedup as DedupMode)) {
    console.error(`cairn: --dedup: one of ${DEDUP_MODES.join(', ')}`);
    return 2;
  }
  const size = await stat(file).catch(() => null);
  if (!size?.isFile()) {
    console.error(`cairn: no such file: ${file}`);
    return 2;
  }
  let mapping: { columns?: Record<string, string | null>; dedup?: DedupMode; options?: unknown } = {};
  if (options.mapping) {
    try {
      mapping = JSON.parse(await readFile(options.mapping, 'utf8'));
    } catch (error) {
      console.error(`cairn: --mapping: not a JSON file: ${(error as Error).message}`);
      return 2;
    }
  }
  const services = await createServices();
  try {
    await services.jobs.start({ worker: false });
    const { rows } = await services.database.raw.query<{ org_id: string; user_id: string; name: string }>(
      `select o.id as org_id, m.user_id, o.name from organizations o
         join members m on m.organization_id = o.id join users u on u.id = m.user_id
        where (o.id::text = $1 or o.name = $1) and ($2::text is null or lower(u.email) = lower($2))
        order by (m.role = 'admin') desc, m.created_at limit 2`,
      [options.org, options.as ?? null],
    );
    if (!rows[0]) {
      console.error(
        `cairn: no organization ${options.org}${options.as ? ` with the member ${options.as}` : ''}`,
      );
      return 2;
    }
    const ctx: TenantContext = { orgId: rows[0].org_id, actor: { type: 'user', id: rows[0].user_id } };
    const created = await createImport(services, ctx, {
      object,
      fileName: path.basename(file),
      stream: createReadStream(file),
      truncated: () => false,
    });
    const columns = new Map(
      Object.entries(mapping.columns ?? {}).map(([h, t]) => [h.trim().toLowerCase(), t]),
    );
    await updateImport(services, ctx, created.id, {
      mapping: created.mapping
        .filter((m) => columns.has(m.header.trim().toLowerCase()))
        .map((m) => ({ index: m.index, target: columns.get(m.header.trim().toLowerCase()) ?? null })),
      ...(options.dedup || mapping.dedup ? { dedup: (options.dedup ?? mapping.dedup) as DedupMode } : {}),
      ...(mapping.options ? { options: ImportOptions.parse(mapping.options) } : {}),
    });
    console.log(
      `Import ${created.id}: ${created.progress.total_rows} rows of ${path.basename(file)} into ${rows[0].name}`,
    );
    for (const m of (await getImport(services, ctx, created.id)).mapping)
      console.log(`  ${m.header} -> ${m.target ?? '(ignored)'}`);
    await startImport(services, ctx, created.id, { enqueue: false });
    const started = Date.now();
    const status = await runImport(services, ctx.orgId, created.id, {
      onBatch: (done) => {
        const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
        console.log(`  ${done}/${created.progress.total_rows} rows (${Math.round(rate)} rows/s)`);
      },
    });
    const done = await getImport(services, ctx, created.id);
    const p = done.progress;
    console.log(
      `${done.status}: ${p.created} created, ${p.updated} updated, ${p.skipped} skipped, ${p.failed} failed, ` +
        `${p.with_problems} with problems, in ${Math.round((Date.now() - started) / 100) / 10} s`,
    );
    if (p.failed || p.with_problems)
      console.log(`Error report: ${services.config.baseUrl}/api/v1/imports/${created.id}/errors.csv`);
    return status === 'completed' ? 0 : 1;
  } finally {
    await services.jobs.stop();
    await services.database.close();
  }
}
