import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { seal, unseal } from '../../platform/crypto/sealed.js';
import type { StoredSecret } from './webhook.schema.js';

/** The purpose label the signing secrets are sealed under (`platform/crypto/sealed.ts`). */
const PURPOSE = 'webhook-signing-secret';

/** How long a rotated-out secret keeps signing beside the new one, so receivers can switch over. */
export const ROTATION_OVERLAP_HOURS = 24;

/**
 * A new signing secret in the Standard Webhooks format: `whsec_` and 32 random bytes in base64
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme).
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function sealSecret(
  serverSecret: string,
  secret: string,
  expiresAt: string | null = null,
): StoredSecret {
  return {
    sealed: seal(serverSecret, PURPOSE, secret),
    created_at: new Date().toISOString(),
    expires_at: expiresAt,
  };
}

/** The secrets that sign now: the current one and any rotated out less than the overlap ago. */
export function signingSecrets(serverSecret: string, stored: StoredSecret[], now = new Date()): string[] {
  return stored
    .filter((s) => !s.expires_at || new Date(s.expires_at) > now)
    .map((s) => unseal(serverSecret, PURPOSE, s.sealed));
}

/**
 * The Standard Webhooks headers of one attempt: `webhook-id` (the same on every retry),
 * `webhook-timestamp` (seconds, this attempt's) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`
 * of `id.timestamp.body` under each signing secret, space-separated), signed over the exact
 * bytes of `body` by the `standardwebhooks` library.
 */
export function signedHeaders(secrets: string[], msgId: string, body: string, at = new Date()) {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' '),
  };
}
