import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import type { Database } from '../../db/client.js';
import { isId, newId } from '../../db/ids.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Right } from '../access/access-profile.types.js';
import { isRole, type Role } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import { type AuditSource, appendAudit } from '../audit/audit.js';
import { notFound } from '../errors/app-error.js';
import { apiKeys } from './api-key.schema.js';
import { members } from './auth.schema.js';

/**
 * API keys (issue 22). A key reads `cairn_<ids><secret>`: `<ids>` is the key's id and its
 * organization's id (32 bytes, base64url: not secret, they tell the server where to look), and
 * `<secret>` 32 random bytes (base64url). Only the SHA-256 of the secret is stored; the whole key
 * is shown once, when it is issued. A request sends it as `Authorization: Bearer <key>` and acts
 * in the key's organization, as the key: a read-only key as a viewer, another as a user (never
 * an admin: keys do not manage members, settings or other keys). Revoked or expired: 401.
 */
export const API_KEY_PREFIX = 'cairn_';
const KEY_SHAPE = /^cairn_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{43})$/;

export type ApiKeyView = {
  id: string;
  name: string;
  prefix: string;
  read_only: boolean;
  /** The objects the key reaches and its rights on each; null: every object its role reaches. */
  scopes: Record<string, Right[]> | null;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'expired' | 'revoked';
};

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const uuidOf = (bytes: Buffer) => {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** The key's id, organization and secret, or null when the text is not shaped like a Cairn key. */
export function parseApiKey(token: string): { id: string; orgId: string; secret: string } | null {
  const m = KEY_SHAPE.exec(token);
  if (!m) return null;
  const ids = Buffer.from(m[1]!, 'base64url');
  if (ids.length !== 32) return null;
  const id = uuidOf(ids.subarray(0, 16));
  const orgId = uuidOf(ids.subarray(16));
  return isId(id) && isId(orgId) ? { id, orgId, secret: m[2]! } : null;
}

function viewOf(row: typeof apiKeys.$inferSelect): ApiKeyView {
  const iso = (v: Date | null) => v?.toISOString() ?? null;
  const expired = row.expiresAt !== null && row.expiresAt.getTime() <= Date.now();
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    read_only: row.readOnly,
    scopes: row.scopes ?? null,
    created_by: row.createdBy,
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    last_used_at: iso(row.lastUsedAt),
    revoked_at: iso(row.revokedAt),
    status: row.revokedAt ? 'revoked' : expired ? 'expired' : 'active',
  };
}

/** Issues a key; the answer's `key` is the only time the key is shown. Audited as `api_key.issued`. */
export async function issueApiKey(
  database: Database,
  ctx: TenantContext,
  source: AuditSource,
  input: {
    name: string;
    read_only: boolean;
    expires_at?: string | undefined;
    scopes?: Record<string, Right[]> | null | undefined;
  },
): Promise<ApiKeyView & { key: string }> {
  const id = newId();
  const secret = randomBytes(32).toString('base64url');
  const key = `${API_KEY_PREFIX}${Buffer.concat([uuidBytes(id), uuidBytes(ctx.orgId)]).toString('base64url')}${secret}`;
  const row = await withTenant(database, ctx, async (scope) => {
    const [created] = await scope.tx
      .insert(apiKeys)
      .values({
        orgId: ctx.orgId,
        id,
        name: input.name,
        prefix: `${key.slice(0, 12)}…${key.slice(-4)}`,
        secretHash: hashOf(secret),
        readOnly: input.read_only,
        scopes: input.scopes ?? null,
        createdBy: ctx.actor.id!,
        expiresAt: input.expires_at ? new Date(input.expires_at) : null,
      })
      .returning();
    await appendAudit(scope, source, {
      action: 'api_key.issued',
      target: { type: 'api_key', id },
      details: {
        name: input.name,
        read_only: input.read_only,
        scopes: input.scopes ?? null,
        expires_at: input.expires_at ?? null,
      },
    });
    return created!;
  });
  return { ...viewOf(row), key };
}

