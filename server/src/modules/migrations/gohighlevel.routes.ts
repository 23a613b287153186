import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { defineGhlMigrationJobs, migrateGoHighLevel, validateGoHighLevel } from './gohighlevel.service.js';

const GhlMigrationInput = z.strictObject({
  token: z
    .string()
    .trim()
    .min(1)
    .max(4000)
    // An HTTP header value: a token is printable ASCII (JWTs and pit-... tokens are).
    .regex(/^[\x21-\x7e]+$/, 'Printable ASCII without spaces, as GoHighLevel issues tokens')
    .describe(
      'A private integration token or OAuth access token of the location (used for this request only, never stored or returned)',
    ),
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
    objects: z.record(z.string(), Outcome).describe('company, contact, opportunity, stage, member'),
    unplaced_fields: z
      .array(
        z.object({
          object: z.string(),
          field: z.string(),
          records: z.number().int(),
          kept_in: z.string().describe("notes: written to the record's notes; report: listed here only"),
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

const GhlValidationInput = GhlMigrationInput.omit({ dry_run: true }).extend({
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
      .describe('Per object: records in GoHighLevel, found in Cairn by their GoHighLevel id, missing'),
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
 * `POST /migrations/gohighlevel`: a migration from GoHighLevel's API v2 as ordinary imports
 * (`gohighlevel.service.ts`). Needs `records:write` and `settings:manage` (it creates stages).
 */
export function registerMigrationRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/migrations/gohighlevel',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'migrateGoHighLevel',
        tags: ['imports'],
        summary: 'Migrate a GoHighLevel location: a dry run (the default) or a run as imports',
        description:
          'Reads users, pipelines, contacts (with their companies, tags and custom values) and opportunities through ' +
          "GoHighLevel's API v2 at most 100 requests per 10 s and 200,000 a day, retrying a 429 after its Retry-After. " +
          'A dry run reports what would be created, matched (GoHighLevel id, e-mail, phone) and skipped, and why. A run ' +
          'creates one import per object (companies, contacts, opportunities) and runs them in that order: each is ' +
          'resumable and revertible under /imports. 422 `token_revoked` when GoHighLevel refuses the token (nothing is ' +
          'written), 429 `quota_exhausted` when its daily limit is used up.',
        body: GhlMigrationInput,
        response: {
          200: GhlMigrationReport,
          201: GhlMigrationReport,
          400: Problem,
          401: Problem,
          403: Problem,
          422: Problem,
          429: Problem,
        },
      },
    },
    async (req, reply) => {
      const report = await migrateGoHighLevel(services, req.tenant, req.body);
      return reply.code(req.body.dry_run ? 200 : 201).send(report);
    },
  );
  app.post(
    '/migrations/gohighlevel/validate',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        operationId: 'validateGoHighLevelMigration',
        tags: ['imports'],
        summary:
          'The validation report after a migration: counts per object and samples compared field by field',
        description:
          'Reads the location again and finds each record in Cairn by its GoHighLevel id. Nothing is written. ' +
          '422 `token_revoked` when GoHighLevel refuses the token.',
        body: GhlValidationInput,
        response: {
          200: GhlValidation,
          400: Problem,
          401: Problem,
          403: Problem,
          422: Problem,
          429: Problem,
        },
      },
    },
    async (req) => validateGoHighLevel(services, req.tenant, req.body),
  );
  defineGhlMigrationJobs(services);
}
