import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { readRecord } from '../workflows/workflow-records.js';
import { renderVariables, templateVariables } from '../workflows/workflow-templates.js';
import { memberSignatures, messageTemplates } from './message-template.schema.js';

/**
 * Message templates and signatures (issue 23). A template's text is rendered for one contact with
 * the sequences' renderer (`renderVariables`): `{{contact.<field>}}` (standard and custom fields),
 * `{{sender.name}}` / `{{sender.email}}` (the channel's identity), and the short forms
 * `{{first_name}}` (any contact field) and `{{company}}` (the primary company's name). Unlike a
 * sequence at run time, a message sent by a person is checked strictly: a variable that names no
 * field is a 422 `unknown_variable`, so a raw `{{...}}` never reaches a recipient.
 */

const SHORTCUT = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const Kind = z.enum(['email', 'sms', 'any']);

export const MessageTemplate = z
  .object({
    id: z.uuid(),
    name: z.string(),
    shortcut: z.string().describe('What typing `/` in a reply box finds it by'),
    kind: Kind.describe('`email`, `sms`, or `any` (offered on every channel)'),
    subject: z.string().nullable(),
    body: z.string(),
    variables: z.array(z.string()).describe('The variables its subject and body use'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'MessageTemplate' });
export type MessageTemplateView = z.infer<typeof MessageTemplate>;

export const MessageTemplateCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  shortcut: z
    .string()
    .trim()
    .toLowerCase()
    .regex(SHORTCUT, 'Lower-case letters, digits, - and _ (at most 40)')
    .optional()
    .describe('Default: made from the name'),
  kind: Kind.default('any'),
  subject: z.string().trim().max(500).nullable().optional(),
  body: z.string().min(1).max(20_000),
});
export const MessageTemplateUpdate = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  shortcut: z
    .string()
    .trim()
    .toLowerCase()
    .regex(SHORTCUT, 'Lower-case letters, digits, - and _ (at most 40)')
    .optional(),
  kind: Kind.optional(),
  subject: z.string().trim().max(500).nullable().optional(),
  body: z.string().min(1).max(20_000).optional(),
});

export const RenderInput = z.strictObject({
  text: z.string().max(100_000),
  subject: z.string().max(500).optional(),
  conversation_id: z
    .uuid()
    .optional()
    .describe('Render for the contact of this conversation, from its channel'),
  contact_id: z.uuid().optional().describe('Or for this contact (the contact page’s composer)'),
  channel_id: z.uuid().optional().describe('The channel sending it (`{{sender.name}}`)'),
});
export const Rendered = z
  .object({
    text: z.string(),
    subject: z.string().nullable(),
    variables: z.array(z.string()).describe('The variables that were filled'),
  })
  .meta({ id: 'RenderedMessage' });

export const Signature = z
  .object({ signature: z.string().nullable().describe('Appended to the e-mails you send, not to SMS') })
  .meta({ id: 'Signature' });
export const SignatureUpdate = z.strictObject({
  signature: z.string().max(5_000).nullable(),
});

const iso = (v: unknown) => new Date(v as string).toISOString();
const viewOf = (r: typeof messageTemplates.$inferSelect): MessageTemplateView => ({
  id: r.id,
  name: r.name,
  shortcut: r.shortcut,
  kind: r.kind,
  subject: r.subject,
  body: r.body,
  variables: [...new Set(templateVariables(`${r.subject ?? ''} ${r.body}`))],
  created_at: iso(r.createdAt),
  updated_at: iso(r.updatedAt),
});

const shortcutOf = (name: string) =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'template';

export async function listMessageTemplates(
  services: Services,
  ctx: TenantContext,
  kind?: 'email' | 'sms' | undefined,
): Promise<MessageTemplateView[]> {
  return withTenant(
    services.database,
    ctx,
    async ({ tx }) => {
      const rows = await tx
        .select()
        .from(messageTemplates)
        .where(
          and(
            eq(messageTemplates.orgId, ctx.orgId),
            kind ? sql`${messageTemplates.kind} in (${kind}, 'any')` : undefined,
          ),
        )
        .orderBy(asc(messageTemplates.name), asc(messageTemplates.id))
        .limit(500);
      return rows.map(viewOf);
    },
    { readOnly: true },
  );
}

