import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { sequenceIn, stepsOf } from './sequence.service.js';

/**
 * A sequence's numbers (issue 25): enrollments by status and exit reason; per step and per A/B
 * variant the messages sent (the sending layer says `sent`) and delivered (a provider's delivery
 * event says so), tasks created, and the replies,
 * bounces and unsubscribes that ended an enrollment after that step's message. Opens and clicks
 * are not tracked (privacy by default).
 */
export async function sequenceAnalytics(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      await sequenceIn(scope, id);
      const steps = await stepsOf(scope, id);
      const { rows: status } = await scope.conn.query<{ status: string; reason: string | null; n: number }>(
        `select status, exit_reason as reason, count(*)::int as n from sequence_enrollments
          where org_id = $1 and sequence_id = $2 group by 1, 2`,
        [ctx.orgId, id],
      );
      const { rows: runs } = await scope.conn.query<{
        step_id: string;
        variant: number;
        sent: number;
        delivered: number;
        contacts: number;
        tasks: number;
        replied: number;
        bounced: number;
        unsubscribed: number;
      }>(
        `select r.step_id, r.variant,
                count(*) filter (where m.status = 'sent')::int as sent,
                count(*) filter (where m.status = 'sent' and m.delivery_status = 'delivered')::int as delivered,
                count(distinct r.enrollment_id) filter (where m.status = 'sent')::int as contacts,
                count(*) filter (where r.task_id is not null)::int as tasks,
                count(*) filter (where r.outcome in ('replied', 'company_replied'))::int as replied,
                count(*) filter (where r.outcome = 'bounced')::int as bounced,
                count(*) filter (where r.outcome = 'unsubscribed')::int as unsubscribed
           from sequence_step_runs r left join messages m on m.org_id = r.org_id and m.id = r.message_id
          where r.org_id = $1 and r.sequence_id = $2 group by 1, 2`,
        [ctx.orgId, id],
      );
      const sum = (key: 'sent' | 'delivered' | 'tasks' | 'replied' | 'bounced' | 'unsubscribed', of = runs) =>
        of.reduce((n, r) => n + r[key], 0);
      const count = (s: string) => status.filter((r) => r.status === s).reduce((n, r) => n + r.n, 0);
      const reasons: Record<string, number> = {};
      for (const r of status) if (r.reason) reasons[r.reason] = (reasons[r.reason] ?? 0) + r.n;
      const { rows: reached } = await scope.conn.query<{ n: number }>(
        `select count(distinct r.enrollment_id)::int as n from sequence_step_runs r
           join messages m on m.org_id = r.org_id and m.id = r.message_id
          where r.org_id = $1 and r.sequence_id = $2 and m.status = 'sent'`,
        [ctx.orgId, id],
      );
      const rate = (replied: number, sent: number) =>
        sent > 0 ? Math.round((replied / sent) * 1000) / 1000 : 0;
      const replied = (reasons.replied ?? 0) + (reasons.company_replied ?? 0);
      return {
        enrolled: status.reduce((n, r) => n + r.n, 0),
        active: count('active') + count('paused'),
        finished: count('finished'),
        exited: count('exited'),
        sent: sum('sent'),
        delivered: sum('delivered'),
        replied,
        bounced: reasons.bounced ?? 0,
        unsubscribed: reasons.unsubscribed ?? 0,
        tasks: sum('tasks'),
        reply_rate: rate(replied, reached[0]!.n),
        exit_reasons: reasons,
        steps: steps.map((step) => {
          const mine = runs.filter((r) => r.step_id === step.id);
          return {
            step_id: step.id,
            position: step.position,
            type: step.type,
            sent: sum('sent', mine),
            delivered: sum('delivered', mine),
            replied: sum('replied', mine),
            bounced: sum('bounced', mine),
            unsubscribed: sum('unsubscribed', mine),
            tasks: sum('tasks', mine),
            variants:
              step.type === 'EMAIL'
                ? mine.map((r) => ({
                    variant: String.fromCharCode(65 + r.variant),
                    sent: r.sent,
                    delivered: r.delivered,
                    replied: r.replied,
                    bounced: r.bounced,
                    unsubscribed: r.unsubscribed,
                    reply_rate: rate(r.replied, r.contacts),
                  }))
                : [],
          };
        }),
      };
    },
    { readOnly: true },
  );
}
