import type { TenantScope } from '../../db/tenant.js';

/** A sum of amounts in one currency (decimal strings, 2 places); `currency` null for deals without one. */
export type CurrencyTotal = { currency: string | null; amount: string; weighted: string };
export type StageSummary = {
  id: string;
  name: string;
  probability: number;
  count: number;
  totals: CurrencyTotal[];
};
export type PipelineSummary = {
  id: string;
  name: string;
  count: number;
  totals: CurrencyTotal[];
  stages: StageSummary[];
};

type Row = {
  pipeline_id: string;
  pipeline_name: string;
  stage_id: string;
  stage_name: string;
  probability: number;
  currency: string | null;
  count: number;
  amount: string;
  weighted: string;
};

const cents = (decimal: string) => BigInt(decimal.replace('.', ''));
const decimal = (c: bigint) => {
  const negative = c < 0n;
  const digits = (negative ? -c : c).toString().padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
};

/** Adds `row`'s sums into `totals`, per currency (never across currencies). */
function addTotals(totals: CurrencyTotal[], row: Pick<Row, 'currency' | 'amount' | 'weighted'>) {
  const found = totals.find((t) => t.currency === row.currency);
  if (!found) totals.push({ currency: row.currency, amount: row.amount, weighted: row.weighted });
  else {
    found.amount = decimal(cents(found.amount) + cents(row.amount));
    found.weighted = decimal(cents(found.weighted) + cents(row.weighted));
  }
}

/**
 * The open deals (not archived) `ownerId` owns, by pipeline and stage in the board's order, with
 * their count and sums per currency (the amount, and weighted by the stage's win probability),
 * in one grouped query in the caller's tenant scope: the home page's "my open deals". Stages
 * holding none of them are left out.
 */
export async function openDealsByStageIn(scope: TenantScope, ownerId: string): Promise<PipelineSummary[]> {
  const { rows } = await scope.conn.query<Row>(
    `select o.pipeline_id, p.name as pipeline_name, o.stage_id, s.name as stage_name, s.probability,
            o.currency, count(*)::int as count,
            to_char(coalesce(sum(o.amount), 0), 'FM999999999999999990.00') as amount,
            to_char(round(coalesce(sum(o.amount), 0) * s.probability / 100, 2), 'FM999999999999999990.00') as weighted
       from opportunities o
       join pipeline_stages s on s.org_id = o.org_id and s.id = o.stage_id
       join pipelines p on p.org_id = o.org_id and p.id = o.pipeline_id
      where o.org_id = $1 and o.owner_id = $2 and o.status = 'open' and o.archived_at is null
      group by o.pipeline_id, p.name, p.position, o.stage_id, s.name, s.position, s.probability, o.currency
      order by p.position, p.name, s.position, o.currency nulls last`,
    [scope.ctx.orgId, ownerId],
  );
  const pipelines: PipelineSummary[] = [];
  for (const row of rows) {
    let pipeline = pipelines.find((p) => p.id === row.pipeline_id);
    if (!pipeline) {
      pipeline = { id: row.pipeline_id, name: row.pipeline_name, count: 0, totals: [], stages: [] };
      pipelines.push(pipeline);
    }
    let stage = pipeline.stages.find((s) => s.id === row.stage_id);
    if (!stage) {
      stage = { id: row.stage_id, name: row.stage_name, probability: row.probability, count: 0, totals: [] };
      pipeline.stages.push(stage);
    }
    stage.count += row.count;
    pipeline.count += row.count;
    addTotals(stage.totals, row);
    addTotals(pipeline.totals, row);
  }
  return pipelines;
}
