import type { Database } from '../../db/client.js';
import { notFound } from '../errors/app-error.js';
import type { Auth } from './auth.js';
import { forgetCachedSessions } from './auth.routes.js';

export type SessionView = {
  id: string;
  created_at: string;
  last_active_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
};

type Row = {
  id: string;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
  ip_address: string | null;
  user_agent: string | null;
};

/** A user's live sessions, newest first; `current` marks the one asking. */
export async function listSessions(
  database: Database,
  userId: string,
  currentId: string,
): Promise<SessionView[]> {
  const { rows } = await database.raw.query<Row>(
    `select id, created_at, updated_at, expires_at, ip_address, user_agent from sessions
      where user_id = $1 and expires_at > now() order by created_at desc`,
    [userId],
  );
  return rows.map((r) => ({
    id: r.id,
    created_at: new Date(r.created_at).toISOString(),
    last_active_at: new Date(r.updated_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    ip: r.ip_address,
    user_agent: r.user_agent,
    current: r.id === currentId,
  }));
}

/** Ends one of a user's sessions. @throws 404 when the user has no session with this id */
export async function revokeSession(database: Database, userId: string, sessionId: string): Promise<void> {
  const { rows } = await database.raw.query(
    'delete from sessions where id = $1 and user_id = $2 returning id',
    [sessionId, userId],
  );
  if (rows.length === 0) throw notFound('Session', sessionId);
  forgetCachedSessions();
}

/** Ends every session of a user (an admin's action on a member); returns how many. */
export async function revokeAllSessions(database: Database, userId: string): Promise<number> {
  const { rows } = await database.raw.query('delete from sessions where user_id = $1 returning id', [userId]);
  forgetCachedSessions();
  return rows.length;
}

/**
 * Changes a user's password after checking the current one; by default the user's other sessions
 * end (issue 22). @returns false when the current password is wrong
 */
export async function changePassword(
  auth: Auth,
  database: Database,
  user: { userId: string; sessionId: string },
  input: { current: string; next: string; signOutOthers: boolean },
): Promise<boolean> {
  const context = await auth.$context;
  const accounts = await context.internalAdapter.findAccounts(user.userId);
  const credential = accounts.find((a) => a.providerId === 'credential' && a.password);
  if (!credential?.password) return false;
  if (!(await context.password.verify({ hash: credential.password, password: input.current }))) return false;
  await context.internalAdapter.updatePassword(user.userId, await context.password.hash(input.next));
  if (input.signOutOthers) {
    await database.raw.query('delete from sessions where user_id = $1 and id <> $2', [
      user.userId,
      user.sessionId,
    ]);
    forgetCachedSessions();
  }
  return true;
}
