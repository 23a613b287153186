import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import { cursorOf, idOfCursor } from '../../platform/query/id-cursor.js';
import { e164, isEmail } from './channel.service.js';

/**
 * The organization's suppression list (issues 23 and 25): e-mail addresses, whole domains and
 * numbers never sent to, each with why (`unsubscribed`, `sms_stop`, `bounced`, `complaint`,
 * `manual`) and from where. `suppressionOf` (send.service.ts) checks it before every send.
 */
export type SuppressionView = {
  id: string;
  channel_kind: string;
  address: string;
  reason: string;
  source: string | null;
  created_at: string;
};

/** Adds an address in the caller's transaction; one already there is kept as it is. */
export async function suppressIn(
  scope: TenantScope,
  kind: 'email' | 'sms' | 'domain',
  address: string,
  reason: string,
  source: string | null,
): Promise<void> {
  await scope.conn.query(
    `insert into message_suppressions (org_id, channel_kind, address, reason, source)
     values ($1, $2, $3, $4, $5) on conflict (org_id, channel_kind, address) do nothing`,
    [scope.ctx.orgId, kind, address, reason, source],
  );
}

/** A new entry of the suppression list. */
export const SuppressionCreate = z.strictObject({
  channel_kind: z.enum(['email', 'sms', 'domain']),
  address: z.string().min(1).max(320).describe('An e-mail, a number in E.164, or a domain'),
  reason: z.enum(['manual', 'unsubscribed', 'bounced', 'complaint', 'sms_stop']).optional(),
  source: z.string().max(200).optional(),
});

const view = (r: Record<string, unknown>): SuppressionView => ({
  id: r.id as string,
  channel_kind: r.channel_kind as string,
  address: r.address as string,
  reason: r.reason as string,
  source: (r.source as string | null) ?? null,
  created_at: new Date(r.created_at as string).toISOString(),
});

export async function listSuppressions(
  services: Parameters<typeof withTenant>[0],
  ctx: TenantContext,
  q: { q?: string | undefined; cursor?: string | undefined; limit?: number | undefined },
) {
  return withTenant(
    services,
    ctx,
    async (scope) => {
      const limit = q.limit ?? 50;
      const { rows } = await scope.conn.query(
        `select * from message_suppressions where org_id = $1
           and ($2::text is null or strpos(address, lower($2)) > 0) and ($3::uuid is null or id < $3)
         order by id desc limit $4`,
        [ctx.orgId, q.q ?? null, q.cursor === undefined ? null : idOfCursor(q.cursor), limit + 1],
      );
      const page = rows.slice(0, limit).map(view);
      return { data: page, next_cursor: rows.length > limit ? cursorOf(page.at(-1)!.id) : null };
    },
    { readOnly: true },
  );
}

/** Normalizes the address for its kind. @throws 400 at `body.address` */
function normalized(kind: string, address: string): string {
  const a = address.trim();
  if (kind === 'sms') {
    const n = e164(a);
    if (!n) throw badRequest('Not a phone number in E.164 (+14155550100)', 'body.address');
    return n;
  }
  if (kind === 'domain') {
    const d = a.toLowerCase().replace(/^@/, '');
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d))
      throw badRequest('Not a domain (example.com)', 'body.address');
    return d;
  }
  if (!isEmail(a.toLowerCase())) throw badRequest('Not an e-mail address', 'body.address');
  return a.toLowerCase();
}

/** @throws 409 `conflict` when the address is on the list already */
export async function createSuppression(
  services: Parameters<typeof withTenant>[0],
  ctx: TenantContext,
  input: z.infer<typeof SuppressionCreate>,
) {
  return withTenant(services, ctx, async (scope) => {
    const address = normalized(input.channel_kind, input.address);
    const { rows } = await scope.conn.query(
      `insert into message_suppressions (org_id, channel_kind, address, reason, source)
       values ($1, $2, $3, $4, $5) on conflict (org_id, channel_kind, address) do nothing returning *`,
      [
        ctx.orgId,
        input.channel_kind,
        address,
        input.reason ?? 'manual',
        input.source ?? `user:${ctx.actor.id}`,
      ],
    );
    if (!rows[0]) throw conflict(`${address} is on the suppression list already`, 'body.address');
    return view(rows[0]);
  });
}

export async function deleteSuppression(
  services: Parameters<typeof withTenant>[0],
  ctx: TenantContext,
  id: string,
): Promise<void> {
  await withTenant(services, ctx, async (scope) => {
    const { rows } = await scope.conn.query(
      'delete from message_suppressions where org_id = $1 and id = $2 returning id',
      [ctx.orgId, id],
    );
    if (!rows[0]) throw notFound('Suppression', id);
  });
}
