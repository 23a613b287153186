import { randomBytes } from 'node:crypto';
import type { PublicQuote } from './quote-public.service.js';

/**
 * The customer's page of a quote: server-rendered HTML, phone-first (one column, large touch
 * targets), no script at all. Its CSP admits nothing but its own `<style>` (by nonce) and forms
 * posted to this origin.
 */
const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1a1b1e;background:#f4f5f7}
main{max-width:720px;margin:0 auto;padding:16px}section{background:#fff;border-radius:10px;padding:16px;margin:0 0 14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 4px}h2{font-size:1.05rem;margin:0 0 8px}.muted{color:#5c5f66;font-size:.9rem}
.line{display:flex;justify-content:space-between;gap:12px;padding:8px 0;border-bottom:1px solid #eee}.line:last-child{border:0}
.line .what{flex:1;min-width:0;overflow-wrap:anywhere}.line .amount{white-space:nowrap;text-align:right}
.total{font-weight:700;font-size:1.15rem}label{display:block;font-weight:600;margin:8px 0 4px}
input,textarea{width:100%;font:inherit;padding:12px;border:1px solid #c1c2c5;border-radius:8px}
button,a.button{display:block;width:100%;margin-top:10px;padding:14px;font:inherit;font-weight:600;border:0;border-radius:8px;text-align:center;text-decoration:none;cursor:pointer}
.accept{background:#2b8a3e;color:#fff}.reject{background:#fff;color:#c92a2a;border:1px solid #c92a2a}.pdf{background:#e7f5ff;color:#1864ab}
.banner{padding:12px 16px;border-radius:8px;font-weight:600}.ok{background:#d3f9d8;color:#2b8a3e}.no{background:#ffe3e3;color:#c92a2a}
code{font-size:.85rem;overflow-wrap:anywhere}
@media (prefers-color-scheme:dark){body{background:#1a1b1e;color:#e9ecef}section{background:#25262b;box-shadow:none}.line{border-color:#373a40}.muted{color:#909296}input,textarea{background:#1a1b1e;color:#e9ecef;border-color:#5c5f66}}
`;

/** The page's headers: its own CSP (no script; its one `<style>` by nonce). */
export function pageHeaders(nonce: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      "img-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  };
}

export const newNonce = () => randomBytes(16).toString('base64');

function layout(nonce: string, title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style nonce="${nonce}">${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/**
 * The quote, its lines and totals, (while it is open) the accept and decline forms, and once it is
 * accepted its payment: a link to pay online when a provider is configured (`paidNotice`: the
 * customer is back from paying and the webhook has not come yet), or when it was paid.
 */
export function quotePage(
  nonce: string,
  token: string,
  view: PublicQuote,
  notice?: string,
  paidNotice = false,
): string {
  const { quote, locale } = view;
  const money = new Intl.NumberFormat(locale, { style: 'currency', currency: quote.currency });
  const num = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
  const m = (v: string) => esc(money.format(Number(v)));
  const d = (v: string) => esc(date.format(new Date(`${v.slice(0, 10)}T00:00:00Z`)));
  const base = `/api/v1/public/quotes/${encodeURIComponent(token)}`;
  const lines = quote.lines
    .map(
      (l) =>
        `<div class="line"><div class="what">${esc(l.description)}<div class="muted">${esc(num.format(Number(l.quantity)))}${l.unit ? ` ${esc(l.unit)}` : ''} × ${m(l.unit_price)}${l.discount ? ` − ${l.discount.kind === 'percent' ? `${esc(num.format(Number(l.discount.value)))} %` : m(l.discount_amount)}` : ''}</div></div><div class="amount">${m(l.net)}</div></div>`,
    )
    .join('');
  const taxes = quote.taxes
    .filter((t) => Number(t.tax) !== 0)
    .map(
      (t) =>
        `<div class="line"><div class="what">Tax ${esc(num.format(Number(t.rate)))} %</div><div class="amount">${m(t.tax)}</div></div>`,
    )
    .join('');
  let state = '';
  if (quote.status === 'accepted' && quote.acceptance)
    state = `<div class="banner ok">Accepted by ${esc(quote.acceptance.name)} on ${d(quote.acceptance.at)}.</div>`;
  if (quote.status === 'accepted' && view.payment.paid_at)
    state += `<div class="banner ok">Paid on ${d(view.payment.paid_at)}. Thank you.</div>`;
  else if (quote.status === 'accepted' && view.payment.enabled)
    state += `<section><h2>Payment</h2>${
      paidNotice
        ? '<p class="muted">Thank you: your payment is being confirmed. This page shows it once the payment provider has told us.</p>'
        : ''
    }<a class="button accept" href="${base}/pay">Pay ${m(quote.total)} now</a></section>`;
  else if (quote.status === 'rejected') state = '<div class="banner no">You declined this quote.</div>';
  const forms =
    quote.status === 'sent'
      ? `<section><h2>Accept this quote</h2><form method="post" action="${base}/accept"><label for="name">Type your full name to accept</label><input id="name" name="name" required maxlength="200" autocomplete="name"><button class="accept" type="submit">Accept quote</button></form></section>
<section><h2>Decline</h2><form method="post" action="${base}/reject"><label for="reason">Reason (optional)</label><textarea id="reason" name="reason" rows="3" maxlength="2000"></textarea><button class="reject" type="submit">Decline quote</button></form></section>`
      : '';
  return layout(
    nonce,
    `Quote ${quote.number}`,
    `${notice ? `<div class="banner ok">${esc(notice)}</div>` : ''}<section><div class="muted">${esc(view.organization)}</div><h1>Quote ${esc(quote.number)}${quote.version > 1 ? ` (version ${quote.version})` : ''}</h1><div>${esc(quote.title)}</div><div class="muted">Valid until ${d(quote.valid_until)}</div></section>
${state}
<section><h2>Items</h2>${lines}</section>
<section><div class="line"><div class="what">Subtotal</div><div class="amount">${m(quote.subtotal)}</div></div>${Number(quote.discount_total) > 0 ? `<div class="line"><div class="what">Discounts</div><div class="amount">−${m(quote.discount_total)}</div></div>` : ''}${taxes}<div class="line total"><div class="what">Total</div><div class="amount">${m(quote.total)}</div></div><a class="button pdf" href="${base}/pdf">Download PDF</a></section>
${quote.terms ? `<section><h2>Terms</h2><div>${esc(quote.terms).replace(/\n/g, '<br>')}</div></section>` : ''}
${forms}
${quote.content_sha256 ? `<p class="muted">Document fingerprint (SHA-256): <code>${esc(quote.content_sha256)}</code></p>` : ''}`,
  );
}

/** A refusal page: what happened and its code, in words a customer can act on. */
export function errorPage(nonce: string, status: number, code: string, message: string): string {
  return layout(
    nonce,
    'Quote unavailable',
    `<section><h1>This quote cannot be opened</h1><p>${esc(message)}</p><p class="muted">Code: <code>${esc(code)}</code> (HTTP ${status})</p></section>`,
  );
}
