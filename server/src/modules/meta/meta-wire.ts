import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { toE164 } from '../../platform/registry/phone.js';

/**
 * Meta's wire formats (issue 31): the webhook signature, the page webhook's leadgen changes, and
 * the Conversions API's normalization and hashing of customer information.
 */

/** The signature check's result, kept on each intake ledger row. */
export type SignatureResult = 'valid' | 'invalid' | 'missing' | 'not_configured';

/**
 * Checks `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the delivery's exact bytes under
 * the app secret (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads),
 * in constant time.
 */
export function checkSignature(
  appSecret: string | null,
  rawBody: string,
  header: string | undefined,
): SignatureResult {
  if (!appSecret) return 'not_configured';
  if (!header) return 'missing';
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return 'invalid';
  const expected = createHmac('sha256', appSecret).update(Buffer.from(rawBody, 'utf8')).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!.toLowerCase(), 'hex')) ? 'valid' : 'invalid';
}

/** One `leadgen` change of a page webhook (ids as strings, whatever JSON type they came as). */
export type LeadgenChange = {
  leadgen_id: string;
  page_id: string;
  form_id: string | null;
  ad_id: string | null;
  adgroup_id: string | null;
  created_time: number | null;
};

/** Ids Meta sends, sometimes as JSON numbers wider than a double holds: quoted before parsing. */
const ID_KEYS = /"(leadgen_id|page_id|form_id|ad_id|adgroup_id|id)"(\s*):(\s*)(-?\d+)/g;

const idOf = (v: unknown): string | null =>
  (typeof v === 'string' && /^\d{1,32}$/.test(v)) || (typeof v === 'number' && Number.isInteger(v))
    ? String(v)
    : null;

/**
 * The leadgen changes of a page webhook body (`{"object":"page","entry":[{"id","time","changes":
 * [{"field":"leadgen","value":{...}}]}]}`), every entry's every change: Meta batches several in
 * one delivery. Other fields' changes are skipped.
 * @returns `error` `invalid_json` or `not_a_page_webhook` when the body is not one
 */
export function leadgenChanges(rawBody: string): { changes: LeadgenChange[]; error?: string } {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.replace(ID_KEYS, '"$1"$2:$3"$4"'));
  } catch {
    return { changes: [], error: 'invalid_json' };
  }
  const b = body as { object?: unknown; entry?: unknown };
  if (!b || typeof b !== 'object' || b.object !== 'page' || !Array.isArray(b.entry))
    return { changes: [], error: 'not_a_page_webhook' };
  const changes: LeadgenChange[] = [];
  for (const entry of b.entry as { id?: unknown; changes?: unknown }[]) {
    if (!entry || !Array.isArray(entry.changes)) continue;
    for (const change of entry.changes as { field?: unknown; value?: Record<string, unknown> }[]) {
      if (change?.field !== 'leadgen' || !change.value) continue;
      const v = change.value;
      const leadgenId = idOf(v.leadgen_id);
      // The dashboard's test sample sends entry id "0": the change's page_id names the page.
      const pageId = idOf(v.page_id) ?? idOf(entry.id);
      if (!leadgenId || !pageId) continue;
      changes.push({
        leadgen_id: leadgenId,
        page_id: pageId,
        form_id: idOf(v.form_id),
        ad_id: idOf(v.ad_id),
        adgroup_id: idOf(v.adgroup_id),
        created_time: typeof v.created_time === 'number' ? v.created_time : null,
      });
    }
  }
  return { changes };
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * An e-mail as the Conversions API wants it: trimmed, lower-cased, SHA-256 in hex
 * (https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters).
 */
export function hashEmail(email: string): string | null {
  const e = email.trim().toLowerCase();
  return e.includes('@') ? sha256(e) : null;
}

/**
 * A phone as the Conversions API wants it: digits only with the country code, no `+` or leading
 * zeros (the E.164 form without its `+`, as the registry normalizes phones), SHA-256 in hex.
 */
export function hashPhone(phone: string): string | null {
  const e164 = toE164(phone);
  const digits = (e164 ?? phone).replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 6 ? sha256(digits) : null;
}
