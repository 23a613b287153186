import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Auth } from '../auth/auth.js';
import type { EventDispatcher } from '../events/dispatcher.js';
import type { Guard } from '../guard/guard.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Mailer } from '../mail/mailer.js';
import type { VersionInfo } from './version.js';

/** The Fastify instance routes register on, typed by zod schemas. */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What the process assembled once at start-up, handed to every module. */
export type Services = {
  config: Config;
  database: Database;
  auth: Auth;
  jobs: JobQueue;
  events: EventDispatcher;
  version: VersionInfo;
  /** System e-mail: SMTP, or the local outbox. */
  mailer: Mailer;
  /** The guard's counters and budgets (issue 22). */
  guard: Guard;
};
