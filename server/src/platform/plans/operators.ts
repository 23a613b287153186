import type { Database } from '../../db/client.js';
import { ExpiringCache } from '../cache/expiring-cache.js';

/**
 * Operators of the install (issue 30): a role above organizations, held by users listed in the
 * install-level `install_operators` table. Security model: the table is revoked from `cairn_app`
 * (no tenant transaction sees it) and nothing in the API writes it; a row is added or removed only
 * by `cairn operator grant|revoke <email>`, run by whoever runs the install with its database
 * credentials. The operator routes check `isOperator` on every request and answer 404 to anyone
 * else, so they are not discoverable by probing.
 */
const cache = new ExpiringCache<boolean>(5_000, 10_000);

/** Whether `userId` is an operator of the install (cached 5 s per process). */
export async function isOperator(database: Database, userId: string): Promise<boolean> {
  const found = await cache.get(userId, async () => {
    const { rows } = await database.raw.query('select 1 from install_operators where user_id = $1', [userId]);
    return rows.length > 0;
  });
  return found === true;
}

/** Makes the user with `email` an operator. @returns false when no user has that address */
export async function grantOperator(database: Database, email: string, grantedBy: string): Promise<boolean> {
  const { rows } = await database.raw.query<{ user_id: string }>(
    `insert into install_operators (user_id, granted_by)
     select id, $2 from users where lower(email) = lower($1)
     on conflict (user_id) do nothing returning user_id`,
    [email, grantedBy],
  );
  const { rows: existing } = await database.raw.query<{ id: string }>(
    'select id from users where lower(email) = lower($1)',
    [email],
  );
  if (existing[0]) cache.delete(existing[0].id);
  return rows.length > 0 || existing.length > 0;
}

/** Takes the operator role from `email`'s user. @returns whether they held it */
export async function revokeOperator(database: Database, email: string): Promise<boolean> {
  const { rows } = await database.raw.query<{ user_id: string }>(
    `delete from install_operators where user_id in (select id from users where lower(email) = lower($1))
     returning user_id`,
    [email],
  );
  for (const row of rows) cache.delete(row.user_id);
  return rows.length > 0;
}

/** The operators, by e-mail (for `cairn operator list`). */
export async function listOperators(database: Database): Promise<{ email: string; granted_at: string }[]> {
  const { rows } = await database.raw.query<{ email: string; granted_at: Date | string }>(
    `select u.email, o.granted_at from install_operators o join users u on u.id = o.user_id order by u.email`,
  );
  return rows.map((r) => ({ email: r.email, granted_at: new Date(r.granted_at).toISOString() }));
}
