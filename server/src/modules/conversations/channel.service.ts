import { and, desc, eq, sql } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import nodemailer from 'nodemailer';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { recordIntegration } from '../ops/integration-health.service.js';
import type { ChannelCreateInput, ChannelUpdateInput, ChannelView } from './conversation.dto.js';
import { type ChannelSecrets, type ChannelSettings, channels, isMetaKind } from './conversation.schema.js';
import { checkProvider } from './email-provider.js';
import { graphCall, graphReason } from './meta-graph.js';
import { sealChannelSecrets, unsealChannelSecrets } from './secrets.js';
import { twilioClient } from './twilio.js';

export type ChannelRow = typeof channels.$inferSelect;

const MASK = '********';
const DEFAULT_SYNC_DAYS = 30;

export const secretsOf = unsealChannelSecrets;
const sealSecrets = sealChannelSecrets;

export const inboundWebhookUrl = (services: Services, row: { orgId: string; id: string }) =>
  `${services.config.baseUrl}/api/v1/public/channels/${row.orgId}/${row.id}/twilio`;

export function channelViewOf(services: Services, row: ChannelRow): ChannelView {
  const s = row.settings;
  const secrets = secretsOf(services, row);
  const mask = (v: string | undefined) => (v ? MASK : null);
  return {
    id: row.id,
    kind: row.kind as ChannelView['kind'],
    name: row.name,
    address: row.address,
    from_name: row.fromName,
    status: row.status as ChannelView['status'],
    smtp: s.smtp ? { ...s.smtp, password: mask(secrets.smtp_password) } : null,
    imap: s.imap ? { ...s.imap, password: mask(secrets.imap_password) } : null,
    sync_days: s.sync_days ?? DEFAULT_SYNC_DAYS,
    twilio: s.twilio ? { ...s.twilio, auth_token: mask(secrets.twilio_auth_token) } : null,
    provider: s.provider
      ? {
          ...s.provider,
          api_key: mask(secrets.provider_api_key),
          webhook_key: mask(secrets.provider_webhook_key),
          events_webhook_url: `${services.config.baseUrl}/api/v1/public/channels/${row.orgId}/${row.id}/provider/events`,
          inbound_webhook_url: `${services.config.baseUrl}/api/v1/public/channels/${row.orgId}/${row.id}/provider/inbound`,
        }
      : null,
    meta: s.meta ? { page_id: s.meta.page_id, page_token: mask(secrets.meta_page_token) } : null,
    inbound_webhook_url: row.kind === 'sms' ? inboundWebhookUrl(services, row) : null,
    listening: !!row.idleUntil && Date.parse(row.idleUntil) > Date.now(),
    imap_last_uid: row.imapLastUid,
    last_sync_at: row.lastSyncAt,
    last_error: row.lastError,
    rejected_webhooks: row.rejectedWebhooks,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** The number in E.164, or null when it is not a number. */
export function e164(value: string): string | null {
  const parsed = parsePhoneNumberFromString(value.trim(), { defaultCallingCode: undefined });
  return parsed?.isValid() ? parsed.number : null;
}

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;
export const isEmail = (v: string) => EMAIL.test(v);

/** Merges the input over what is stored and checks the whole for the channel's kind. */
function settle(
  kind: string,
  stored: { settings: ChannelSettings; secrets: ChannelSecrets; address: string },
  input: ChannelUpdateInput,
): { settings: ChannelSettings; secrets: ChannelSecrets; address: string } {
  const settings: ChannelSettings = { ...stored.settings };
  const secrets: ChannelSecrets = { ...stored.secrets };
  let address = input.address ?? stored.address;
  if (input.smtp) {
    const { password, ...rest } = input.smtp;
    settings.smtp = { ...rest, user: rest.user ?? null };
    if (password !== undefined) secrets.smtp_password = password;
  }
  if (input.imap) {
    const { password, ...rest } = input.imap;
    settings.imap = rest;
    if (password !== undefined) secrets.imap_password = password;
  }
  if (input.sync_days !== undefined) settings.sync_days = input.sync_days;
  if (input.twilio) {
    const { auth_token, ...rest } = input.twilio;
    settings.twilio = { account_sid: rest.account_sid, api_base: rest.api_base ?? null };
    if (auth_token !== undefined) secrets.twilio_auth_token = auth_token;
  }
  if (input.provider === null) {
    delete settings.provider;
    delete secrets.provider_api_key;
    delete secrets.provider_webhook_key;
  } else if (input.provider) {
    const { api_key, webhook_key, ...rest } = input.provider;
    settings.provider = { name: rest.name, api_base: rest.api_base ?? null, domain: rest.domain ?? null };
    if (api_key !== undefined) secrets.provider_api_key = api_key;
    if (webhook_key !== undefined) secrets.provider_webhook_key = webhook_key;
  }
  if (settings.provider) {
    if (kind !== 'email') throw badRequest('Only an e-mail channel has a provider', 'body.provider');
    if (!secrets.provider_api_key)
      throw badRequest('The provider needs its API key', 'body.provider.api_key');
    if (settings.provider.name === 'mailgun' && !settings.provider.domain)
      throw badRequest('A Mailgun channel needs its sending domain', 'body.provider.domain');
  }
  if (input.meta) {
    const { page_token, ...rest } = input.meta;
    const pageId = rest.page_id ?? settings.meta?.page_id ?? (kind === 'messenger' ? address : undefined);
    if (pageId) settings.meta = { page_id: pageId };
    if (page_token !== undefined) secrets.meta_page_token = page_token;
  }
  if (isMetaKind(kind)) {
    address = address.trim();
    if (!/^\d{1,32}$/.test(address))
      throw badRequest(
        kind === 'messenger'
          ? 'The address is the Facebook page id (digits)'
          : 'The address is the Instagram professional account id (digits)',
        'body.address',
      );
    // A Messenger channel's page is its address.
    if (kind === 'messenger') settings.meta = { page_id: address };
    if (!settings.meta?.page_id || !/^\d{1,32}$/.test(settings.meta.page_id))
      throw badRequest(
        'The Facebook page linked to the Instagram account is needed (its id)',
        'body.meta.page_id',
      );
    if (!secrets.meta_page_token)
      throw badRequest('The page access token is needed to reply', 'body.meta.page_token');
  } else if (settings.meta) {
    throw badRequest('Only a Messenger or Instagram channel has a page', 'body.meta');
  }
  if (isMetaKind(kind)) {
    // Checked above.
  } else if (kind === 'sms') {
    const number = e164(address);
    if (!number) throw badRequest('The number is not a phone number in E.164 (+14155550100)', 'body.address');
    address = number;
    if (!settings.twilio) throw badRequest('An SMS channel needs its Twilio account', 'body.twilio');
    if (!secrets.twilio_auth_token)
      throw badRequest('An SMS channel needs its Twilio auth token', 'body.twilio.auth_token');
  } else {
    address = address.toLowerCase();
    if (!isEmail(address)) throw badRequest('The address is not an e-mail address', 'body.address');
    if (kind === 'email' && !settings.smtp && !settings.provider)
      throw badRequest('An e-mail channel needs its SMTP server or a provider to send', 'body.smtp');
  }
  return { settings, secrets, address };
}

export async function createChannel(
  services: Services,
  ctx: TenantContext,
  input: ChannelCreateInput,
): Promise<ChannelView> {
  const { settings, secrets, address } = settle(
    input.kind,
    { settings: {}, secrets: {}, address: '' },
    input,
  );
  const row = await withTenant(services.database, ctx, async (scope) => {
    const [created] = await scope.tx
      .insert(channels)
      .values({
        orgId: ctx.orgId,
        kind: input.kind,
        name: input.name,
        address,
        fromName: input.from_name ?? null,
        settings,
        secrets: sealSecrets(services, secrets),
      })
      .returning();
    if (created!.kind === 'email' && settings.imap) await scheduleSync(services, scope.conn, created!, 0);
    return created!;
  });
  return channelViewOf(services, row);
}

export async function listChannels(services: Services, ctx: TenantContext): Promise<ChannelView[]> {
  const rows = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx.select().from(channels).where(eq(channels.orgId, ctx.orgId)).orderBy(desc(channels.createdAt)),
    { readOnly: true },
  );
  return rows.map((r) => channelViewOf(services, r));
}

export async function loadChannel(services: Services, ctx: TenantContext, id: string): Promise<ChannelRow> {
  const [row] = await withTenant(
    services.database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(channels)
        .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, id))),
    { readOnly: true },
  );
  if (!row) throw notFound('Channel', id);
  return row;
}