/** The organization's keys, newest first (revoked ones too, with their status). */
export async function listApiKeys(database: Database, ctx: TenantContext): Promise<ApiKeyView[]> {
  const rows = await withTenant(
    database,
    ctx,
    ({ tx }) => tx.select().from(apiKeys).where(eq(apiKeys.orgId, ctx.orgId)).orderBy(desc(apiKeys.id)),
    { readOnly: true },
  );
  return rows.map(viewOf);
}

/** Revokes a key at once (its next request is 401). @throws 404 for an id not of this organization */
export async function revokeApiKey(
  database: Database,
  ctx: TenantContext,
  source: AuditSource,
  id: string,
): Promise<void> {
  await withTenant(database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select({ revokedAt: apiKeys.revokedAt, name: apiKeys.name })
      .from(apiKeys)
      .where(and(eq(apiKeys.orgId, ctx.orgId), eq(apiKeys.id, id)))
      .for('update');
    if (!row) throw notFound('API key', id);
    if (row.revokedAt) return; // already revoked: nothing changes
    await scope.tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.orgId, ctx.orgId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
    await appendAudit(scope, source, {
      action: 'api_key.revoked',
      target: { type: 'api_key', id },
      details: { name: row.name },
    });
  });
}

/** How often a key's `last_used_at` is written, at most (a busy key does not write on every request). */
const LAST_USED_EVERY_MS = 60_000;

/**
 * The principal of an `Authorization: Bearer cairn_...` header, or null when the key is unknown,
 * revoked, expired or malformed (the request is then answered 401).
 */
export async function resolveApiKey(database: Database, token: string): Promise<Principal | null> {
  const parsed = parseApiKey(token);
  if (!parsed) return null;
  const ctx: TenantContext = { orgId: parsed.orgId, actor: { type: 'api_key', id: parsed.id } };
  const row = await withTenant(database, ctx, async ({ tx }) => {
    const [key] = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.orgId, parsed.orgId), eq(apiKeys.id, parsed.id)));
    if (!key) return null;
    const given = Buffer.from(hashOf(parsed.secret));
    if (!timingSafeEqual(given, Buffer.from(key.secretHash))) return null;
    if (key.revokedAt) return null;
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return null;
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_EVERY_MS) {
      await tx
        .update(apiKeys)
        .set({ lastUsedAt: new Date() })
        .where(and(eq(apiKeys.orgId, parsed.orgId), eq(apiKeys.id, parsed.id)));
    }
    // A key never exceeds its creator's role: a creator who left takes their keys' access along.
    const [creator] = await tx
      .select({ role: members.role })
      .from(members)
      .where(and(eq(members.organizationId, parsed.orgId), eq(members.userId, key.createdBy)));
    return creator ? { key, creatorRole: creator.role } : null;
  });
  if (!row) return null;
  const { key, creatorRole } = row;
  const customRole = isRole(creatorRole) ? undefined : creatorRole;
  const own: Role = key.readOnly ? 'viewer' : 'user';
  return {
    type: 'api_key',
    userId: key.createdBy,
    email: '',
    name: key.name,
    sessionId: '',
    apiKeyId: key.id,
    orgId: key.orgId,
    role: creatorRole === 'viewer' ? 'viewer' : own,
    customRole,
    apiKey: { scopes: key.scopes ?? null, readOnly: key.readOnly },
  };
}

/** The bearer token of a request, if it sends one. */
export function bearerTokenOf(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

/**
 * A principal resolver that takes an API key (`Authorization: Bearer`) first, and the session
 * cookie otherwise. A request that sends an Authorization header is judged by it alone.
 */
export function withApiKeys(
  database: Database,
  sessions: (req: FastifyRequest) => Promise<Principal | null>,
): (req: FastifyRequest) => Promise<Principal | null> {
  return async (req) => {
    const token = bearerTokenOf(req);
    if (token === null) return sessions(req);
    return token ? resolveApiKey(database, token) : null;
  };
}
