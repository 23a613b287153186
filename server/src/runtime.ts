import cluster from 'node:cluster';
import v8 from 'node:v8';
import pino from 'pino';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { type Database, openDatabase } from './db/client.js';
import { migrate } from './db/migrate.js';
import { defineBroadcastJobs } from './modules/broadcasts/broadcast.routes.js';
import { closeSmtpPools } from './modules/conversations/channel.service.js';
import { defineChannelJobs } from './modules/conversations/email-sync.service.js';
import { defineSendJobs, scheduleSendSweep } from './modules/conversations/send-batch.service.js';
import { defineRetentionJobs } from './modules/gdpr/retention.service.js';
import { defineImportQueue } from './modules/imports/import.routes.js';
import { defineDuplicateJobs } from './modules/merges/duplicate-scan.service.js';
import { defineMetaCapiJobs } from './modules/meta/meta-capi.service.js';
import { defineMetaLeadJobs } from './modules/meta/meta-lead.service.js';
import { defineMetaTokenJobs } from './modules/meta/meta-token-check.service.js';
import { defineGhlMigrationJobs } from './modules/migrations/gohighlevel.jobs.js';
import { defineNotificationJobs } from './modules/notifications/notification.routes.js';
import { defineOrganizationDeletionJobs } from './modules/organizations/organization-deletion.service.js';
import { defineQuoteJobs } from './modules/quotes/quote-send.service.js';
import { defineReportScheduleJobs } from './modules/reports/report-schedule.service.js';
import { defineSequenceJobs } from './modules/sequences/sequence.routes.js';
import { defineTaskJobs } from './modules/tasks/task.routes.js';
import { defineWebhookJobs } from './modules/webhooks/webhook-delivery.service.js';
import { defineWorkflowJobs } from './modules/workflows/workflow.routes.js';
import { type AuthOptions, createAuth } from './platform/auth/auth.js';
import {
  defineBackupJobs,
  scheduleNextBackup,
  takeBackupsOnSignal,
} from './platform/backup/backup-schedule.js';
import { createEventDispatcher } from './platform/events/dispatcher.js';
import { Guard } from './platform/guard/guard.js';
import { postgresGuardStore, redisGuardStore } from './platform/guard/guard-store.js';
import type { Services } from './platform/http/types.js';
import { readVersionInfo } from './platform/http/version.js';
import { createJobQueue, type JobQueue } from './platform/jobs/job-queue.js';
import { createMailer } from './platform/mail/mailer.js';
import { jobsPausedFor } from './platform/plans/org-gate.js';

export type ServicesOptions = {
  config?: Config;
  /** An already open database (tests); otherwise opened from the configuration. */
  database?: Database;
  logger?: pino.Logger;
  onInvitation?: AuthOptions['onInvitation'];
  /** The job queue's driver; default pg-boss (tests may run theirs with the sync driver). */
  jobQueue?: (database: Database, config: Config) => JobQueue;
};

/**
 * Opens the database, applies pending migrations and assembles the services every process
 * needs. The caller starts the job queue (`services.jobs.start`) as its role requires.
 */
export async function createServices(
  options: ServicesOptions = {},
): Promise<Services & { logger: pino.Logger }> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? pino({ level: config.logLevel });
  const database =
    options.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      jobStatementTimeoutMs: config.jobStatementTimeoutMs,
      connectTimeoutMs: config.statementTimeoutMs,
    }));
  const applied = await migrate(database);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const jobs =
    options.jobQueue?.(database, config) ??
    createJobQueue(database, logger, config.queueSchema, config.queueSuperviseS);
  // A suspended organization's jobs wait until it is restored (issue 30).
  jobs.gate((orgId) => jobsPausedFor(database, orgId));
  const events = createEventDispatcher(database, jobs);
  const mailer = createMailer(config, database, logger, jobs);
  const auth = createAuth(config, database, {
    mailer,
    onInvitation:
      options.onInvitation ??
      ((invitation) =>
        logger.info({ invitation_id: invitation.id, link: invitation.link }, 'invitation link')),
  });
  // The guard's shared counters: Redis when configured (several servers), else PostgreSQL.
  const guard = new Guard(
    database,
    config.redisUrl ? redisGuardStore(config.redisUrl) : postgresGuardStore(database),
    logger,
    config.guardFlushMs,
  );
  const services = {
    config,
    database,
    auth,
    jobs,
    events,
    mailer,
    guard,
    version: readVersionInfo(),
    logger,
  };
  // Modules define their job queues before any process starts the queue.
  defineTaskJobs(services);
  defineImportQueue(services);
  defineDuplicateJobs(services);
  defineNotificationJobs(services);
  defineBackupJobs(services, logger);
  defineOrganizationDeletionJobs(services, logger);
  defineWebhookJobs(services);
  defineMetaLeadJobs(services);
  defineMetaCapiJobs(services);
  defineMetaTokenJobs(services);
  defineRetentionJobs(services);
  defineQuoteJobs(services);
  defineReportScheduleJobs(services);
  defineWorkflowJobs(services);
  defineChannelJobs(services);
  defineSendJobs(services);
  defineSequenceJobs(services);
  defineBroadcastJobs(services);
  defineGhlMigrationJobs(services);
  return services;
}

