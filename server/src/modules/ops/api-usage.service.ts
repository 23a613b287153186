import type { FastifyInstance } from 'fastify';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';

/** How often the counted requests are added to `api_usage_hours`, milliseconds. */
export const USAGE_FLUSH_MS = 15_000;

type Key = string; // org|hour|type|id
type Tally = { requests: number; errors: number };

/**
 * API usage per API key and member (issue 30), counted cheaply: each answered `/api/v1` request
 * with a principal adds one to an in-memory tally keyed by organization, UTC hour and principal;
 * every `USAGE_FLUSH_MS` (and when the app closes) the tallies are added to `api_usage_hours`,
 * one upsert per organization. A process that dies loses at most that many seconds of counts.
 */
export function installApiUsage(app: FastifyInstance, services: Services) {
  const tallies = new Map<Key, Tally>();
  app.addHook('onResponse', async (req, reply) => {
    const p = req.principal;
    if (!p?.orgId || !req.url.startsWith('/api/v1/')) return;
    const hour = new Date();
    hour.setUTCMinutes(0, 0, 0);
    const key = [p.orgId, hour.toISOString(), p.type, p.type === 'api_key' ? p.apiKeyId : p.userId].join('|');
    const t = tallies.get(key) ?? { requests: 0, errors: 0 };
    t.requests += 1;
    if (reply.statusCode >= 400) t.errors += 1;
    tallies.set(key, t);
  });
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(() => flushTallies(services, tallies)).catch(() => undefined);
    return flushing;
  };
  const timer = setInterval(flush, USAGE_FLUSH_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await flush();
  });
  app.decorate('flushApiUsage', flush);
}

async function flushTallies(services: Services, tallies: Map<Key, Tally>): Promise<void> {
  if (tallies.size === 0) return;
  const batch = [...tallies];
  tallies.clear();
  const byOrg = new Map<string, [string[], Tally][]>();
  for (const [key, tally] of batch) {
    const parts = key.split('|');
    const list = byOrg.get(parts[0]!) ?? [];
    list.push([parts, tally]);
    byOrg.set(parts[0]!, list);
  }
  for (const [orgId, rows] of byOrg) {
    const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
    const values: unknown[] = [orgId];
    const tuples = rows.map(([[, hour, type, id], t]) => {
      values.push(hour, type, id, t.requests, t.errors);
      const n = values.length;
      return `($1, $${n - 4}::timestamptz, $${n - 3}, $${n - 2}, $${n - 1}::int, $${n}::int)`;
    });
    try {
      await withTenant(services.database, ctx, ({ conn }) =>
        conn.query(
          `insert into api_usage_hours as u (org_id, hour, principal_type, principal_id, requests, errors)
           values ${tuples.join(', ')}
           on conflict (org_id, hour, principal_type, principal_id) do update
             set requests = u.requests + excluded.requests, errors = u.errors + excluded.errors`,
          values,
        ),
      );
    } catch {
      // An organization deleted meanwhile: its counts go with it.
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds the API requests counted so far to `api_usage_hours` now (tests; the app's close). */
    flushApiUsage?: () => Promise<void>;
  }
}
