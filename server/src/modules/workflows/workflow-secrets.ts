import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A workflow's secrets, derived from the server secret (`CAIRN_SECRET`) and the workflow's id, so
 * nothing secret is stored: HMAC-SHA256 under a purpose label per use. An admin reads them with
 * `GET /workflows/{id}/secrets`. Changing the server secret changes every one of them (there is
 * no per-workflow rotation yet).
 */
const derive = (serverSecret: string, purpose: string, orgId: string, workflowId: string) =>
  createHmac('sha256', serverSecret).update(`${purpose}:${orgId}:${workflowId}`).digest();

/**
 * The secret `call_webhook` steps sign with, in the Standard Webhooks format (`whsec_` and 32
 * bytes in base64), as the receiver's library takes it.
 */
export function workflowSigningSecret(serverSecret: string, orgId: string, workflowId: string): string {
  const key = `${serverSecret}:${orgId}:${workflowId}`;
  let secret = signingSecrets.get(key);
  if (secret === undefined) {
    secret = `whsec_${derive(serverSecret, 'workflow-webhook-signing', orgId, workflowId).toString('base64')}`;
    if (signingSecrets.size >= 1000) signingSecrets.clear();
    signingSecrets.set(key, secret);
  }
  return secret;
}

/** The signing secrets derived so far (a batch of 500 webhook steps derives one, not 500). */
const signingSecrets = new Map<string, string>();

/** The token of an `inbound_webhook` trigger's URL: 32 bytes, base64url (43 characters). */
export function inboundToken(serverSecret: string, orgId: string, workflowId: string): string {
  return derive(serverSecret, 'workflow-inbound-webhook', orgId, workflowId).toString('base64url');
}

/** Whether `token` is the workflow's inbound token (constant-time). */
export function isInboundToken(serverSecret: string, orgId: string, workflowId: string, token: string) {
  const expected = Buffer.from(inboundToken(serverSecret, orgId, workflowId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
