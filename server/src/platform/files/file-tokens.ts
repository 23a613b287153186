import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a download link grants: one file of one organization, until `exp` (seconds since the epoch). */
export type FileLinkClaims = { org: string; file: string; exp: number };

const sign = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(`cairn-file-link.${payload}`).digest('base64url');

/**
 * A download token: the claims (base64url JSON) and their HMAC-SHA256 under the server secret.
 * The token is the capability: whoever holds it may download that file until it expires.
 */
export function signFileLink(secret: string, claims: FileLinkClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The claims of a token this server signed and that has not expired; undefined otherwise. */
export function verifyFileLink(secret: string, token: string, now = Date.now()): FileLinkClaims | undefined {
  const [payload, mac, ...rest] = token.split('.');
  if (!payload || !mac || rest.length > 0) return undefined;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as FileLinkClaims;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < now) return undefined;
    if (typeof claims.org !== 'string' || typeof claims.file !== 'string') return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
