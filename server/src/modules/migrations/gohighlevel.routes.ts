import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  getGhlMigration,
  listGhlMigrations,
  migrationSource,
  resumeGhlMigration,
  startGhlMigration,
} from './gohighlevel.jobs.js';
import { MISMATCHES_PER_OBJECT, validateGoHighLevel } from './gohighlevel.validation.js';

const Token = z
  .string()
  .trim()
  .min(1)
  .max(4000)
  // An HTTP header value: a token is printable ASCII (JWTs and pit-... tokens are).
  .regex(/^[\x21-\x7e]+$/, 'Printable ASCII without spaces, as GoHighLevel issues tokens')
  .describe(
    'A private integration token or OAuth access token of the location: stored sealed (AES-256-GCM), never returned (shown masked)',
  );

const GhlMigrationInput = z.strictObject({
  token: Token,
  location_id: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_-]+$/)
    .describe('The GoHighLevel location (sub-account) id'),
  base_url: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .optional()
    .describe(
      'The API base URL; default https://services.leadconnectorhq.com (a private address only when the operator allow-lists it)',
    ),
  dry_run: z
    .boolean()
    .default(true)
    .describe('Report what would be created, matched and skipped, and why, writing nothing (default)'),
  notes_and_tasks: z
    .boolean()
    .default(true)
    .describe("Read each contact's notes and tasks too (two requests per contact)"),
});

const Outcome = z.object({
  created: z.number().int(),
  matched: z.number().int(),
  skipped: z.number().int(),
  reasons: z
    .record(z.string(), z.number().int())
    .describe('Counts by outcome and reason ("matched: e-mail")'),
});

const GhlMigrationReport = z
  .object({
    dry_run: z.boolean(),
    location_id: z.string(),
    read: z.record(z.string(), z.number().int()).describe('Records read from GoHighLevel, by object'),
    objects: z
      .record(z.string(), Outcome)
      .describe('company, contact, opportunity, stage, member, custom_field, note, task'),
    unplaced_fields: z
      .array(
        z.object({
          object: z.string(),
          field: z.string(),
          records: z.number().int(),
          kept_in: z
            .string()
            .describe(
              "notes: written to the contact's notes; description: the task's description; report: listed here only",
            ),
          sample: z.string(),
        }),
      )
      .describe('Source fields Cairn has no place for'),
    requests: z.object({ sent: z.number().int(), retried_429: z.number().int() }),
    import_ids: z
      .record(z.string(), z.uuid())
      .describe('The imports the run created, by object (empty for a dry run)'),
  })
  .meta({ id: 'GhlMigrationReport' });

const GhlMigration = z
  .object({
    id: z.uuid(),
    location_id: z.string(),
    base_url: z.string(),
    token: z.string().describe('Masked: its last 4 characters only (write-only)'),
    dry_run: z.boolean(),
    notes_and_tasks: z.boolean(),
    status: z
      .enum(['queued', 'reading', 'importing', 'stopped', 'failed', 'completed'])
      .describe('stopped and failed: see error, then resume'),
    progress: z
      .record(z.string(), z.object({ read: z.number().int(), pages: z.number().int(), done: z.boolean() }))
      .describe('Per object: records read, pages (requests) read, read whole'),
    requests: z.object({ sent: z.number().int(), retried_429: z.number().int() }),
    error: z
      .object({
        code: z
          .string()
          .describe(
            'token_revoked, quota_exhausted, source_unreachable, source_error, import_failed, worker_stopped',
          ),
        message: z.string(),
      })
      .nullable(),
    report: GhlMigrationReport.nullable().describe("When read whole: the dry run report, or the run's plan"),
    import_ids: z.record(z.string(), z.uuid()),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'GhlMigration' });

const IdParams = z.strictObject({ id: z.uuid() });

const GhlValidationInput = z.strictObject({
  sample: z
    .number()
    .int()
    .min(0)
    .max(50)
    .default(5)
    .describe('Records of each object compared field by field'),
});