async function loadTemplate(scope: TenantScope, id: string) {
  const [row] = await scope.tx
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, scope.ctx.orgId), eq(messageTemplates.id, id)));
  if (!row) throw notFound('Message template', id);
  return row;
}

export async function getMessageTemplate(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) => viewOf(await loadTemplate(scope, id)), {
    readOnly: true,
  });
}

const takenShortcut = (shortcut: string) =>
  conflict(`The shortcut /${shortcut} is taken by another template`, 'body.shortcut', 'duplicate_key');

async function assertShortcutFree(scope: TenantScope, shortcut: string, except?: string) {
  const { rows } = await scope.conn.query(
    'select 1 from message_templates where org_id = $1 and shortcut = $2 and id is distinct from $3',
    [scope.ctx.orgId, shortcut, except ?? null],
  );
  if (rows.length) throw takenShortcut(shortcut);
}

/** Checks a template's variables against the contact's fields (unknown: 422 at its path). */
async function assertKnownVariables(scope: TenantScope, text: string | null | undefined, path: string) {
  if (!text) return;
  const known = await knownVariables(scope);
  for (const name of templateVariables(text))
    if (!known.has(canonical(name))) throw unknownVariable(name, path);
}

export async function createMessageTemplate(
  services: Services,
  ctx: TenantContext,
  input: z.infer<typeof MessageTemplateCreate>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const shortcut = input.shortcut ?? shortcutOf(input.name);
    await assertShortcutFree(scope, shortcut);
    await assertKnownVariables(scope, input.subject, 'body.subject');
    await assertKnownVariables(scope, input.body, 'body.body');
    const [row] = await scope.tx
      .insert(messageTemplates)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        shortcut,
        kind: input.kind,
        subject: input.subject ?? null,
        body: input.body,
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    return viewOf(row!);
  });
}

export async function updateMessageTemplate(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: z.infer<typeof MessageTemplateUpdate>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    await loadTemplate(scope, id);
    if (input.shortcut) await assertShortcutFree(scope, input.shortcut, id);
    await assertKnownVariables(scope, input.subject, 'body.subject');
    await assertKnownVariables(scope, input.body, 'body.body');
    const [row] = await scope.tx
      .update(messageTemplates)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.shortcut !== undefined ? { shortcut: input.shortcut } : {}),
        ...(input.kind !== undefined ? { kind: input.kind } : {}),
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
        ...(input.body !== undefined ? { body: input.body } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(messageTemplates.orgId, ctx.orgId), eq(messageTemplates.id, id)))
      .returning();
    return viewOf(row!);
  });
}

export async function deleteMessageTemplate(services: Services, ctx: TenantContext, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    await loadTemplate(scope, id);
    await scope.tx
      .delete(messageTemplates)
      .where(and(eq(messageTemplates.orgId, ctx.orgId), eq(messageTemplates.id, id)));
  });
}

// ---- Rendering ---------------------------------------------------------------------------------

const SENDER_KEYS = ['name', 'email'];

/** `first_name` -> `contact.first_name`, `company` -> `contact.company`; rooted names stay. */
const canonical = (name: string) => (name.includes('.') ? name : `contact.${name}`);

export const unknownVariable = (name: string, path: string) =>
  new AppError(
    422,
    'unknown_variable',
    `{{${name}}} is not a variable: use a contact field ({{first_name}}, {{company}}, a custom field's key) or {{sender.name}}`,
    { path, errors: [{ path, code: 'unknown_variable', message: `Unknown variable {{${name}}}` }] },
  );

