import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The unsubscribe token of a sequence e-mail (issue 25): `<enrollment>.<org>.<mac>`, the ids as
 * 32 hex digits and the MAC an HMAC-SHA256 of both under a key derived from the install's SECRET,
 * cut to 128 bits. It never expires: an old e-mail's link must still work (RFC 8058 §3.1 asks
 * the one-click URL to keep working for the life of the message).
 */
export type UnsubscribeToken = { orgId: string; enrollmentId: string };

const hex = (uuid: string) => uuid.replaceAll('-', '');
const uuid = (h: string) =>
  `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const macOf = (secret: string, body: string) =>
  createHmac('sha256', createHmac('sha256', secret).update('cairn unsubscribe v1').digest())
    .update(body)
    .digest()
    .subarray(0, 16);

export function signUnsubscribe(secret: string, t: UnsubscribeToken): string {
  const body = `${hex(t.enrollmentId)}.${hex(t.orgId)}`;
  return `${body}.${macOf(secret, body).toString('base64url')}`;
}

/** The token's ids when its MAC holds, else null. */
export function readUnsubscribe(secret: string, token: string): UnsubscribeToken | null {
  const m = /^([0-9a-f]{32})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) return null;
  const given = Buffer.from(m[3]!, 'base64url');
  const expected = macOf(secret, `${m[1]}.${m[2]}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { enrollmentId: uuid(m[1]!), orgId: uuid(m[2]!) };
}