export async function getChannel(services: Services, ctx: TenantContext, id: string): Promise<ChannelView> {
  return channelViewOf(services, await loadChannel(services, ctx, id));
}

export async function updateChannel(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: ChannelUpdateInput,
): Promise<ChannelView> {
  const row = await loadChannel(services, ctx, id);
  const { settings, secrets, address } = settle(
    row.kind,
    { settings: row.settings, secrets: secretsOf(services, row), address: row.address },
    input,
  );
  const updated = await withTenant(services.database, ctx, async (scope) => {
    const [u] = await scope.tx
      .update(channels)
      .set({
        name: input.name ?? row.name,
        address,
        fromName: input.from_name === undefined ? row.fromName : input.from_name,
        settings,
        secrets: sealSecrets(services, secrets),
        status: input.status ?? row.status,
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, id)))
      .returning();
    if (!u) throw notFound('Channel', id);
    if (u.kind === 'email' && settings.imap && u.status === 'active')
      await scheduleSync(services, scope.conn, u, 0);
    return u;
  });
  return channelViewOf(services, updated);
}

export async function deleteChannel(services: Services, ctx: TenantContext, id: string): Promise<void> {
  const deleted = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .delete(channels)
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, id)))
      .returning({ id: channels.id }),
  );
  if (deleted.length === 0) throw notFound('Channel', id);
}

