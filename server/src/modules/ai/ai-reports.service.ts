import type { TenantContext } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { allows, visibleDef } from '../../platform/access/access-profile.js';
import type { AuditSource } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { OPS_BY_TYPE } from '../../platform/query/query.fields.js';
import { cachedObjectDef, customObjectDefs } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { type ReportResultView, ReportSpec, runReport } from '../reports/report-engine.js';
import { jsonOf, open, run } from './ai.service.js';
import type { ToolSpec } from './ai-provider.js';
import { ASK_REPORT_V1, EXPLAIN_REPORT_V1 } from './prompts/index.js';

/**
 * The assistant over reports (issue 32): a question about counts, sums or trends becomes a report
 * definition shown to the member before it runs, and the numbers of a report (or of a dashboard's
 * reports) are read in a few sentences that cite them. Both see only what the member may see: the
 * objects and fields described to the model are the member's readable ones, and a report is run
 * with the member's own rights (`runReport`) before any number is put in a prompt.
 */

const MEASURABLE = new Set(['number', 'currency']);
const FIELDS_PER_OBJECT = 40;

/** The objects the member may read, standard and custom, with the fields they may read. */
async function readableObjects(services: Services, ctx: TenantContext, only?: string): Promise<ObjectDef[]> {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      if (only) return [await cachedObjectDef(tx, ctx.orgId, only)];
      const standard = await Promise.all(
        Object.values(STANDARD_OBJECTS)
          .filter((d) => !d.activity)
          .map((d) => cachedObjectDef(tx, ctx.orgId, d.key)),
      );
      return [...standard, ...(await customObjectDefs(tx, ctx.orgId))];
    },
    { readOnly: true },
  ).then((defs) => defs.filter((d) => allows(ctx, d.key, 'read')).map((d) => visibleDef(ctx, d)));
}

/**
 * A plain-language question becomes a report definition (object, filter, up to two dimensions, one
 * measure), checked exactly as a member's own report is (unknown and hidden fields are refused
 * alike) and returned for the member to look at, edit and run; it is not run here.
 * @throws 404 unknown `object`; 422 `ai_no_report` (no definition in the answer), `ai_report_invalid`
 *   (a definition that does not check, with the path inside it); the gate's and the provider's errors
 */
export async function askReport(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: { question: string; object?: string | undefined },
) {
  const g = await open(services, ctx, source, { feature: 'ask', template: ASK_REPORT_V1 });
  const defs = await readableObjects(services, ctx, input.object).catch((error: unknown) => {
    if (error instanceof AppError && error.status < 500)
      throw new AppError(404, 'not_found', `No object ${input.object}`, { path: 'body.object' });
    throw error;
  });
  if (defs.length === 0)
    throw new AppError(404, 'not_found', `No object ${input.object ?? ''} the member may read`, {
      path: 'body.object',
    });
  const catalogue = defs.map((d) => ({
    object: d.key,
    label: d.labelPlural,
    fields: d.fields
      .filter((f) => f.filterable && !f.retired)
      .slice(0, FIELDS_PER_OBJECT)
      .map((f) => ({
        key: f.key,
        label: f.label,
        type: f.type,
        ops: OPS_BY_TYPE[f.type],
        ...(MEASURABLE.has(f.type) ? { measurable: true } : {}),
        ...(f.options ? { options: f.options.map((o) => o.value) } : {}),
      })),
  }));
  const tool: ToolSpec = {
    name: 'set_report',
    description: 'Set the report definition that answers the question',
    parameters: {
      type: 'object',
      properties: {
        object: { type: 'string', enum: defs.map((d) => d.key) },
        filter: { type: 'object', description: 'A filter tree of the query language' },
        group_by: {
          type: 'array',
          maxItems: 2,
          items: {
            type: 'object',
            properties: {
              field: { type: 'string' },
              bucket: { type: 'string', enum: ['day', 'week', 'month', 'quarter', 'year'] },
            },
            required: ['field'],
          },
        },
        measure: {
          type: 'object',
          properties: {
            op: { type: 'string', enum: ['count', 'sum', 'avg', 'min', 'max', 'distinct_count'] },
            field: { type: 'string' },
          },
          required: ['op'],
        },
        title: { type: 'string', description: 'A short title for the report' },
        note: { type: 'string', description: 'Anything the report could not express' },
      },
      required: ['object', 'measure'],
    },
  };
  const today = new Date().toISOString().slice(0, 10);
  const { answer, model } = await run(services, ctx, source, g, {
    feature: 'ask',
    template: ASK_REPORT_V1,
    tool,
    user: `Today is ${today}.\n<data>\n${JSON.stringify({ objects: catalogue })}\n</data>\nQuestion: ${input.question}`,
  });
  const args = (answer.toolArguments ?? jsonOf(answer.text)) as Record<string, unknown> | undefined;
  const { title, note, ...definition } = args ?? {};
  const parsed = ReportSpec.safeParse({ group_by: [], ...definition });
  if (!args || !parsed.success)
    throw new AppError(
      422,
      'ai_no_report',
      'The assistant did not answer with a report definition; try rephrasing the question',
    );
  // The check a member's own report gets at save: run for one group with the member's rights, so a
  // hidden or unknown field anywhere in it is refused with its path. Nothing of it is returned.
  try {
    await runReport(services, ctx, { ...parsed.data, limit: 1 }, { path: 'report' });
  } catch (error) {
    if (error instanceof AppError && error.status < 500)
      throw new AppError(
        422,
        'ai_report_invalid',
        `The assistant proposed a report that cannot be used: ${error.message}`,
        { path: error.path ?? 'report' },
      );
    throw error;
  }
  return {
    report: parsed.data,
    title:
      typeof title === 'string' && title.trim() ? title.trim().slice(0, 200) : input.question.slice(0, 200),
    note: typeof note === 'string' && note ? note.slice(0, 500) : null,
    model,
  };
}

