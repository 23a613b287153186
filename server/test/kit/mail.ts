import type { Client } from '../harness.js';

/**
 * The token of the newest e-mail verification link in the outbox an admin reads
 * (`GET /api/v1/system-mail`, test apps have no SMTP_URL) for `email`; waits for it briefly, as
 * system e-mail is kept after the answer that sends it.
 */
export async function verificationToken(admin: Client, email: string): Promise<string> {
  const mail = await waitForMail(admin, 'email_verification', email);
  return decodeURIComponent(/verify-email\?token=(\S+)/.exec(mail.text)![1]!);
}

/**
 * The newest message of `kind` to `email` in the outbox an admin reads (`GET /api/v1/system-mail`);
 * waits for it briefly, as system e-mail is kept after the answer that sends it.
 */
export async function waitForMail(
  admin: Client,
  kind: string,
  email: string,
): Promise<{ kind: string; to: string; subject: string; text: string }> {
  for (let i = 0; i < 100; i++) {
    const box = await admin.get('/api/v1/system-mail');
    const mail = (box.body?.data ?? []).find(
      (m: { kind: string; to: string }) => m.kind === kind && m.to === email,
    );
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${kind} e-mail for ${email} in the outbox`);
}

/** Follows the verification link of a user who is the admin of an organization (their sign-up's). */
export async function verifyEmailOf(admin: Client, email: string): Promise<void> {
  const token = await verificationToken(admin, email);
  const res = await admin.post('/api/v1/email/verify', { token });
  if (res.status !== 204) throw new Error(`verify failed: ${res.status} ${res.text}`);
}
