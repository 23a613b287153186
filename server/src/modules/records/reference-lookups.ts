// What a batch of record updates refers to, read once for all its items (contact-updates,
// company-updates, opportunity-updates): members, active companies and contacts, tags.
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { ensureTags, uniqueTagNames } from '../tags/tag.service.js';

/** References a batch of updates names, by kind. */
export type Wanted = { companies?: string[]; contacts?: string[]; members?: string[]; tags?: string[] };

/**
 * A batch's references, each read at most once: `read` fetches those it does not know yet (one
 * query per kind), the maps answer afterwards. A reference not found is kept as such (null, false).
 */
export class ReferenceLookups {
  /** Active company id -> its name; null: no such active company. */
  readonly company = new Map<string, string | null>();
  /** Active contact id -> its name as opportunity views show it; null: no such active contact. */
  readonly contact = new Map<string, string | null>();
  /** User id -> whether they are a member of the tenant. */
  readonly member = new Map<string, boolean>();
  /** Lower-cased tag name -> its stored spelling (`ensureTags` creates the new ones). */
  readonly tag = new Map<string, string>();

  constructor(protected readonly scope: TenantScope) {}

  /** The values of `wanted` not read yet, marked as read with `missing`. */
  protected unknown<V>(map: Map<string, V>, wanted: string[] | undefined, missing: V): string[] {
    const fresh = [...new Set(wanted ?? [])].filter((x) => !map.has(x));
    for (const x of fresh) map.set(x, missing);
    return fresh;
  }

  protected async query<T>(text: string, values: string[]): Promise<T[]> {
    if (values.length === 0) return [];
    return (await this.scope.conn.query(text, [this.scope.ctx.orgId, values])).rows as T[];
  }

  async read(wanted: Wanted): Promise<void> {
    for (const r of await this.query<{ id: string; name: string }>(
      'select id, name from companies where org_id = $1 and id = any($2::uuid[]) and archived_at is null',
      this.unknown(this.company, wanted.companies, null),
    ))
      this.company.set(r.id, r.name);
    for (const r of await this.query<{ id: string; name: string }>(
      `select id, coalesce(nullif(concat_ws(' ', first_name, last_name), ''), email, 'Unnamed contact') as name
         from contacts where org_id = $1 and id = any($2::uuid[]) and archived_at is null`,
      this.unknown(this.contact, wanted.contacts, null),
    ))
      this.contact.set(r.id, r.name);
    for (const r of await this.query<{ id: string }>(
      'select user_id as id from members where organization_id = $1 and user_id = any($2::uuid[])',
      this.unknown(this.member, wanted.members, false),
    ))
      this.member.set(r.id, true);
    const tags = (wanted.tags ?? []).map((t) => t.trim()).filter((t) => t && !this.tag.has(t.toLowerCase()));
    if (tags.length > 0)
      for (const name of await ensureTags(this.scope, tags)) this.tag.set(name.toLowerCase(), name);
  }

  /** Tags as `ensureTags` stores them: trimmed, one per case-insensitive name, existing spelling. */
  tags(names: readonly string[]): string[] {
    return uniqueTagNames(names).map((n) => this.tag.get(n.toLowerCase()) ?? n);
  }

  /** @throws 422 `reference_not_found` at `path` unless `userId` is a member (read first) */
  assertMember(userId: string, path: string): void {
    if (!this.member.get(userId))
      throw new AppError(422, 'reference_not_found', 'No member of this organization has this id', { path });
  }
}
