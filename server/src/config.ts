import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';

/**
 * The validated configuration, read once from the environment and an optional `.env` file in the
 * working directory (the environment wins). A bad value stops start-up with a message naming the
 * variable (`ConfigError`).
 */
export type Config = {
  port: number;
  host: string;
  /** Public origin of the app, e.g. `https://crm.example.com`; cookies are Secure when it is https. */
  baseUrl: string;
  /** PostgreSQL server URL; when absent the embedded database (PGlite) in `dataDir/pg` is used. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** At least 32 characters; signs sessions. Generated into `dataDir/secret` when not given. */
  secret: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Idle timeout of a session in seconds: a session unused this long is expired. */
  sessionIdleTimeoutS: number;
  /** Largest accepted request body in bytes. */
  bodyLimitBytes: number;
  /** Trust `X-Forwarded-*` from a proxy in front (needed behind a load balancer for client IPs). */
  trustProxy: boolean;
  /** Extra origins allowed to make cookie-authenticated requests, besides `baseUrl`. */
  trustedOrigins: string[];
  /** Failed sign-ins per client IP per minute before 429. */
  signInPerIpPerMinute: number;
  /** PostgreSQL schema holding the job queue's tables. */
  queueSchema: string;
  /** The most recipients one broadcast may have (issue 33: the plan's limit; `BROADCAST_MAX_RECIPIENTS`). */
  broadcastMaxRecipients: number;
  /**
   * Seconds between the job queue's checks for jobs past their expiry or heartbeat (a worker
   * that died): such a job is retried at most this long after it stalled.
   */
  queueSuperviseS: number;
  /** API requests per signed-in principal per minute before 429. */
  apiRateLimitPerMinute: number;
  /** API requests per API key per 10 seconds before 429. */
  apiKeyRateLimitPer10S: number;
  /** How often the guard adds its counts to the shared counters, ms. */
  guardFlushMs: number;
  /**
   * Requests per client IP per minute, before 429, that carry no valid session: public routes,
   * 401s, the better-auth endpoints (`/api/auth/*`, sign-in, sign-out, get-session).
   */
  anonRateLimitPerMinute: number;
  /** Redis for rate-limit counters shared by several server processes; in-process when absent. */
  redisUrl: string | undefined;
  /** SMTP server for system e-mail (`smtp://user:pass@host:587`); without it, the local outbox. */
  smtpUrl: string | undefined;
  /** The sender of system e-mail. */
  mailFrom: string;
  /**
   * Milliseconds an HTTP request's database work may take (each statement, and its tenant
   * transaction as a whole) before it is cancelled and answered 503 `statement_timeout`.
   */
  statementTimeoutMs: number;
  /** The same for work outside a request: jobs, imports, commands. */
  jobStatementTimeoutMs: number;
  /** Where `cairn backup` and the scheduled backups write (default `dataDir/backups`). */
  backupDir: string;
  /** Hours between scheduled backups taken by the worker; 0 turns them off. */
  backupEveryHours: number;
  /** Scheduled backups kept; older ones are deleted after each new one. */
  backupKeep: number;
  /**
   * Where each backup is copied off the machine: an S3-compatible bucket (`BACKUP_S3_BUCKET`),
   * reached with the `BACKUP_S3_*` settings or else the `FILE_S3_*` ones; null: not copied.
   */
  backupS3: S3Settings | null;
  /**
   * Stripe Checkout (issue 29): with `STRIPE_SECRET_KEY` an accepted quote offers a payment link;
   * `STRIPE_API_BASE` points the client elsewhere (a local server in tests); `STRIPE_WEBHOOK_SECRET`
   * verifies `checkout.session.completed`. Null: no payment provider.
   */
  stripe: { secretKey: string; apiBase: string | undefined; webhookSecret: string | undefined } | null;
  /** Days between an admin's request to delete the organization and its deletion (they may cancel meanwhile). */
  organizationDeletionGraceDays: number;
  /**
   * Hosts outbound requests (webhooks) may reach even on a loopback, private or link-local address
   * (`platform/net`): exact host names or IP literals, set by the operator.
   */
  outboundAllowedHosts: string[];
  /** GoHighLevel's burst limit a migration keeps to, requests per 10 s (GoHighLevel's: 100). */
  ghlRequestsPer10s: number;
  /**
   * Seconds to wait before each retry of a failed webhook delivery (the first try is at once), so
   * its length + 1 is the number of attempts. Default: 8 attempts over about 27 hours.
   */
  webhookRetryScheduleS: number[];
  /**
   * Meta Lead Ads and the Conversions API (issue 31): `META_GRAPH_URL` is the Graph API's base
   * (versioned; a local server speaking Graph's wire format in tests), `META_RETRY_SCHEDULE_SECONDS`
   * the waits between a lead fetch's or CAPI call's attempts, `META_TOKEN_WARN_DAYS` how long before
   * a page token's expiry the daily check warns.
   */
  meta: { graphUrl: string; retryScheduleS: number[]; tokenWarnDays: number };
  /** A webhook subscription whose deliveries have failed this many hours is disabled. */
  webhookDisableAfterHours: number;
  /** How long a webhook receiver has to answer, ms. */
  webhookTimeoutMs: number;
  /** Submissions of one public form (page or ingest endpoint) per client IP per minute before 429. */
  formPostsPerIpPerMinute: number;
  /** Attachments (issue 26): limits, the virus scanner and where stored files live. */
  files: FilesConfig;
  /**
   * The bearer token `/metrics` (Prometheus) asks for; unset, `/metrics` answers 404 (issue 30).
   */
  metricsToken: string | undefined;
  /**
   * OpenTelemetry: the OTLP/HTTP collector traces are sent to (`<endpoint>/v1/traces`); unset, no
   * tracing (issue 30). `OTEL_SERVICE_NAME` names the service (default `cairn`).
   */
  otlpEndpoint: string | undefined;
  otelServiceName: string;
  /** A Sentry-compatible DSN server errors (5xx) are reported to; unset, none are (issue 30). */
  sentryDsn: string | undefined;
};

