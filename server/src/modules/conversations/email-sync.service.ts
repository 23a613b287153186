import { and, eq, sql } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import {
  CHANNEL_SYNC_QUEUE,
  type ChannelRow,
  imapClientOf,
  type SyncJob,
  scheduleSync,
} from './channel.service.js';
import { channels } from './conversation.schema.js';
import { type Inbound, parseEmail } from './inbound.service.js';
import { mailboxWatchersOf, type WatchOptions } from './mailbox-watch.js';
import { storeInboundAttachments } from './message-attachments.service.js';
import { ingestMessages } from './message-ingest.service.js';

/** How often a mailbox is polled, seconds. */
export const POLL_SECONDS = 60;
/**
 * Messages fetched (one UID FETCH), parsed and stored (one transaction, set-based) per batch; the
 * last UID is saved with each batch.
 */
const BATCH = 100;
const DEFAULT_SYNC_DAYS = 30;
/** A message larger than this is not downloaded (its size is recorded as the reason). */
const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;

export type SyncResult = { fetched: number; stored: number; rejected: number; last_uid: number };

/**
 * Syncs an IMAP mailbox into the inbox (imapflow, https://imapflow.com): resumes after the
 * highest UID synced (from scratch, deduplicated by Message-ID, when the mailbox's UIDVALIDITY
 * changed); the first sync takes the last `sync_days` days. Each batch of messages is stored
 * with the new last UID in one transaction, so an interrupted sync resumes where it stopped.
 */
export async function syncMailbox(
  services: Services,
  ctx: TenantContext,
  channelId: string,
): Promise<SyncResult> {
  const [row] = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select()
      .from(channels)
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, channelId))),
  );
  const result: SyncResult = { fetched: 0, stored: 0, rejected: 0, last_uid: row?.imapLastUid ?? 0 };
  if (!row?.settings.imap) return result;
  const client = imapClientOf(services, row);
  client.on('error', () => {});
  try {
    await client.connect();
    const lock = await client.getMailboxLock(row.settings.imap.mailbox);
    try {
      const mailbox = client.mailbox;
      const validity = mailbox ? Number(mailbox.uidValidity) : null;
      let lastUid = row.imapUidValidity === validity ? row.imapLastUid : 0;
      let uids: number[];
      if (lastUid === 0) {
        const days = row.settings.sync_days ?? DEFAULT_SYNC_DAYS;
        const found = await client.search({ since: new Date(Date.now() - days * 86_400_000) }, { uid: true });
        uids = found || [];
      } else {
        const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
        uids = (found || []).filter((u) => u > lastUid);
      }
      uids.sort((a, b) => a - b);
      /** One batch: fetched in one UID FETCH, parsed; the next one is fetched while this one is stored. */
      const fetchBatch = async (batch: number[]) => {
        const raws: { uid: number; source: Buffer | null }[] = [];
        for await (const msg of client.fetch(
          batch.join(','),
          { uid: true, size: true, source: true },
          { uid: true },
        )) {
          raws.push({
            uid: msg.uid,
            source: msg.size && msg.size > MAX_MESSAGE_BYTES ? null : (msg.source ?? null),
          });
        }
        raws.sort((a, b) => a.uid - b.uid);
        return Promise.all(raws.map(async (r) => (r.source ? parseEmail(r.source) : null)));
      };
      let next = uids.length ? fetchBatch(uids.slice(0, BATCH)) : null;
      for (let i = 0; next; i += BATCH) {
        const batch = uids.slice(i, i + BATCH);
        const parsed = await next;
        next = i + BATCH < uids.length ? fetchBatch(uids.slice(i + BATCH, i + 2 * BATCH)) : null;
        // Should this batch's store fail, the fetch under way is dropped with the connection.
        next?.catch(() => {});
        result.fetched += parsed.length;
        const maxUid = Math.max(lastUid, ...batch);
        const readable = parsed.filter((m): m is Inbound => m !== null);
        result.rejected += parsed.length - readable.length;
        const withFiles: { id: string; files: (Buffer | null)[] }[] = [];
        await withTenant(services.database, ctx, async (scope) => {
          const ids = await ingestMessages(services, scope, row, readable);
          readable.forEach((message, k) => {
            const id = ids[k];
            if (!id) return;
            result.stored += 1;
            if (message.files?.length) withFiles.push({ id, files: message.files });
          });
          await scope.tx
            .update(channels)
            .set({
              imapUidValidity: validity,
              // Two syncs may overlap (an IDLE wake-up and the poll): the last UID never goes back.
              imapLastUid: sql`case when ${channels.imapUidValidity} is not distinct from ${validity}
                then greatest(${channels.imapLastUid}, ${maxUid}) else ${maxUid} end`,
            })
            .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, row.id)));
        });
        // Their attachments through the files pipeline, once the messages are committed.
        for (const m of withFiles) await storeInboundAttachments(services, ctx.orgId, m.id, m.files);
        lastUid = maxUid;
      }
      result.last_uid = lastUid;
      if (uids.length === 0 && row.imapUidValidity !== validity)
        await withTenant(services.database, ctx, ({ tx }) =>
          tx
            .update(channels)
            .set({ imapUidValidity: validity, imapLastUid: 0 })
            .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, row.id))),
        );
    } finally {
      lock.release();
    }
    await client.logout();
    await noteSync(services, ctx, row, null);
  } catch (error) {
    client.close();
    await noteSync(services, ctx, row, error instanceof Error ? error.message : String(error));
    throw error;
  }
  return result;
}

