import { sql } from 'drizzle-orm';
import type { TenantContext } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { Definition } from './workflow.definition.js';
import { loadWorkflow } from './workflow.service.js';
import { enrollIn } from './workflow-enrollment.service.js';
import { createRecordOf } from './workflow-records.js';
import { isInboundToken } from './workflow-secrets.js';
import { valueAt } from './workflow-templates.js';

/**
 * The `inbound_webhook` trigger (issue 24): a POST of a JSON object to a workflow's secret URL
 * starts a run. The record it runs on is found as HubSpot's webhook trigger finds it (the record
 * whose `match.field` equals the body's value at `match.key`; none: no run, as HubSpot enrolls
 * nothing), and with `create` it is created when none matches, as GoHighLevel's inbound webhook
 * feeds a create-contact step: `match.field` and `values` taken from the body, through the
 * object's own write path (its validation, its events, the workflow as actor). The body is the
 * run's trigger payload (`{{trigger.<path>}}` in templates; the run's `trigger.body`). The
 * trigger's `conditions` and the re-enrollment and rate rules apply as for any trigger.
 *
 * Limits: the body is at most `INBOUND_MAX_BYTES` (413 past it), every anonymous request counts
 * against the per-IP limit (`ANON_RATE_LIMIT_PER_MINUTE`), and each workflow takes at most
 * `WORKFLOW_INBOUND_PER_MINUTE` posts a minute in one process (429 with Retry-After).
 */
export const INBOUND_MAX_BYTES = 65_536;

const perMinute = () => Number(process.env.WORKFLOW_INBOUND_PER_MINUTE ?? 600);
const windows = new Map<string, { start: number; n: number }>();

/** @throws 429 `rate_limited` once the workflow took its posts of this minute */
function takeTurn(workflowId: string, now = Date.now()): void {
  if (windows.size > 10_000) windows.clear();
  const w = windows.get(workflowId);
  if (!w || now - w.start >= 60_000) {
    windows.set(workflowId, { start: now, n: 1 });
    return;
  }
  w.n += 1;
  if (w.n > perMinute())
    throw new AppError(429, 'rate_limited', `This workflow takes at most ${perMinute()} posts a minute`, {
      retryAfterS: Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)),
    });
}

export type InboundResult = {
  status: 'started' | 'skipped';
  reason: string | null;
  run_id: string | null;
  record_id: string | null;
  created: boolean;
};

const scalar = (value: unknown) =>
  typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;

/**
 * Handles one post to `/public/workflows/{org_id}/{id}/inbound/{token}`.
 * @throws 404 `not_found` (no such workflow, another organization's, or a wrong token: the same
 *   answer), 409 `not_active` (draft or paused), 400 `invalid_body` (not a JSON object), 422
 *   `missing_value` at `body.<path>` (no usable value at the match key), 422 as the object's write
 *   path for a record it cannot create, 429 `rate_limited`
 */
export async function receiveInbound(
  services: Services,
  params: { org_id: string; id: string; token: string },
  body: unknown,
): Promise<InboundResult> {
  if (!isInboundToken(services.config.secret, params.org_id, params.id, params.token))
    throw new AppError(404, 'not_found', 'No such workflow');
  takeTurn(params.id);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AppError(400, 'invalid_body', 'Send a JSON object', { path: 'body' });
  const payload = body as Record<string, unknown>;
  const ctx: TenantContext = { orgId: params.org_id, actor: { type: 'workflow', id: params.id } };
  return withTenant(services.database, ctx, async (scope) => {
    const { row, version } = await loadWorkflow(scope, params.id).catch(() => {
      throw new AppError(404, 'not_found', 'No such workflow');
    });
    const definition = version.definition as Definition;
    const trigger = definition.trigger;
    if (trigger.type !== 'inbound_webhook')
      throw new AppError(404, 'not_found', 'This workflow is not started by an inbound webhook');
    if (row.status !== 'active')
      throw new AppError(409, 'not_active', `The workflow is ${row.status}: activate it to take posts`);
    let value = scalar(valueAt(payload, trigger.match.key));
    if (!value)
      throw new AppError(
        422,
        'missing_value',
        `The body has no value at ${trigger.match.key} to find the record by`,
        { path: `body.${trigger.match.key}` },
      );
    const def = await objectDef(scope.tx, ctx.orgId, row.object);
    // E-mail addresses are kept in lower case: a posted `Ada@Example.com` finds ada@example.com.
    if (def.fields.find((f) => f.key === trigger.match.field)?.type === 'email') value = value.toLowerCase();
    const compiled = compileListQuery(
      def,
      { filter: { field: trigger.match.field, op: 'eq', value }, limit: 1 },
      { table: 'r' },
    );
    const found = (await scope.tx.execute(sql`select r.id from ${sql.identifier(def.table)} r
      where r.org_id = ${ctx.orgId} and r.archived_at is null and ${compiled.where}
      order by r.created_at, r.id limit 1`)) as unknown as { rows: { id: string }[] } | { id: string }[];
    let recordId = (Array.isArray(found) ? found : found.rows)[0]?.id ?? null;
    let created = false;
    if (!recordId) {
      if (!trigger.create)
        return { status: 'skipped', reason: 'no_record', run_id: null, record_id: null, created: false };
      const values: Record<string, unknown> = { [trigger.match.field]: value };
      for (const [field, path] of Object.entries(trigger.values ?? {})) {
        const v = valueAt(payload, path);
        if (v !== undefined && v !== null && typeof v !== 'object') values[field] = v;
      }
      recordId = await createRecordOf(scope, services, def, values);
      created = true;
    }
    const enrollment = await enrollIn(
      scope,
      services,
      { id: row.id, name: row.name, object: row.object, version: row.version, definition },
      def,
      recordId,
      { trigger: { type: 'inbound_webhook', body: payload }, depth: 0 },
    );
    return {
      status: enrollment.status,
      reason: enrollment.status === 'skipped' ? enrollment.reason : null,
      run_id: enrollment.run_id ?? null,
      record_id: recordId,
      created,
    };
  });
}
