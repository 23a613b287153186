import { APIError } from 'better-auth/api';
import type { Database } from '../../db/client.js';

/** Failed sign-ins that lock an account, and for how long (OWASP Authentication Cheat Sheet). */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MINUTES = 15;

/**
 * Per-account lockout: after 5 failed sign-ins (within 15 minutes of each other) the account is
 * locked for 15 minutes, whatever the password offered. Kept in the database so every server
 * process sees the same count. Unknown e-mails are counted too, so lockout reveals nothing.
 */
export function lockoutGuard(database: Database) {
  const normalize = (email: string) => email.trim().toLowerCase();
  return {
    /** @throws APIError 429 `ACCOUNT_LOCKED` with Retry-After while the account is locked */
    async assertNotLocked(email: string): Promise<void> {
      const { rows } = await database.raw.query<{ seconds: number }>(
        `select ceil(extract(epoch from locked_until - now()))::int as seconds
           from sign_in_failures where email = $1 and locked_until > now()`,
        [normalize(email)],
      );
      const seconds = rows[0]?.seconds;
      if (seconds !== undefined) {
        throw new APIError(
          'TOO_MANY_REQUESTS',
          {
            code: 'ACCOUNT_LOCKED',
            message: `Too many failed sign-ins. This account is locked for ${Math.ceil(seconds / 60)} more minute(s).`,
          },
          { 'Retry-After': String(seconds) },
        );
      }
    },
    /** Counts a failed sign-in; true when this one locked the account. */
    async recordFailure(email: string): Promise<boolean> {
      const { rows } = await database.raw.query<{ failures: number }>(
        `insert into sign_in_failures as s (email, failures, locked_until, updated_at)
         values ($1, 1, null, now())
         on conflict (email) do update set
           failures = excluded.failures + (case when s.updated_at < now() - make_interval(mins => $3)
                                                  or s.locked_until <= now() then 0 else s.failures end),
           locked_until = case when 1 + (case when s.updated_at < now() - make_interval(mins => $3)
                                               or s.locked_until <= now() then 0 else s.failures end) >= $2
                                then now() + make_interval(mins => $3) else null end,
           updated_at = now()
         returning failures`,
        [normalize(email), LOCKOUT_THRESHOLD, LOCKOUT_MINUTES],
      );
      return rows[0]?.failures === LOCKOUT_THRESHOLD;
    },
    async recordSuccess(email: string): Promise<void> {
      await database.raw.query('delete from sign_in_failures where email = $1', [normalize(email)]);
    },
  };
}
