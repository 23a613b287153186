import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a download link grants: one file of one organization, until `exp` (seconds since the epoch). */
export type FileLinkClaims = { org: string; file: string; exp: number };

/** Bytes of the HMAC kept in a token (128 bits; RFC 2104 §5 allows truncation to half the hash or more). */
const MAC_BYTES = 16;

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const uuidOf = (bytes: Buffer) => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
const mac = (secret: string, payload: Buffer) =>
  createHmac('sha256', secret).update('cairn-file-link.').update(payload).digest().subarray(0, MAC_BYTES);

/**
 * A download token: the organization's and the file's ids and the expiry (36 bytes) followed by
 * their HMAC-SHA256 under the server secret, base64url: 70 characters, short enough for a path
 * segment. The token is the capability: whoever holds it may download that file until it expires.
 */
export function signFileLink(secret: string, claims: FileLinkClaims): string {
  const exp = Buffer.alloc(4);
  exp.writeUInt32BE(claims.exp);
  const payload = Buffer.concat([uuidBytes(claims.org), uuidBytes(claims.file), exp]);
  return Buffer.concat([payload, mac(secret, payload)]).toString('base64url');
}

/** The claims of a token this server signed and that has not expired; undefined otherwise. */
export function verifyFileLink(secret: string, token: string, now = Date.now()): FileLinkClaims | undefined {
  if (!/^[A-Za-z0-9_-]{60,80}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length !== 36 + MAC_BYTES) return undefined;
  const payload = raw.subarray(0, 36);
  if (!timingSafeEqual(raw.subarray(36), mac(secret, payload))) return undefined;
  const exp = payload.readUInt32BE(32);
  if (exp * 1000 < now) return undefined;
  return { org: uuidOf(payload.subarray(0, 16)), file: uuidOf(payload.subarray(16, 32)), exp };
}