/** The queue of the mailbox polling: one job per channel, re-armed after each sync. */
export const CHANNEL_SYNC_QUEUE = 'channel.sync';
export type SyncJob = { org_id: string; channel_id: string; not_before?: number };

export async function scheduleSync(
  services: Services,
  conn: Parameters<Services['jobs']['send']>[0],
  row: { orgId: string; id: string },
  inSeconds: number,
): Promise<void> {
  await services.jobs.send(
    conn,
    CHANNEL_SYNC_QUEUE,
    { org_id: row.orgId, channel_id: row.id, not_before: Date.now() + inSeconds * 1000 },
    { startAfter: inSeconds, singletonKey: `channel-sync:${row.id}` },
  );
}

/** The IMAP client of a channel (https://imapflow.com). */
export function imapClientOf(
  services: Services,
  row: ChannelRow,
  overrides: Partial<ConstructorParameters<typeof ImapFlow>[0]> = {},
): ImapFlow {
  const imap = row.settings.imap;
  if (!imap) throw badRequest('The channel has no IMAP server', 'body.imap');
  return new ImapFlow({
    host: imap.host,
    port: imap.port,
    secure: imap.secure,
    auth: { user: imap.user, pass: secretsOf(services, row).imap_password ?? '' },
    logger: false,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
    // A self-hosted mailbox may use its own certificate; STARTTLS is used when offered.
    tls: { rejectUnauthorized: false },
    ...overrides,
  });
}

/** The SMTP transport of a channel (nodemailer). */
export function smtpTransportOf(services: Services, row: ChannelRow) {
  const smtp = row.settings.smtp;
  if (!smtp) throw badRequest('The channel has no SMTP server', 'body.smtp');
  const password = secretsOf(services, row).smtp_password;
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    tls: { rejectUnauthorized: false },
  });
}