type Figure = { label: string; value: number };

/** The numbers of a result as the model reads them: each group's labels and value, and the total. */
function figuresOf(title: string, result: ReportResultView) {
  return {
    title,
    measure: result.measure.label,
    dimensions: result.dimensions.map((d) => d.label),
    groups: result.cells.map((c) => ({
      label: c.other ? 'Other' : c.keys.map((k) => k.label).join(' / ') || 'All',
      value: c.value,
      count: c.count,
    })),
    total: { label: 'Total', value: result.total.value, count: result.total.count },
    ...(result.truncated ? { note: result.note } : {}),
  };
}

/**
 * Reads the numbers of up to 10 reports (a report, or a dashboard's widgets) in a few sentences.
 * Each report is run first with the member's rights; only its labels and numbers go in the prompt.
 * The figures the answer cites are kept only when they are numbers of those results (a model's
 * invented number is dropped, and counted in `uncited`).
 * @throws 400/403/404 as `runReport` for a definition the member may not run (path
 *   `body.reports[i].spec...`); the gate's and the provider's errors
 */
export async function explainReports(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: { reports: { title: string; spec: ReportSpec }[] },
) {
  const g = await open(services, ctx, source, { feature: 'explain', template: EXPLAIN_REPORT_V1 });
  const results = [];
  for (const [i, r] of input.reports.entries())
    results.push(
      figuresOf(r.title, await runReport(services, ctx, r.spec, { path: `body.reports[${i}].spec` })),
    );
  const { answer, model } = await run(services, ctx, source, g, {
    feature: 'explain',
    template: EXPLAIN_REPORT_V1,
    user: `<data>\n${JSON.stringify({ reports: results })}\n</data>`,
  });
  const json = jsonOf(answer.text);
  const known = new Set<number>();
  for (const r of results) {
    for (const c of r.groups) {
      if (c.value !== null) known.add(c.value);
      known.add(c.count);
    }
    if (r.total.value !== null) known.add(r.total.value);
    known.add(r.total.count);
  }
  const cited: Figure[] = (Array.isArray(json?.figures) ? json.figures : [])
    .filter(
      (f): f is Figure =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as Figure).label === 'string' &&
        typeof (f as Figure).value === 'number',
    )
    .slice(0, 50);
  const figures = cited
    .filter((f) => known.has(f.value))
    .map((f) => ({ label: f.label.slice(0, 200), value: f.value }));
  const explanation =
    json && typeof json.explanation === 'string' ? json.explanation : json ? '' : answer.text;
  return {
    explanation: explanation.slice(0, 4000),
    figures,
    uncited: cited.length - figures.length,
    model,
  };
}