async function noteSync(services: Services, ctx: TenantContext, row: ChannelRow, error: string | null) {
  await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .update(channels)
      .set({ lastSyncAt: sql`clock_timestamp()`, lastError: error?.slice(0, 500) ?? null })
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, row.id))),
  );
  await recordIntegration(services, ctx.orgId, {
    kind: 'imap',
    ref: row.id,
    name: row.name,
    ok: !error,
    error,
  });
}

/** The process's IMAP IDLE watchers (`mailbox-watch.ts`), syncing with `syncMailbox`. */
export const watchersOf = (services: Services, options?: Partial<WatchOptions>) =>
  mailboxWatchersOf(services, (ctx, id) => syncMailbox(services, ctx, id), options);

/**
 * The polling job (the worker): syncs the mailbox, then arms the next poll while the channel is
 * active, and makes sure the worker listens to the mailbox (IMAP IDLE, `mailbox-watch.ts`) so new
 * mail arrives within seconds; the poll is the fallback when IDLE cannot be held. A failed sync
 * is recorded on the channel (`last_error`) and polled again later.
 */
export function defineChannelJobs(services: Services): void {
  services.jobs.define<SyncJob & { not_before?: number }>(
    { name: CHANNEL_SYNC_QUEUE, retryLimit: 0, expireInSeconds: 3600 },
    async ({ data }) => {
      if (data.not_before && Date.now() < data.not_before - 5_000) return;
      const ctx: TenantContext = { orgId: data.org_id, actor: { type: 'system', id: null } };
      try {
        await syncMailbox(services, ctx, data.channel_id);
      } catch {
        // Recorded on the channel; the next poll tries again.
      }
      const active = await withTenant(services.database, ctx, async (scope) => {
        const { rows } = await scope.conn.query<{ id: string }>(
          `select id from channels where org_id = $1 and id = $2 and status = 'active' and settings ? 'imap'`,
          [data.org_id, data.channel_id],
        );
        if (rows[0])
          await scheduleSync(services, scope.conn, { orgId: data.org_id, id: data.channel_id }, POLL_SECONDS);
        return !!rows[0];
      });
      if (active) watchersOf(services).ensure(data.org_id, data.channel_id);
    },
  );
}