type Pooled = {
  key: string;
  transport: ReturnType<typeof nodemailer.createTransport>;
  idle?: NodeJS.Timeout;
};
const pools = new Map<string, Pooled>();
/** How long a mailbox's pooled SMTP connections stay open without a message to send. */
const POOL_IDLE_MS = 15_000;

/**
 * The pooled SMTP transport of a channel, kept across sends (issue 25: a new connection, greeting
 * and login per message held a send batch to a few messages a second): up to 5 connections of
 * up to 100 messages each, closed after 15 s without a send or when the channel's settings
 * change (its `updated_at`).
 */
export function pooledSmtpTransportOf(services: Services, row: ChannelRow) {
  const key = `${row.updatedAt}`;
  let pool = pools.get(row.id);
  if (pool && pool.key !== key) {
    pool.transport.close();
    pools.delete(row.id);
    pool = undefined;
  }
  if (!pool) {
    const smtp = row.settings.smtp;
    if (!smtp) throw badRequest('The channel has no SMTP server', 'body.smtp');
    const password = secretsOf(services, row).smtp_password;
    pool = {
      key,
      transport: nodemailer.createTransport({
        pool: true,
        maxConnections: 5,
        maxMessages: 100,
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
        tls: { rejectUnauthorized: false },
      }),
    };
    pools.set(row.id, pool);
  }
  const current = pool;
  if (current.idle) clearTimeout(current.idle);
  current.idle = setTimeout(() => {
    if (pools.get(row.id) === current) pools.delete(row.id);
    current.transport.close();
  }, POOL_IDLE_MS);
  current.idle.unref();
  return current.transport;
}

/** Closes every pooled SMTP connection (on shutdown). */
export function closeSmtpPools(): void {
  for (const pool of pools.values()) {
    if (pool.idle) clearTimeout(pool.idle);
    pool.transport.close();
  }
  pools.clear();
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

/** Connects to each server of the channel and reports what answered. */
export async function testChannel(services: Services, ctx: TenantContext, id: string) {
  const row = await loadChannel(services, ctx, id);
  const checks: {
    part: 'smtp' | 'imap' | 'twilio' | 'local' | 'provider' | 'meta';
    ok: boolean;
    error: string | null;
  }[] = [];
  const check = async (part: (typeof checks)[number]['part'], fn: () => Promise<unknown>) => {
    try {
      await fn();
      checks.push({ part, ok: true, error: null });
    } catch (error) {
      checks.push({ part, ok: false, error: reason(error) });
    }
  };
  if (row.kind === 'local') checks.push({ part: 'local', ok: true, error: null });
  if (row.settings.provider) await check('provider', () => checkProvider(services, row));
  if (row.settings.smtp && !row.settings.provider)
    await check('smtp', async () => {
      const transport = smtpTransportOf(services, row);
      try {
        await transport.verify();
      } finally {
        transport.close();
      }
    });
  if (row.settings.imap)
    await check('imap', async () => {
      const client = imapClientOf(services, row);
      client.on('error', () => {});
      await client.connect();
      await client.logout();
    });
  if (row.kind === 'sms')
    await check('twilio', async () => {
      const twilio = twilioClient(services, row);
      await twilio.api.v2010.accounts(row.settings.twilio!.account_sid).fetch();
    });
  if (isMetaKind(row.kind))
    await check('meta', async () => {
      // The token reads the page (Messenger) or the account (Instagram): it is valid for it.
      const response = await graphCall(services, row, `${encodeURIComponent(row.address)}?fields=id,name`, {
        method: 'GET',
      });
      if (response.status !== 200) throw new Error(graphReason(response).error);
    });
  for (const c of checks)
    if (c.part !== 'local')
      await recordIntegration(services, ctx.orgId, {
        kind: c.part,
        ref: row.id,
        name: row.name,
        ok: c.ok,
        error: c.error,
      });
  return { ok: checks.every((c) => c.ok), checks };
}
