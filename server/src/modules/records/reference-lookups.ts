// What a batch of record updates refers to, read once for all its items (contact-updates,
// company-updates, opportunity-updates): members, active companies and contacts, tags.

import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { normalizeTag } from '../../platform/registry/field-values.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
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
  /** Lower-cased tag name -> its stored spelling, or for a new tag the one `uniqueTagNames` keeps. */
  readonly tag = new Map<string, string>();
  /** Lower-cased names of the new tags read: `saveTags` creates those a written record uses. */
  private readonly unsaved = new Set<string>();

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

  /** Active records of `object` by id -> their name, as the registry names them (`titleSql`). */
  private async readTitles(object: string, map: Map<string, string | null>, wanted: string[] | undefined) {
    const def = STANDARD_OBJECTS[object]!;
    for (const r of await this.query<{ id: string; name: string }>(
      `select r.id, ${def.titleSql!('r')} as name from ${def.table} r
        where r.org_id = $1 and r.id = any($2::uuid[]) and r.archived_at is null`,
      this.unknown(map, wanted, null),
    ))
      map.set(r.id, r.name);
  }

  async read(wanted: Wanted): Promise<void> {
    await this.readTitles('company', this.company, wanted.companies);
    await this.readTitles('contact', this.contact, wanted.contacts);
    for (const r of await this.query<{ id: string }>(
      'select user_id as id from members where organization_id = $1 and user_id = any($2::uuid[])',
      this.unknown(this.member, wanted.members, false),
    ))
      this.member.set(r.id, true);
    const tags = uniqueTagNames(wanted.tags ?? []).filter((t) => !this.tag.has(normalizeTag(t)));
    for (const r of await this.query<{ name: string }>(
      'select name from tags where org_id = $1 and lower(name) = any($2::text[])',
      tags.map((t) => normalizeTag(t)),
    ))
      this.tag.set(normalizeTag(r.name), r.name);
    for (const t of tags)
      if (!this.tag.has(normalizeTag(t))) {
        this.tag.set(normalizeTag(t), t);
        this.unsaved.add(normalizeTag(t));
      }
  }

  /**
   * Creates the new tags (read by `read`, not stored yet) among `used`: the tags of the records a
   * batch writes, so a tag only a refused item named is never created. Call it before writing them.
   */
  async saveTags(used: readonly string[]): Promise<void> {
    const names = uniqueTagNames(used).filter((n) => this.unsaved.has(normalizeTag(n)));
    if (names.length === 0) return;
    for (const name of await ensureTags(this.scope, names)) {
      this.tag.set(normalizeTag(name), name);
      this.unsaved.delete(normalizeTag(name));
    }
  }

  /** Tags as `ensureTags` stores them: trimmed, one per case-insensitive name, existing spelling. */
  tags(names: readonly string[]): string[] {
    return uniqueTagNames(names).map((n) => this.tag.get(normalizeTag(n)) ?? n);
  }

  /** @throws 422 `reference_not_found` at `path` unless `userId` is a member (read first) */
  assertMember(userId: string, path: string): void {
    if (!this.member.get(userId))
      throw new AppError(422, 'reference_not_found', 'No member of this organization has this id', { path });
  }
}
