import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signed link a customer opens a sent quote with (no sign-in): `<payload>.<signature>`, the
 * payload base64url of the organization's and the quote version's ids (16 bytes each) and the
 * expiry (Unix seconds, 4 bytes, big-endian); the signature its HMAC-SHA256 under a key derived
 * from the install's SECRET, cut to 128 bits (RFC 2104 §5: a truncated output of at least half
 * the hash). 72 characters: short enough for a path segment. The link is the customer's only
 * credential: it names one version of one quote of one organization, until the end of the day
 * the quote is valid until.
 */
export type QuoteLink = { orgId: string; quoteId: string; expiresAt: number };

const keyOf = (secret: string) => createHmac('sha256', secret).update('cairn quote link v1').digest();
const sign = (secret: string, payload: string) =>
  createHmac('sha256', keyOf(secret)).update(payload).digest().subarray(0, 16);
const bytesOf = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex');
const uuidOf = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export function signQuoteLink(secret: string, link: QuoteLink): string {
  const expiry = Buffer.alloc(4);
  expiry.writeUInt32BE(link.expiresAt);
  const payload = Buffer.concat([bytesOf(link.orgId), bytesOf(link.quoteId), expiry]).toString('base64url');
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

/** The link's content when its signature holds (expiry not checked here), else null. */
export function readQuoteLink(secret: string, token: string): QuoteLink | null {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || payload.length !== 48 || signature.length !== 22)
    return null;
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const bytes = Buffer.from(payload, 'base64url');
  if (bytes.length !== 36) return null;
  return {
    orgId: uuidOf(bytes.subarray(0, 16)),
    quoteId: uuidOf(bytes.subarray(16, 32)),
    expiresAt: bytes.readUInt32BE(32),
  };
}

/** The end (exclusive) of the day a quote is valid until, Unix seconds. */
export const linkExpiryOf = (validUntil: string): number =>
  Date.parse(`${validUntil}T00:00:00Z`) / 1000 + 86_400;