/** The variable names a message may use in this organization: `contact.<field>`, `sender.<key>`. */
async function knownVariables(scope: TenantScope): Promise<Set<string>> {
  const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, 'contact');
  const known = new Set<string>(['contact.company', ...SENDER_KEYS.map((k) => `sender.${k}`)]);
  for (const f of def.fields) if (!f.retired) known.add(`contact.${f.key}`);
  return known;
}

export type RenderTarget = {
  contactId: string | null;
  sender: { name: string | null; email: string } | null;
};

/**
 * `text` with its variables filled for the target's contact and sender. @throws 422
 * `unknown_variable` (at `path`) for a name that is no field, or a contact variable when there is
 * no contact to read it from.
 */
/** `{{first_name}}` -> `{{contact.first_name}}`: a template's text in the sequences' rooted form. */
const rooted = (text: string) =>
  text.replace(/\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g, (_, n: string) => `{{${canonical(n)}}}`);

/** A stored template as another module renders it (a sequence step, issue 25). */
export type TemplateText = {
  id: string;
  kind: 'email' | 'sms' | 'any';
  /** The subject and body with their short forms rooted (`{{contact.first_name}}`, `{{contact.company}}`). */
  subject: string | null;
  body: string;
};

/**
 * The organization's templates among `ids`, in the caller's transaction, their texts in the
 * rooted form `renderVariables` fills (`{{contact.company}}` needs `companyNamesIn`). An id of no
 * template of the organization is absent from the map.
 */
export async function templatesIn(scope: TenantScope, ids: string[]): Promise<Map<string, TemplateText>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows = await scope.tx
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, scope.ctx.orgId), inArray(messageTemplates.id, wanted)));
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        kind: r.kind,
        subject: r.subject === null ? null : rooted(r.subject),
        body: rooted(r.body),
      },
    ]),
  );
}

/** Each contact's primary company's name (`{{company}}`), in the caller's transaction. */
export async function companyNamesIn(scope: TenantScope, contactIds: string[]): Promise<Map<string, string>> {
  if (contactIds.length === 0) return new Map();
  const { rows } = await scope.conn.query<{ contact_id: string; name: string }>(
    `select distinct on (cc.contact_id) cc.contact_id, co.name
       from contact_companies cc join companies co on co.org_id = cc.org_id and co.id = cc.company_id
      where cc.org_id = $1 and cc.contact_id = any($2::uuid[]) and co.archived_at is null
      order by cc.contact_id, cc.is_primary desc, co.name`,
    [scope.ctx.orgId, [...new Set(contactIds)]],
  );
  return new Map(rows.map((r) => [r.contact_id, r.name]));
}

export async function renderForIn(
  scope: TenantScope,
  target: RenderTarget,
  text: string,
  path: string,
): Promise<{ text: string; variables: string[] }> {
  const names = [...new Set(templateVariables(text))];
  if (names.length === 0) return { text, variables: [] };
  const known = await knownVariables(scope);
  for (const name of names) if (!known.has(canonical(name))) throw unknownVariable(name, path);
  let contact: Record<string, unknown> = {};
  if (names.some((n) => canonical(n).startsWith('contact.'))) {
    if (!target.contactId)
      throw new AppError(
        422,
        'unknown_variable',
        'This conversation has no contact to fill the variables from: make the sender a contact first',
        { path },
      );
    const def = await cachedObjectDef(scope.tx, scope.ctx.orgId, 'contact');
    contact = await readRecord(scope, def, target.contactId);
    const { rows } = await scope.conn.query<{ name: string }>(
      `select co.name from contact_companies cc join companies co on co.org_id = cc.org_id and co.id = cc.company_id
        where cc.org_id = $1 and cc.contact_id = $2 and co.archived_at is null
        order by cc.is_primary desc, co.name limit 1`,
      [scope.ctx.orgId, target.contactId],
    );
    contact = { ...contact, company: rows[0]?.name ?? '' };
  }
  const sender = { name: target.sender?.name ?? '', email: target.sender?.email ?? '' };
  return { text: renderVariables(rooted(text), { contact, sender }), variables: names };
}

