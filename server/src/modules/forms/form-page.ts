import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import type { forms } from './form.schema.js';

type FormRow = typeof forms.$inferSelect;

/** HTML-escapes text for element content and double-quoted attributes. */
export const esc = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

const INPUT_TYPES: Partial<Record<FieldDef['type'], string>> = {
  email: 'email',
  phone: 'tel',
  url: 'url',
  number: 'number',
  currency: 'number',
  date: 'date',
  datetime: 'datetime-local',
};

function control(
  field: { key: string; label: string; required: boolean },
  def: FieldDef | undefined,
  offered: Map<string, string> | undefined,
): string {
  const id = `f_${field.key}`;
  const req = field.required ? ' required' : '';
  const label = `<label for="${id}">${esc(field.label)}${field.required ? ' <span aria-hidden="true">*</span>' : ''}</label>`;
  // A many-to-many relation: the records the form offers (its choices, live ones), by name.
  if (def?.type === 'relation' && def.relation?.many)
    return `${label}<select id="${id}" name="${esc(field.key)}" multiple size="${Math.min(8, Math.max(2, offered?.size ?? 0))}"${req}>${[
      ...(offered ?? []),
    ]
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([value, name]) => `<option value="${esc(value)}">${esc(name)}</option>`)
      .join('')}</select>`;
  if (def?.type === 'long_text')
    return `${label}<textarea id="${id}" name="${esc(field.key)}" rows="4" maxlength="${def.maxLength ?? 10000}"${req}></textarea>`;
  if (def?.type === 'select')
    return `${label}<select id="${id}" name="${esc(field.key)}"${req}><option value=""></option>${(
      def.options ?? []
    )
      .map((o) => `<option value="${esc(o.value)}">${esc(o.label)}</option>`)
      .join('')}</select>`;
  if (def?.type === 'boolean')
    return `<label class="check"><input type="checkbox" id="${id}" name="${esc(field.key)}" value="on"${req}> ${esc(field.label)}</label>`;
  const type = (def && INPUT_TYPES[def.type]) ?? 'text';
  const max = def?.maxLength ? ` maxlength="${def.maxLength}"` : '';
  const auto =
    field.key === 'email' ? ' autocomplete="email"' : field.key === 'phone' ? ' autocomplete="tel"' : '';
  return `${label}<input type="${type}" id="${id}" name="${esc(field.key)}"${max}${auto}${req}>`;
}

const SOURCE_PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];

/**
 * The hosted page of a form, server-rendered: no inline script or style (the CSP allows only the
 * app's own files): `/f/assets/form.css` and `/f/assets/form.js` (which solves the proof of work
 * and records the referrer and landing page). Hidden fields and UTM parameters are taken from the
 * page URL's query string into hidden inputs here, so they are kept without any script.
 */
export function renderFormPage(
  form: FormRow,
  def: ObjectDef,
  query: Record<string, unknown>,
  fillTime: string,
  errorText?: string,
  titles: Map<string, Map<string, string>> = new Map(),
): string {
  const byKey = new Map(def.fields.map((f) => [f.key, f]));
  const visible = form.fields
    .filter((f) => !f.hidden)
    .map((f) => `<div class="field">${control(f, byKey.get(f.key), titles.get(f.key))}</div>`);
  const hidden = form.fields
    .filter((f) => f.hidden)
    .map((f) => {
      const fromQuery = typeof query[f.key] === 'string' ? String(query[f.key]).slice(0, 500) : undefined;
      const value = fromQuery ?? f.default ?? '';
      return `<input type="hidden" name="${esc(f.key)}" value="${esc(value)}">`;
    });
  for (const p of SOURCE_PARAMS)
    if (typeof query[p] === 'string')
      hidden.push(`<input type="hidden" name="${p}" value="${esc(String(query[p]).slice(0, 500))}">`);
  const consent = form.consent
    ? `<div class="field"><label class="check"><input type="checkbox" name="consent" value="on"${form.consent.required ? ' required' : ''}> ${esc(form.consent.text)}</label></div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(form.name)}</title>
<link rel="stylesheet" href="/f/assets/form.css">
<script src="/f/assets/form.js" defer></script>
</head>
<body>
<main>
<h1>${esc(form.name)}</h1>
${errorText ? `<p class="error" role="alert">${esc(errorText)}</p>` : ''}
<form method="post" action="/f/${esc(form.token)}" data-challenge="/f/${esc(form.token)}/challenge" data-pow="${form.proofOfWork ? 'on' : 'off'}">
${visible.join('\n')}
${consent}
<div class="hp" aria-hidden="true"><label for="f__hp">Leave this empty</label><input type="text" id="f__hp" name="_hp" tabindex="-1" autocomplete="off"></div>
<input type="hidden" name="_ts" value="${esc(fillTime)}">
<input type="hidden" name="_referrer" value="">
<input type="hidden" name="_landing_page" value="">
${form.proofOfWork ? '<input type="hidden" name="altcha" value="">' : ''}
${hidden.join('\n')}
<button type="submit"${form.proofOfWork ? ' data-wait="Checking you are not a robot…"' : ''}>${esc(form.submitLabel)}</button>
</form>
</main>
</body>
</html>
`;
}