/**
 * How far V8 lets the old generation grow past what the last full collection kept, in percent,
 * before the next one. By default it lets it grow up to fourfold while the process is busy: a
 * server keeping about 175 MB after start-up then reached 830 MB on a 100,000-row import, whose
 * batches outlive a few young-generation collections, are moved to the old one and die there
 * (bench/import.bench.ts; garbage, not data held). 50 % keeps it under 500 MB for a few more full
 * collections. A `--heap-growing-percent` given to node (NODE_OPTIONS) wins.
 */
export const HEAP_GROWING_PERCENT = 50;

function boundHeapGrowth(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
    /--heap[-_]growing[-_]percent/.test(a),
  );
  if (!given) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Runs a long-lived process: `http` serves the API and web app, `worker` consumes jobs.
 * SIGTERM/SIGINT stop it gracefully: stop accepting requests, finish in-flight requests and
 * jobs (or release them to another worker), close the database.
 */
export async function runProcess(roles: {
  http: boolean;
  worker: boolean;
  demo?: boolean;
}): Promise<number | undefined> {
  boundHeapGrowth();
  const services = await createServices();
  const { config, logger } = services;
  await services.jobs.start({ worker: roles.worker });
  if (roles.worker) {
    await scheduleNextBackup(services);
    await scheduleSendSweep(services);
  }
  if (roles.demo) await ensureDemo(services);
  const stopBackupSignal =
    services.database.kind === 'embedded' ? takeBackupsOnSignal(services, logger) : () => {};
  const built = roles.http ? await buildApp(services) : undefined;
  if (built) {
    await built.app.listen({ port: config.port, host: config.host });
    logger.info(
      { url: config.baseUrl, database: services.database.kind, worker: roles.worker },
      `Cairn is running at ${config.baseUrl} (API docs: ${config.baseUrl}/api/docs)`,
    );
  } else {
    logger.info({ database: services.database.kind }, 'Cairn worker is running');
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  stopBackupSignal();
  await built?.app.close();
  await services.jobs.stop();
  closeSmtpPools();
  await services.database.close();
  logger.info('stopped');
  return 0;
}

/**
 * `cairn serve --workers N`: N HTTP processes (node:cluster) sharing the port, so the API uses
 * every core. They share what must be shared through the PostgreSQL server (sessions, sign-in
 * limits, jobs) and, with REDIS_URL, the API rate limit (without it each process counts its own).
 * A process that dies is replaced; SIGTERM/SIGINT stop them all gracefully.
 * @throws ConfigError without DATABASE_URL (the embedded database belongs to one process)
 */
export async function runCluster(workers: number): Promise<number> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new ConfigError(
      '--workers',
      'more than one worker needs DATABASE_URL (the embedded database is one process)',
    );
  }
  const logger = pino({ level: config.logLevel });
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'an HTTP worker exited; starting another');
    setTimeout(fork, 1000);
  });
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, `Cairn serves with ${workers} HTTP processes`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down the workers');
      stopping = true;
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
  await Promise.all(
    alive.map(
      (w) =>
        new Promise<void>((resolve) => {
          w!.once('exit', () => resolve());
          w!.process.kill('SIGTERM');
        }),
    ),
  );
  logger.info('stopped');
  return 0;
}

/** `start --demo`: the demo organization, created once (its sign-in is logged then). */
async function ensureDemo(services: Services & { logger: pino.Logger }): Promise<void> {
  const { rows } = await services.database.raw.query(
    `select 1 from organizations where name = 'Demo Company (generated)' limit 1`,
  );
  if (rows.length > 0) return;
  const { createDemoOrganization } = await import('./modules/demo/demo.service.js');
  services.logger.info('creating the demo organization (about a minute)');
  const demo = await createDemoOrganization(services);
  services.logger.info(
    { organization_id: demo.organizationId, email: demo.email, password: demo.password },
    `Demo organization ready: sign in as ${demo.email} with the password ${demo.password}`,
  );
}
