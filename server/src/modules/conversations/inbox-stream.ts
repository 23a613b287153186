import { announce } from '../notifications/notification-stream.js';

/** The topic an organization's inbox changes are announced on (notifications' hub, `notification-stream.ts`). */
export const inboxTopic = (orgId: string) => `${orgId}:inbox`;

/**
 * Tells the organization's open inbox streams, when the caller's transaction commits, that
 * something moved: a message arrived, was queued, sent or failed, a delivery status or a
 * conversation's state changed. The streams re-read and push (`GET /conversations/stream`).
 */
export const announceInbox = (conn: Parameters<typeof announce>[0], orgId: string) =>
  announce(conn, inboxTopic(orgId));