/** The files pipeline's settings (`platform/files/`). */
export type FilesConfig = {
  /** Largest accepted upload in bytes (413 above). */
  maxBytes: number;
  /** Seconds a download link works. */
  linkTtlS: number;
  /** clamd's TCP address (`tcp://127.0.0.1:3310`); without it the scan is reported "not configured". */
  clamavUrl: string | undefined;
  /** Where stored files live: a directory under the data directory, or an S3-compatible bucket. */
  store:
    | { kind: 'local' }
    | {
        kind: 's3';
        bucket: string;
        endpoint: string | undefined;
        region: string;
        accessKeyId: string | undefined;
        secretAccessKey: string | undefined;
        forcePathStyle: boolean;
      };
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable}: ${message}`);
  }
}

const boolish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SESSION_IDLE_TIMEOUT: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
  BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  TRUST_PROXY: boolish.default(false),
  TRUSTED_ORIGINS: z.string().default(''),
  SIGN_IN_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  ANON_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  API_KEY_RATE_LIMIT_PER_10_SECONDS: z.coerce.number().int().min(1).default(100),
  GUARD_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).max(254).optional(),
  QUEUE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('pgboss'),
  QUEUE_SUPERVISE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  JOB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(120_000),
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_EVERY_HOURS: z.coerce.number().min(0).max(8760).default(24),
  BACKUP_KEEP: z.coerce.number().int().min(1).max(1000).default(7),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  BACKUP_S3_BUCKET: z.string().min(3).max(63).optional(),
  BACKUP_S3_PREFIX: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9._/-]*$/)
    .default('cairn-backups/'),
  BACKUP_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  BACKUP_S3_REGION: z.string().min(1).optional(),
  BACKUP_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  BACKUP_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  ORG_DELETION_GRACE_DAYS: z.coerce.number().min(0).max(365).default(30),
  OUTBOUND_ALLOWED_HOSTS: z.string().max(4000).default(''),
  GHL_REQUESTS_PER_10S: z.coerce.number().int().min(1).max(100_000).default(100),
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d{1,6}(,\d{1,6}){0,19}$/, 'must be a comma-separated list of whole seconds')
    .default('5,300,1800,7200,18000,36000,36000'),
  META_GRAPH_URL: z.url({ protocol: /^https?$/ }).default('https://graph.facebook.com/v21.0'),
  META_RETRY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d{1,6}(,\d{1,6}){0,19}$/, 'must be a comma-separated list of whole seconds')
    .default('30,300,1800,7200,21600'),
  META_TOKEN_WARN_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().min(0).max(8760).default(72),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  FORM_POSTS_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  BROADCAST_MAX_RECIPIENTS: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  FILE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(5 * 1024 ** 3)
    .default(25 * 1024 * 1024),
  FILE_LINK_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  CLAMAV_URL: z
    .string()
    .regex(/^tcp:\/\/[^\s/:]+:\d{1,5}\/?$/, 'must be tcp://host:port')
    .optional(),
  FILE_STORE: z.enum(['local', 's3']).default('local'),
  FILE_S3_BUCKET: z.string().min(3).max(63).optional(),
  FILE_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  FILE_S3_REGION: z.string().min(1).default('us-east-1'),
  FILE_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  FILE_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  FILE_S3_FORCE_PATH_STYLE: boolish.default(true),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(200).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100).default('cairn'),
  SENTRY_DSN: z.url({ protocol: /^https?$/ }).optional(),
});

/**
 * Reads and validates the configuration.
 * @param env the environment (defaults to `process.env` merged over `./.env`)
 * @throws ConfigError naming the first bad variable
 */
export function loadConfig(env: Record<string, string | undefined> = readEnv()): Config {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const baseUrl = (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  const trustedOrigins = e.TRUSTED_ORIGINS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of trustedOrigins) {
    if (!URL.canParse(origin)) throw new ConfigError('TRUSTED_ORIGINS', `not a URL: ${origin}`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    secret: e.SECRET ?? readOrCreateSecret(dataDir),
    logLevel: e.LOG_LEVEL,
    sessionIdleTimeoutS: e.SESSION_IDLE_TIMEOUT,
    bodyLimitBytes: e.BODY_LIMIT,
    trustProxy: e.TRUST_PROXY,
    trustedOrigins: [new URL(baseUrl).origin, ...trustedOrigins.map((o) => new URL(o).origin)],
    signInPerIpPerMinute: e.SIGN_IN_PER_IP_PER_MINUTE,
    queueSchema: e.QUEUE_SCHEMA,
    broadcastMaxRecipients: e.BROADCAST_MAX_RECIPIENTS,
    queueSuperviseS: e.QUEUE_SUPERVISE_SECONDS,
    apiRateLimitPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
    anonRateLimitPerMinute: e.ANON_RATE_LIMIT_PER_MINUTE,
    apiKeyRateLimitPer10S: e.API_KEY_RATE_LIMIT_PER_10_SECONDS,
    guardFlushMs: e.GUARD_FLUSH_MS,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? `Cairn <no-reply@${new URL(baseUrl).hostname}>`,
    statementTimeoutMs: e.STATEMENT_TIMEOUT_MS,
    jobStatementTimeoutMs: e.JOB_STATEMENT_TIMEOUT_MS,
    backupDir: path.resolve(e.BACKUP_DIR ?? path.join(dataDir, 'backups')),
    backupEveryHours: e.BACKUP_EVERY_HOURS,
    backupKeep: e.BACKUP_KEEP,
    backupS3: e.BACKUP_S3_BUCKET
      ? {
          bucket: e.BACKUP_S3_BUCKET,
          prefix: e.BACKUP_S3_PREFIX,
          endpoint: e.BACKUP_S3_ENDPOINT ?? e.FILE_S3_ENDPOINT,
          region: e.BACKUP_S3_REGION ?? e.FILE_S3_REGION,
          accessKeyId: e.BACKUP_S3_ACCESS_KEY_ID ?? e.FILE_S3_ACCESS_KEY_ID,
          secretAccessKey: e.BACKUP_S3_SECRET_ACCESS_KEY ?? e.FILE_S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.FILE_S3_FORCE_PATH_STYLE,
        }
      : null,
    stripe: e.STRIPE_SECRET_KEY
      ? { secretKey: e.STRIPE_SECRET_KEY, apiBase: e.STRIPE_API_BASE, webhookSecret: e.STRIPE_WEBHOOK_SECRET }
      : null,
    organizationDeletionGraceDays: e.ORG_DELETION_GRACE_DAYS,
    outboundAllowedHosts: e.OUTBOUND_ALLOWED_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    ghlRequestsPer10s: e.GHL_REQUESTS_PER_10S,
    webhookRetryScheduleS: e.WEBHOOK_RETRY_SCHEDULE_SECONDS.split(',').map(Number),
    webhookDisableAfterHours: e.WEBHOOK_DISABLE_AFTER_HOURS,
    meta: {
      graphUrl: e.META_GRAPH_URL.replace(/\/+$/, ''),
      retryScheduleS: e.META_RETRY_SCHEDULE_SECONDS.split(',').map(Number),
      tokenWarnDays: e.META_TOKEN_WARN_DAYS,
    },
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    formPostsPerIpPerMinute: e.FORM_POSTS_PER_IP_PER_MINUTE,
    files: filesConfig(e),
    metricsToken: e.METRICS_TOKEN,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: e.OTEL_SERVICE_NAME,
    sentryDsn: e.SENTRY_DSN,
  };
}

/** An S3-compatible bucket and how to reach it. */
export type S3Settings = {
  bucket: string;
  /** Key prefix (backups only). */
  prefix?: string;
  endpoint: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
};

function filesConfig(e: z.infer<typeof envSchema>): FilesConfig {
  if (e.FILE_STORE === 's3' && !e.FILE_S3_BUCKET)
    throw new ConfigError('FILE_S3_BUCKET', 'is required when FILE_STORE is s3');
  return {
    maxBytes: e.FILE_MAX_BYTES,
    linkTtlS: e.FILE_LINK_TTL_SECONDS,
    clamavUrl: e.CLAMAV_URL,
    store:
      e.FILE_STORE === 's3'
        ? {
            kind: 's3',
            bucket: e.FILE_S3_BUCKET!,
            endpoint: e.FILE_S3_ENDPOINT,
            region: e.FILE_S3_REGION,
            accessKeyId: e.FILE_S3_ACCESS_KEY_ID,
            secretAccessKey: e.FILE_S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.FILE_S3_FORCE_PATH_STYLE,
          }
        : { kind: 'local' },
  };
}

function readEnv(): Record<string, string | undefined> {
  const file = path.resolve('.env');
  const fromFile = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  return { ...fromFile, ...process.env };
}

/** The secret kept in `DATA_DIR/secret` (mode 0600), created on first start. */
function readOrCreateSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 32) throw new ConfigError('SECRET', `${file} holds fewer than 32 characters`);
    return secret;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
