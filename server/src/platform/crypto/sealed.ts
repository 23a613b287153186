import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets the server must read back (webhook signing secrets, a provider's access token), sealed
 * at rest with AES-256-GCM under a key derived from the server's SECRET and a purpose label, so a
 * database dump alone does not give them away and one purpose's key opens nothing of another's.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, base64url each.
 */
const keyOf = (serverSecret: string, purpose: string) =>
  createHash('sha256').update(`cairn:${purpose}:`).update(serverSecret).digest();

export function seal(serverSecret: string, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(serverSecret, purpose), iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** @throws when the box was sealed under another secret or purpose, or was tampered with */
export function unseal(serverSecret: string, purpose: string, sealed: string): string {
  const [version, iv, tag, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('Not a sealed value');
  const decipher = createDecipheriv(
    'aes-256-gcm',
    keyOf(serverSecret, purpose),
    Buffer.from(iv, 'base64url'),
  );
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
}
