import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createChallenge, verifySolution } from 'altcha-lib/v1';
import { ExpiringCache } from '../../platform/cache/expiring-cache.js';
import { AppError } from '../../platform/errors/app-error.js';

/**
 * The spam defences of a public form that need no third party (issue 31):
 * - a honeypot field (`_hp`) people never see and bots fill: such a post is answered as if
 *   accepted and nothing is stored;
 * - a minimum fill time: the page carries a signed load time (`_ts`); a post sooner than the
 *   form's `min_fill_seconds` after it is refused (`too_fast`), as is a forged one;
 * - a rate limit per client IP and form (`FORM_POSTS_PER_IP_PER_MINUTE`, in this process);
 * - a proof of work (ALTCHA's SHA-256 protocol, `altcha-lib/v1`): the page fetches a
 *   signed challenge and the browser finds the number whose SHA-256 matches; the server checks the
 *   signature, the answer and the expiry, and takes each solution once.
 */

const keyOf = (serverSecret: string, purpose: string) =>
  createHash('sha256').update(`cairn:${purpose}:`).update(serverSecret).digest('hex');

/** The signed load time the page carries: `<ms>.<hmac>`. */
export function fillTimeToken(serverSecret: string, formId: string, now = Date.now()): string {
  const mac = createHmac('sha256', keyOf(serverSecret, 'form-fill-time'))
    .update(`${formId}.${now}`)
    .digest('base64url');
  return `${now}.${mac}`;
}

/** @throws 400 `invalid_form_token` (missing or forged), 400 `too_fast` (sent sooner than allowed) */
export function checkFillTime(
  serverSecret: string,
  formId: string,
  token: unknown,
  minSeconds: number,
): void {
  const [at, mac] = typeof token === 'string' ? token.split('.') : [];
  const expected =
    at && /^\d{1,15}$/.test(at)
      ? createHmac('sha256', keyOf(serverSecret, 'form-fill-time'))
          .update(`${formId}.${at}`)
          .digest('base64url')
      : undefined;
  if (
    !expected ||
    !mac ||
    mac.length !== expected.length ||
    !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))
  )
    throw new AppError(400, 'invalid_form_token', 'Load the form page again and send it from there', {
      path: 'body._ts',
    });
  if (Date.now() - Number(at) < minSeconds * 1000)
    throw new AppError(
      400,
      'too_fast',
      'The form was sent too quickly after loading; wait a moment and send it again',
      {
        path: 'body._ts',
      },
    );
}

/** How hard the proof of work is: the largest number the browser may have to try. */
const POW_MAX_NUMBER = 50_000;
const POW_EXPIRES_MS = 20 * 60_000;
const usedSolutions = new ExpiringCache<true>(POW_EXPIRES_MS, 100_000);

/** A signed ALTCHA challenge for the page (JSON the browser solves). */
export async function powChallenge(serverSecret: string) {
  return createChallenge({
    hmacKey: keyOf(serverSecret, 'form-pow'),
    maxNumber: POW_MAX_NUMBER,
    expires: new Date(Date.now() + POW_EXPIRES_MS),
  });
}

/** @throws 400 `proof_of_work_failed` when the solution is missing, wrong, expired or used before */
export async function checkProofOfWork(serverSecret: string, payload: unknown): Promise<void> {
  const fail = () =>
    new AppError(400, 'proof_of_work_failed', 'The anti-spam check did not pass: load the form again', {
      path: 'body.altcha',
    });
  if (typeof payload !== 'string' || payload.length === 0 || payload.length > 2000) throw fail();
  let ok = false;
  try {
    ok = await verifySolution(payload, keyOf(serverSecret, 'form-pow'), true);
  } catch {
    ok = false;
  }
  if (!ok) throw fail();
  if (usedSolutions.peek(payload)) throw fail();
  await usedSolutions.get(payload, async () => true);
}

/** A fixed-window counter per key, in this process. */
export class WindowLimiter {
  private counts = new Map<string, { start: number; n: number }>();
  constructor(
    private readonly max: number,
    private readonly windowMs = 60_000,
  ) {}

  /** @throws 429 `rate_limited` with Retry-After once `key` used its budget in this window */
  hit(key: string, now = Date.now()): void {
    if (this.counts.size > 50_000)
      for (const [k, v] of this.counts) if (now - v.start >= this.windowMs) this.counts.delete(k);
    const entry = this.counts.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      this.counts.set(key, { start: now, n: 1 });
      return;
    }
    entry.n++;
    if (entry.n > this.max)
      throw new AppError(
        429,
        'rate_limited',
        `Too many submissions: at most ${this.max} a minute from one address`,
        {
          retryAfterS: Math.max(1, Math.ceil((entry.start + this.windowMs - now) / 1000)),
        },
      );
  }
}
