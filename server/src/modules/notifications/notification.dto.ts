import { z } from 'zod';
import { NOTIFICATION_KINDS } from './notification-kinds.js';

export const NotificationKindSchema = z.enum(NOTIFICATION_KINDS).meta({ id: 'NotificationKind' });

export const NotificationListQuery = z.strictObject({
  /** Only unread ones. */
  unread: z.enum(['true', 'false']).optional().describe('`true`: only the unread ones'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional().describe('`next_cursor` of the previous page'),
});
export type NotificationListQueryInput = z.infer<typeof NotificationListQuery>;

export const Notification = z
  .object({
    id: z.uuid(),
    kind: NotificationKindSchema,
    /** What happened, as a sentence: "Ada Admin assigned you contact Grace Hopper". */
    title: z.string(),
    record: z.object({ object: z.string(), id: z.string(), name: z.string().nullable() }),
    actor: z.object({ id: z.string(), name: z.string() }).nullable(),
    detail: z.string().nullable(),
    /** How many events were coalesced into it (same kind and record within 10 minutes). */
    count: z.number().int(),
    read: z.boolean(),
    read_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Notification' });
export type NotificationView = z.infer<typeof Notification>;

export const NotificationPage = z
  .object({ data: z.array(Notification), next_cursor: z.string().nullable() })
  .meta({ id: 'NotificationPage' });

export const UnreadCount = z.object({ unread: z.number().int() }).meta({ id: 'NotificationUnreadCount' });

export const ReadAllResult = z
  .object({ updated: z.number().int() })
  .meta({ id: 'NotificationReadAllResult' });

export const NotificationSetting = z
  .object({
    kind: NotificationKindSchema,
    label: z.string(),
    in_app: z.boolean(),
    email_digest: z.boolean(),
  })
  .meta({ id: 'NotificationSetting' });

export const NotificationSettings = z
  .object({
    data: z.array(NotificationSetting),
    /** Whether e-mail digests are sent by this install (no sending layer yet: the choice is kept). */
    email_digest_available: z.boolean(),
  })
  .meta({ id: 'NotificationSettings' });

export const NotificationSettingsUpdate = z
  .strictObject({
    data: z
      .array(
        z.strictObject({
          kind: NotificationKindSchema,
          in_app: z.boolean().optional(),
          email_digest: z.boolean().optional(),
        }),
      )
      .max(NOTIFICATION_KINDS.length * 2),
  })
  .meta({ id: 'NotificationSettingsUpdate' });
export type NotificationSettingsUpdateInput = z.infer<typeof NotificationSettingsUpdate>;
