import { z } from 'zod';

/**
 * Status fields (issue 21, "the opportunity's stages generalised"): a field of type `status`
 * holds one of an ordered list of statuses, each of a kind (open, done, cancelled). Its
 * definition says which moves are allowed, which roles may set each status and which moves need a
 * reason; the record engine enforces it on every write (modules/records/record-status.service.ts).
 * The definition is stored with the field (`custom_fields.statuses`), as the API sends it.
 */

export const STATUS_KINDS = ['open', 'done', 'cancelled'] as const;
export type StatusKind = (typeof STATUS_KINDS)[number];

/** A role's key, as the roles of an organization are named ('admin', 'user', 'viewer', custom ones). */
export const RoleKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'A role key: lower-case letters, digits and _')
  .describe('A role’s key: `admin`, `user`, `viewer` or a custom role’s');

export const StatusOption = z.strictObject({
  value: z.string().trim().min(1).max(100).describe('Stored in the record; never changes'),
  label: z.string().trim().min(1).max(100),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/)
    .optional(),
  kind: z.enum(STATUS_KINDS).default('open'),
  roles: z
    .array(RoleKey)
    .max(50)
    .optional()
    .describe('The roles that may set this status (admins always may); absent: every role that may edit'),
  reason_required: z.boolean().default(false).describe('Entering this status needs a reason'),
  owner_role: RoleKey.optional().describe(
    'The role that owns this status: a record entering it, moved by a member of another role, waits in that role’s hand-off queue until one of its members accepts it (becomes the owner) or denies it',
  ),
});

export const StatusTransition = z.strictObject({
  from: z.string().trim().min(1).max(100),
  to: z.string().trim().min(1).max(100),
  reason_required: z.boolean().default(false),
});

/** A status field's definition, checked: unique values, transitions between known statuses. */
export const StatusConfig = z
  .strictObject({
    statuses: z.array(StatusOption).min(1).max(100).describe('In board order'),
    transitions: z
      .array(StatusTransition)
      .max(2_000)
      .optional()
      .describe('The allowed moves; absent: from any status to any other'),
    initial: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('A new record’s status when none is given; the first status when absent'),
  })
  .superRefine((config, ctx) => {
    const values = new Set<string>();
    for (const [i, s] of config.statuses.entries()) {
      if (values.has(s.value))
        ctx.addIssue({
          code: 'custom',
          path: ['statuses', i, 'value'],
          message: 'Status values must be unique',
        });
      values.add(s.value);
    }
    const moves = new Set<string>();
    for (const [i, t] of (config.transitions ?? []).entries()) {
      for (const end of ['from', 'to'] as const)
        if (!values.has(t[end]))
          ctx.addIssue({ code: 'custom', path: ['transitions', i, end], message: `No status "${t[end]}"` });
      if (t.from === t.to)
        ctx.addIssue({
          code: 'custom',
          path: ['transitions', i, 'to'],
          message: 'A move goes to another status',
        });
      const key = JSON.stringify([t.from, t.to]);
      if (moves.has(key))
        ctx.addIssue({ code: 'custom', path: ['transitions', i], message: 'This move is listed twice' });
      moves.add(key);
    }
    if (config.initial !== undefined && !values.has(config.initial))
      ctx.addIssue({ code: 'custom', path: ['initial'], message: `No status "${config.initial}"` });
  })
  .meta({ id: 'StatusConfig' });
export type StatusConfigInput = z.input<typeof StatusConfig>;
export type StatusConfigOut = z.output<typeof StatusConfig>;
export type StatusOptionOut = StatusConfigOut['statuses'][number];