const GhlValidation = z
  .object({
    location_id: z.string(),
    counts: z
      .record(
        z.string(),
        z.object({ source: z.number().int(), in_cairn: z.number().int(), missing: z.number().int() }),
      )
      .describe(
        'Per object (member, pipeline, stage, custom_field, contact, tag, contact_tag, company, opportunity, note, ' +
          'task): in GoHighLevel, found in Cairn (records by their GoHighLevel id, companies by business id or name, ' +
          'pipelines and stages by name, custom fields by key, tags on the migrated contacts, users as members by ' +
          'e-mail), missing',
      ),
    mismatches: z
      .array(
        z.object({
          object: z.string(),
          source_id: z.string().describe('The GoHighLevel id (a tag: the tag)'),
          name: z.string(),
          reason: z.string(),
        }),
      )
      .describe(`What is missing in Cairn and why, up to ${MISMATCHES_PER_OBJECT} per object`),
    source_of: z
      .record(z.string(), z.enum(['gohighlevel', 'migration']))
      .describe(
        'Per object: counted from GoHighLevel read again now, or (notes, tasks) from what the migration read',
      ),
    samples: z.array(
      z.object({
        object: z.string(),
        source_id: z.string(),
        record_id: z.uuid().nullable(),
        fields: z.array(
          z.object({ field: z.string(), source: z.string(), cairn: z.string(), same: z.boolean() }),
        ),
      }),
    ),
    requests: z.object({ sent: z.number().int(), retried_429: z.number().int() }),
  })
  .meta({ id: 'GhlValidation' });

/**
 * The GoHighLevel migration routes (issue 33): a migration is a background job
 * (`gohighlevel.jobs.ts`), its state stored and resumable. Starting, resuming and validating
 * need `settings:manage` (a run creates fields and stages).
 */
export function registerMigrationRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/migrations/gohighlevel',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'startGoHighLevelMigration',
        tags: ['imports'],
        summary:
          'Start a GoHighLevel migration in the background: a dry run (the default) or a run as imports',
        description:
          'Queues a job that reads users, pipelines, custom field definitions, contacts, opportunities and (unless ' +
          "`notes_and_tasks` is false) each contact's notes and tasks through GoHighLevel's API v2, at most 100 requests " +
          'per 10 s and 200,000 a day, retrying a 429 after its Retry-After; each page is stored with its cursor, so the ' +
          'migration resumes after a crash or a stop. A dry run then reports what would be created, matched (GoHighLevel ' +
          'id, e-mail, phone) and skipped, and why. A run creates the custom fields and one import per object (companies, ' +
          'contacts, opportunities, notes, tasks), run in that order: each revertible under /imports. The token is stored ' +
          'sealed and never returned. Follow it with GET /migrations/gohighlevel/{id}.',
        body: GhlMigrationInput,
        response: { 202: GhlMigration, 400: Problem, 401: Problem, 403: Problem },
      },
    },
    async (req, reply) => reply.code(202).send(await startGhlMigration(services, req.tenant, req.body)),
  );
  app.get(
    '/migrations/gohighlevel',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'listGoHighLevelMigrations',
        tags: ['imports'],
        summary: 'The GoHighLevel migrations, the latest first (50 at most)',
        response: { 200: z.object({ data: z.array(GhlMigration) }), 401: Problem, 403: Problem },
      },
    },
    async (req) => ({ data: await listGhlMigrations(services, req.tenant) }),
  );
  app.get(
    '/migrations/gohighlevel/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'getGoHighLevelMigration',
        tags: ['imports'],
        summary:
          'A GoHighLevel migration: status, progress per object, the error that stopped it, its report',
        params: IdParams,
        response: { 200: GhlMigration, 400: Problem, 401: Problem, 403: Problem, 404: Problem },
      },
    },
    async (req) => getGhlMigration(services, req.tenant, req.params.id),
  );
  app.post(
    '/migrations/gohighlevel/:id/resume',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'resumeGoHighLevelMigration',
        tags: ['imports'],
        summary: 'Resume a stopped or failed migration from where it stopped, with a new token if given',
        description:
          "Reading goes on from each object's stored cursor and imports from their checkpoints; nothing read is read " +
          'again or doubled. 409 `not_resumable` unless the migration is stopped or failed.',
        params: IdParams,
        body: z.strictObject({ token: Token.optional() }),
        response: { 202: GhlMigration, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (req, reply) =>
      reply.code(202).send(await resumeGhlMigration(services, req.tenant, req.params.id, req.body)),
  );
  app.post(
    '/migrations/gohighlevel/:id/validate',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'validateGoHighLevelMigration',
        tags: ['imports'],
        summary:
          'The validation report after a migration: counts per object and samples compared field by field',
        description:
          "Reads the location again with the migration's stored token (users, pipelines, custom fields, contacts, " +
          'opportunities; notes and tasks as the migration read them) and finds each in Cairn: counts per object, ' +
          'what is missing and why, and samples compared field by field. Nothing is written. 422 `token_revoked` ' +
          'when GoHighLevel refuses the token.',
        params: IdParams,
        body: GhlValidationInput,
        response: {
          200: GhlValidation,
          400: Problem,
          401: Problem,
          403: Problem,
          404: Problem,
          422: Problem,
          429: Problem,
        },
      },
    },
    async (req) =>
      validateGoHighLevel(services, req.tenant, {
        ...(await migrationSource(services, req.tenant, req.params.id)),
        sample: req.body.sample,
      }),
  );
}
