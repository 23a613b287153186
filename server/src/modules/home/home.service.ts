import { and, desc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { findRecordIn, recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { openDealsByStageIn } from '../opportunities/opportunity-summary.service.js';
import { myDueTasksIn } from '../tasks/task-list.service.js';
import { describeActivity, recentActivityIn } from '../timeline/timeline.service.js';
import { GETTING_STARTED_STEPS, type HomeView, VIEWED_OBJECTS } from './home.dto.js';
import { recentViews } from './home.schema.js';

/** How many recently viewed records are kept per member, and shown. */
const RECENT_VIEWS_KEPT = 50;
const RECENT_VIEWS_SHOWN = 10;
const ACTIVITY_SHOWN = 20;
const TASKS_SHOWN = 5;

type Viewed = (typeof VIEWED_OBJECTS)[number];

/**
 * Records that `userId` opened `object` record `id` now (the home page's "recently viewed"),
 * keeping their latest 50. @throws 404 for a record that is not the tenant's (or is archived)
 */
export async function recordRecentView(
  services: Services,
  ctx: TenantContext,
  userId: string,
  input: { object: Viewed; id: string },
): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const found = await findRecordIn(scope, input.object, input.id);
    if (!found || found.archived) throw notFound(STANDARD_OBJECTS[input.object]!.labelSingular, input.id);
    await scope.tx
      .insert(recentViews)
      .values({ orgId: ctx.orgId, userId, object: input.object, recordId: input.id })
      .onConflictDoUpdate({
        target: [recentViews.orgId, recentViews.userId, recentViews.object, recentViews.recordId],
        set: { viewedAt: sql`clock_timestamp()` },
      });
    await scope.conn.query(
      `delete from recent_views where org_id = $1 and user_id = $2 and (object, record_id) in (
         select object, record_id from recent_views where org_id = $1 and user_id = $2
          order by viewed_at desc offset ${RECENT_VIEWS_KEPT})`,
      [ctx.orgId, userId],
    );
  });
}

/** The member's latest viewed records that still exist and are not archived, with their names. */
async function recentViewsIn(scope: TenantScope, userId: string): Promise<HomeView['recent']> {
  const rows = await scope.tx
    .select()
    .from(recentViews)
    .where(and(eq(recentViews.orgId, scope.ctx.orgId), eq(recentViews.userId, userId)))
    .orderBy(desc(recentViews.viewedAt))
    .limit(RECENT_VIEWS_SHOWN * 2);
  const titles = new Map<string, Map<string, string>>();
  for (const object of VIEWED_OBJECTS) {
    const ids = rows.filter((r) => r.object === object).map((r) => r.recordId);
    titles.set(object, await recordTitlesIn(scope, object, ids, { active: true }));
  }
  return rows
    .flatMap((r) => {
      const title = titles.get(r.object)?.get(r.recordId);
      return title === undefined
        ? []
        : [{ object: r.object as Viewed, id: r.recordId, title: title || 'Unnamed', viewed_at: r.viewedAt }];
    })
    .slice(0, RECENT_VIEWS_SHOWN);
}

/**
 * The getting-started steps of an organization, each done or not, sample records left out: contacts
 * imported or added, a pipeline of its own beside the default one, a teammate invited or joined.
 * Read through the registry's tables and the memberships, in one statement.
 */
async function gettingStartedIn(scope: TenantScope): Promise<HomeView['getting_started']> {
  const contacts = STANDARD_OBJECTS.contact!.table;
  const { rows } = await scope.conn.query<{
    import_contacts: boolean;
    create_pipeline: boolean;
    invite_teammate: boolean;
    sample_records: number;
  }>(
    `select exists(select 1 from imports where org_id = $1)
            or exists(select 1 from ${contacts} c where c.org_id = $1 and not exists (
                 select 1 from sample_records s where s.org_id = $1 and s.object = 'contact' and s.record_id = c.id))
              as import_contacts,
            exists(select 1 from pipelines p where p.org_id = $1 and not p.is_default and not exists (
                 select 1 from sample_records s where s.org_id = $1 and s.object = 'pipeline' and s.record_id = p.id))
              as create_pipeline,
            (select count(*) from members where organization_id = $1) > 1
              or exists(select 1 from invitations where organization_id = $1) as invite_teammate,
            (select count(*)::int from sample_records where org_id = $1) as sample_records`,
    [scope.ctx.orgId],
  );
  const row = rows[0]!;
  return {
    steps: GETTING_STARTED_STEPS.map((key) => ({ key, done: Boolean(row[key]) })),
    sample_data: { loaded: row.sample_records > 0, records: row.sample_records },
  };
}

/**
 * Everything the home page shows, in one read-only tenant transaction: my tasks overdue and due
 * today (in `tz`, a checked IANA zone), my open deals by stage, the organization's latest
 * activity, the records I opened lately and the getting-started steps.
 */
export async function homeOf(
  services: Services,
  ctx: TenantContext,
  userId: string,
  tz: string,
): Promise<HomeView> {
  const read = await withTenant(
    services.database,
    ctx,
    async (scope) => ({
      tasks: await myDueTasksIn(scope, userId, tz, TASKS_SHOWN),
      pipelines: await openDealsByStageIn(scope, userId),
      activity: await recentActivityIn(scope, ACTIVITY_SHOWN),
      recent: await recentViewsIn(scope, userId),
      gettingStarted: await gettingStartedIn(scope),
    }),
    { readOnly: true },
  );
  return {
    tz,
    tasks: read.tasks,
    deals: { count: read.pipelines.reduce((n, p) => n + p.count, 0), pipelines: read.pipelines },
    activity: await describeActivity(services, read.activity),
    recent: read.recent,
    getting_started: read.gettingStarted,
  };
}