/** The page after a submission, or after a refusal a visitor can act on. */
export function renderResultPage(title: string, message: string, back?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/f/assets/form.css">
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p role="status">${esc(message)}</p>
${back ? `<p><a href="${esc(back)}">Back to the form</a></p>` : ''}
</main>
</body>
</html>
`;
}

export const FORM_CSS = `:root{color-scheme:light dark;font-family:system-ui,sans-serif}
body{margin:0;padding:1rem}main{max-width:36rem;margin:0 auto}
h1{font-size:1.4rem}.field{margin:0 0 1rem}label{display:block;margin:0 0 .25rem;font-weight:600}
label.check{font-weight:400}input,select,textarea{box-sizing:border-box;width:100%;padding:.5rem;font:inherit}
label.check input{width:auto}button{padding:.6rem 1.2rem;font:inherit;cursor:pointer}
button[disabled]{opacity:.6;cursor:progress}.error{color:#b00020}
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
`;

/**
 * The page's only script: fills the referrer and landing page (inside an embed, the embedding
 * page is the landing page), then solves the ALTCHA proof of work (SHA-256 of salt + number equal
 * to the challenge, https://altcha.org/docs/proof-of-work/) and enables the button.
 */
export const FORM_JS = `(function () {
  'use strict';
  var form = document.querySelector('form[data-challenge]');
  if (!form) return;
  var embedded = window.top !== window.self;
  form.elements._landing_page.value = embedded ? document.referrer : location.href;
  form.elements._referrer.value = embedded ? '' : document.referrer;
  if (form.getAttribute('data-pow') !== 'on') return;
  var button = form.querySelector('button[type=submit]');
  var label = button.textContent;
  button.disabled = true;
  button.textContent = button.getAttribute('data-wait') || label;
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function solve(c) {
    var enc = new TextEncoder();
    var n = 0;
    function step() {
      var batch = [];
      for (var i = 0; i < 200 && n <= c.maxnumber; i++, n++) batch.push(n);
      return Promise.all(batch.map(function (k) {
        return crypto.subtle.digest('SHA-256', enc.encode(c.salt + k)).then(function (d) { return hex(d) === c.challenge ? k : -1; });
      })).then(function (found) {
        for (var j = 0; j < found.length; j++) if (found[j] >= 0) return found[j];
        if (n > c.maxnumber) throw new Error('unsolved');
        return step();
      });
    }
    return step();
  }
  fetch(form.getAttribute('data-challenge'), { credentials: 'omit' })
    .then(function (r) { return r.json(); })
    .then(function (c) {
      return solve(c).then(function (number) {
        form.elements.altcha.value = btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: number, salt: c.salt, signature: c.signature }));
        button.disabled = false;
        button.textContent = label;
      });
    })
    .catch(function () { button.disabled = false; button.textContent = label; });
})();
`;
