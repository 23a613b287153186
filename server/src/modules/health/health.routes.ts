import { z } from 'zod';
import { migrationStatus } from '../../db/migrate.js';
import type { ApiApp, Services } from '../../platform/http/types.js';

const Health = z.object({ status: z.literal('ok') });
const Ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  database: z.enum(['ok', 'unreachable']),
  migrations: z.enum(['current', 'pending', 'unknown']),
});
const Version = z.object({
  version: z.string(),
  commit: z.string().nullable(),
  schema_version: z.string().nullable().describe('The newest migration this code knows'),
});

/** How long `/ready` waits for the database before answering 503 (a busy pool must not hang it). */
const READY_TIMEOUT_MS = 1_000;

/**
 * Process health, readiness (database reachable, migrations current) and the running version.
 * `/health` is liveness: it never touches the database, so it answers while slow requests hold
 * every pool connection. `/ready` asks the database, for at most READY_TIMEOUT_MS.
 */
export function registerHealthRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['ops'],
        summary: 'The process is up',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags: ['ops'],
        summary: 'The database is reachable and its migrations match this code (503 otherwise)',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      try {
        let timer: NodeJS.Timeout | undefined;
        const status = await Promise.race([
          migrationStatus(services.database),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('database did not answer in time')), READY_TIMEOUT_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        const migrations = status.current ? 'current' : status.pending.length > 0 ? 'pending' : 'unknown';
        return reply
          .code(status.current ? 200 : 503)
          .send({ status: status.current ? 'ready' : 'not_ready', database: 'ok', migrations });
      } catch {
        return reply.code(503).send({ status: 'not_ready', database: 'unreachable', migrations: 'unknown' });
      }
    },
  );

  app.get(
    '/version',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getVersion',
        tags: ['ops'],
        summary: 'The running version',
        response: { 200: Version },
      },
    },
    async () => ({
      version: services.version.version,
      commit: services.version.commit,
      schema_version: services.version.schemaVersion,
    }),
  );
}