/** Renders for a conversation (its contact and channel) or a contact (and a channel). */
export async function renderMessage(
  services: Services,
  ctx: TenantContext,
  input: z.infer<typeof RenderInput>,
): Promise<z.infer<typeof Rendered>> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      let contactId = input.contact_id ?? null;
      let channelId = input.channel_id ?? null;
      if (input.conversation_id) {
        const { rows } = await scope.conn.query<{ contact_id: string | null; channel_id: string }>(
          'select contact_id, channel_id from conversations where org_id = $1 and id = $2',
          [ctx.orgId, input.conversation_id],
        );
        if (!rows[0]) throw notFound('Conversation', input.conversation_id);
        contactId = rows[0].contact_id ?? contactId;
        channelId = rows[0].channel_id;
      } else if (contactId) {
        const { rows } = await scope.conn.query(
          'select 1 from contacts where org_id = $1 and id = $2 and archived_at is null',
          [ctx.orgId, contactId],
        );
        if (!rows[0]) throw notFound('Contact', contactId);
      }
      let sender: RenderTarget['sender'] = null;
      if (channelId) {
        const { rows } = await scope.conn.query<{ from_name: string | null; address: string }>(
          'select from_name, address from channels where org_id = $1 and id = $2',
          [ctx.orgId, channelId],
        );
        if (!rows[0]) throw notFound('Channel', channelId);
        sender = { name: rows[0].from_name, email: rows[0].address };
      }
      const target = { contactId, sender };
      const body = await renderForIn(scope, target, input.text, 'body.text');
      const subject =
        input.subject === undefined ? null : await renderForIn(scope, target, input.subject, 'body.subject');
      return {
        text: body.text,
        subject: subject?.text ?? null,
        variables: [...new Set([...body.variables, ...(subject?.variables ?? [])])],
      };
    },
    { readOnly: true },
  );
}

// ---- Signatures ----------------------------------------------------------------------------------

const userOf = (ctx: TenantContext) => (ctx.actor.type === 'user' ? ctx.actor.id : null);

/** The acting member's signature, in the caller's transaction (null for an API key or none set). */
export async function signatureIn(scope: TenantScope): Promise<string | null> {
  const user = userOf(scope.ctx);
  if (!user) return null;
  const [row] = await scope.tx
    .select({ signature: memberSignatures.signature })
    .from(memberSignatures)
    .where(and(eq(memberSignatures.orgId, scope.ctx.orgId), eq(memberSignatures.userId, user)));
  return row?.signature ?? null;
}

export async function getSignature(services: Services, ctx: TenantContext) {
  return withTenant(services.database, ctx, async (scope) => ({ signature: await signatureIn(scope) }), {
    readOnly: true,
  });
}

/** Sets (or, with null or blank, removes) the acting member's signature. API keys have none: 409. */
export async function setSignature(services: Services, ctx: TenantContext, signature: string | null) {
  const user = userOf(ctx);
  if (!user) throw conflict('A signature belongs to a member: sign in as one', undefined, 'invalid_state');
  const text = signature?.replace(/\s+$/, '') ?? '';
  return withTenant(services.database, ctx, async ({ tx }) => {
    if (!text.trim()) {
      await tx
        .delete(memberSignatures)
        .where(and(eq(memberSignatures.orgId, ctx.orgId), eq(memberSignatures.userId, user)));
      return { signature: null };
    }
    await tx
      .insert(memberSignatures)
      .values({ orgId: ctx.orgId, userId: user, signature: text })
      .onConflictDoUpdate({
        target: [memberSignatures.orgId, memberSignatures.userId],
        set: { signature: text, updatedAt: sql`now()` },
      });
    return { signature: text };
  });
}

/** `text` with the signature under the usual `-- ` separator (RFC 3676), for e-mail. */
export const withSignature = (text: string, signature: string | null) =>
  signature ? `${text.replace(/\s+$/, '')}\n\n-- \n${signature}` : text;
