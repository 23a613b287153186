import type { TenantScope } from '../../db/tenant.js';
import type { EventConsumer } from '../../platform/events/dispatcher.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { endEnrollmentsIn } from './enrollment.service.js';

/**
 * The exit rules of sequences (issue 25), driven by the event dispatcher: a message from the
 * contact on any channel (an e-mail reply in the thread, an SMS) ends its enrollments as
 * `replied` (and those of everyone at its company, in sequences that ask for it); a bounce that
 * suppressed the address or a hard one as `bounced`; a spam complaint or an unsubscribe a provider reported as `unsubscribed`; a
 * meeting booked (a meeting logged on the contact) as `meeting_booked`; its opportunity closed,
 * won or lost, as `opportunity_closed`.
 */
export function sequenceConsumer(services: Services): EventConsumer {
  return {
    name: 'sequences',
    types: [
      'message.received',
      'message.bounced',
      'message.complained',
      'message.unsubscribed',
      'note.created',
      'opportunity.closed',
    ],
    async activeIn(scope) {
      const { rows } = await scope.conn.query(
        `select 1 from sequence_enrollments where org_id = $1 and status in ('active', 'paused') limit 1`,
        [scope.ctx.orgId],
      );
      return rows.length > 0;
    },
    async handle(events, scope) {
      for (const event of events) await exitFor(services, scope, event);
    },
  };
}

async function exitFor(services: Services, scope: TenantScope, event: EventEnvelope): Promise<void> {
  const data = event.data;
  const contact = event.subject.object === 'contact' ? event.subject.id : null;
  switch (event.type) {
    case 'message.received': {
      if (!contact) return;
      await endEnrollmentsIn(scope, services, { contactIds: [contact] }, 'replied');
      // "Stop when anyone at the same company replies", in the sequences that ask for it.
      const { rows } = await scope.conn.query<{ id: string }>(
        `select e.id from sequence_enrollments e
           join sequences s on s.org_id = e.org_id and s.id = e.sequence_id
           join contact_companies mine on mine.org_id = e.org_id and mine.contact_id = $2
           join contact_companies theirs on theirs.org_id = e.org_id and theirs.company_id = mine.company_id
                                          and theirs.contact_id = e.contact_id
          where e.org_id = $1 and e.status in ('active', 'paused')
            and (s.settings->>'stop_on_company_reply')::boolean`,
        [scope.ctx.orgId, contact],
      );
      if (rows.length)
        await endEnrollmentsIn(scope, services, { ids: rows.map((r) => r.id) }, 'company_replied');
      return;
    }
    case 'message.bounced':
      if (contact && (data.kind === 'hard' || data.suppressed))
        await endEnrollmentsIn(scope, services, { contactIds: [contact] }, 'bounced');
      return;
    case 'message.complained':
    case 'message.unsubscribed':
      if (contact) await endEnrollmentsIn(scope, services, { contactIds: [contact] }, 'unsubscribed');
      return;
    case 'note.created':
      if (contact && data.kind === 'meeting')
        await endEnrollmentsIn(scope, services, { contactIds: [contact] }, 'meeting_booked');
      return;
    case 'opportunity.closed': {
      if (event.subject.object !== 'opportunity') return;
      const { rows } = await scope.conn.query<{ contact_id: string | null }>(
        'select contact_id from opportunities where org_id = $1 and id = $2',
        [scope.ctx.orgId, event.subject.id],
      );
      const id = rows[0]?.contact_id;
      if (id) await endEnrollmentsIn(scope, services, { contactIds: [id] }, 'opportunity_closed');
      return;
    }
  }
}
