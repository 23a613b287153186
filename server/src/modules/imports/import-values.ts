import { isEmail, normalizeEmail } from '../../platform/registry/email.js';
import { isCurrencyCode } from '../../platform/registry/field-values.js';
import type { CountryCode } from '../../platform/registry/phone.js';
import { DEFAULT_PHONE_REGION, toE164 } from '../../platform/registry/phone.js';
import type { CellProblem, ColumnMapping } from './import.schema.js';
import type { ImportTarget } from './import-targets.js';

/**
 * What a spreadsheet leaves behind when it evaluated or reformatted a cell: a formula
 * (`=A1+B2`), an error value (`#NAME?`), or a long number shown in scientific notation
 * (`4.15E+11`). Such a value is flagged, never stored as is.
 */
const SPREADSHEET_ERROR = /^#(NAME\?|VALUE!|REF!|DIV\/0!|N\/A|NUM!|NULL!|SPILL!|CALC!)$/i;
const SCIENTIFIC = /^[+-]?\d(\.\d+)?E[+-]?\d+$/i;

export function spreadsheetMangled(value: string, kind: ImportTarget['kind']): string | null {
  if (value.startsWith('=')) return 'A spreadsheet formula, not a value';
  if (SPREADSHEET_ERROR.test(value)) return `A spreadsheet error value (${value})`;
  if (kind !== 'number' && kind !== 'currency' && SCIENTIFIC.test(value))
    return 'A number shown in scientific notation: the spreadsheet lost its digits';
  // A phone typed as `555-1234` or `-2237` and evaluated as a subtraction leaves a short
  // (negative) integer where a phone number belongs.
  if (kind === 'phone' && /^-\d{1,7}$/.test(value)) return 'A phone number evaluated as a formula';
  return null;
}

/**
 * A cell's text as Cairn may keep it (in a row's problems and original cells): a NUL character
 * (U+0000), which PostgreSQL cannot store, becomes U+FFFD.
 */
export const storableText = (value: string): string => value.replaceAll('\u0000', '\uFFFD');

/** A cell's value as stored, or the problem that keeps it out. */
export type CellResult =
  | { ok: true; value: unknown; warning?: CellProblem | undefined }
  | { ok: false; problem: CellProblem };

/** Control characters but tab, line feed and carriage return (a NUL is refused before: `invalid_character`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

const fail = (column: string, code: string, message: string, value: string): CellResult => ({
  ok: false,
  problem: { column, code, message, value: storableText(value) },
});

/** Parses a number as people type it: `1,234.50`, `$1 234`, `(12)` is not accepted. */
export function parseNumber(value: string): number | null {
  const cleaned = value.replace(/[\s$€£¥]/g, '').replace(/,(?=\d{3}(\D|$))/g, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(E[+-]?\d+)?$/i.test(cleaned)) return null;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : null;
}

/** An amount as a cell gave it: its currency is null when the cell named none. */
export type Money = { amount: number; currency: string | null };

/** The currency a symbol stands for in an amount (`$` is read as US dollars). */
const CURRENCY_SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR' };

/**
 * An amount of money as people type it: `EUR 1,250.50`, `1250.50 eur`, `€1,250.50`, `$99`, `1250`.
 * @returns the amount and its ISO 4217 code (null when the cell names none), or null (not a
 * number, an unknown code, or a code and a symbol that disagree)
 */
export function parseMoney(value: string): Money | null {
  const parts = /^(?:([a-z]{3})\s*)?(.*?)(?:\s*([a-z]{3}))?$/i.exec(value.trim());
  if (!parts || (parts[1] && parts[3])) return null;
  const codes = new Set<string>();
  const code = (parts[1] ?? parts[3])?.toUpperCase();
  if (code) codes.add(code);
  for (const [symbol, currency] of Object.entries(CURRENCY_SYMBOLS))
    if (parts[2]!.includes(symbol)) codes.add(currency);
  if (codes.size > 1) return null;
  const currency = [...codes][0] ?? null;
  const amount = parseNumber(parts[2]!.replace(/₹/g, ''));
  return amount === null || (currency && !isCurrencyCode(currency)) ? null : { amount, currency };
}

const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const EU_DATE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;

/** `YYYY-MM-DD`, `M/D/YYYY` (US) or `D.M.YYYY`, as `YYYY-MM-DD`; null when not a real date. */
export function parseDate(value: string): string | null {
  // Tried in turn, not all three on every cell: an import reads a date per row and column.
  const iso = ISO_DATE.exec(value);
  const us = iso ? null : US_DATE.exec(value);
  const eu = iso || us ? null : EU_DATE.exec(value);
  let y: number;
  let m: number;
  let d: number;
  if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (us) [m, d, y] = [Number(us[1]), Number(us[2]), Number(us[3])];
  else if (eu) [d, m, y] = [Number(eu[1]), Number(eu[2]), Number(eu[3])];
  else return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'x', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off']);

/**
 * Reads one non-empty cell for `target`. References are returned as the trimmed text (resolved
 * later against the database). @returns the value to store, or a problem with a stable code:
 * `invalid_character` (a NUL, which PostgreSQL cannot store), `spreadsheet_mangled`, `too_long`, `invalid_email`, `invalid_phone`, `invalid_number`,
 * `invalid_amount`, `invalid_date`, `invalid_datetime`, `invalid_boolean`, `unknown_option`,
 * `invalid_url`.
 */
export function readCell(
  raw: string,
  target: ImportTarget,
  column: string,
  region: CountryCode = DEFAULT_PHONE_REGION,
): CellResult {
  // Cairn's own export (and other CSV-injection-safe writers) put a ' before a cell starting with
  // = + - or @: the value is what follows (a formula is then flagged below).
  if (raw.includes('\u0000'))
    return fail(
      column,
      'invalid_character',
      'Contains a NUL character (U+0000), which cannot be stored',
      raw,
    );
  if (raw.search(CONTROL) !== -1) {
    const result = readCell(raw.replace(CONTROL, ''), target, column, region);
    if (!result.ok) return result;
    const warning = {
      column,
      code: 'control_character',
      message: 'Contained control characters, removed',
      value: raw.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
    };
    return { ...result, warning };
  }
  const value = raw.trim().replace(/^'(?=[=+\-@])/, '');
  const mangled = spreadsheetMangled(value, target.kind);
  if (mangled) return fail(column, 'spreadsheet_mangled', mangled, raw);
  const max = target.maxLength;
  switch (target.kind) {
    case 'text':
    case 'reference':
      if (max && value.length > max) return fail(column, 'too_long', `At most ${max} characters`, raw);
      return { ok: true, value };
    case 'email': {
      const email = normalizeEmail(value.replace(/^mailto:/i, ''));
      if (!isEmail(email)) return fail(column, 'invalid_email', 'Not a valid e-mail address', raw);
      return { ok: true, value: email };
    }
    case 'phone': {
      const e164 = toE164(value, region);
      if (!e164) return fail(column, 'invalid_phone', 'Not a phone number that can be dialled', raw);
      return { ok: true, value: { e164, raw: value } };
    }
    case 'number': {
      const n = parseNumber(value);
      return n === null ? fail(column, 'invalid_number', 'Not a number', raw) : { ok: true, value: n };
    }
    case 'currency': {
      const money = parseMoney(value);
      return money === null
        ? fail(column, 'invalid_amount', 'Not an amount (1250.50, EUR 1,250.50, €1,250.50)', raw)
        : { ok: true, value: money };
    }
    case 'date': {
      const d = parseDate(value);
      return d === null
        ? fail(column, 'invalid_date', 'Not a date (YYYY-MM-DD, M/D/YYYY or D.M.YYYY)', raw)
        : { ok: true, value: d };
    }
    case 'datetime': {
      // A date alone is that day at 00:00 UTC, whichever way it is written.
      const day = /[T:]/i.test(value) ? null : parseDate(value);
      if (day) return { ok: true, value: `${day}T00:00:00.000Z` };
      const ms = Date.parse(value);
      return Number.isNaN(ms)
        ? fail(column, 'invalid_datetime', 'Not a date and time', raw)
        : { ok: true, value: new Date(ms).toISOString() };
    }
    case 'boolean': {
      const v = value.toLowerCase();
      if (TRUE.has(v)) return { ok: true, value: true };
      if (FALSE.has(v)) return { ok: true, value: false };
      return fail(column, 'invalid_boolean', 'Not yes/no or true/false', raw);
    }
    case 'select': {
      const option = findOption(target, value);
      return option === null ? unknownOption(column, target, value, raw) : { ok: true, value: option };
    }
    case 'multi_select': {
      const values: string[] = [];
      for (const part of splitList(value)) {
        const option = findOption(target, part);
        if (option === null) return unknownOption(column, target, part, raw);
        values.push(option);
      }
      return { ok: true, value: values };
    }
    case 'tags': {
      const tags = splitList(value);
      const bad = tags.find((x) => x.length > 64);
      if (bad) return fail(column, 'too_long', 'A tag has at most 64 characters', raw);
      return { ok: true, value: tags };
    }
    case 'url': {
      const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
      try {
        const parsed = new URL(url);
        if (!/^https?:$/.test(parsed.protocol) || !parsed.hostname.includes('.')) throw new Error('bad');
        const longest = max ?? 2048;
        if (url.length > longest) return fail(column, 'too_long', `At most ${longest} characters`, raw);
        return { ok: true, value: url };
      } catch {
        return fail(column, 'invalid_url', 'Not a web address', raw);
      }
    }
  }
}

/** An option the cell is not: with the option it is probably a misspelling of (`GTXPro` for `GTX Pro`). */
function unknownOption(column: string, target: ImportTarget, part: string, raw: string): CellResult {
  const labels = (target.options ?? []).map((o) => o.label);
  const suggestion = closeTo(part, labels);
  const result = fail(
    column,
    'unknown_option',
    suggestion
      ? `"${part}" is not an option: probably a misspelling of "${suggestion}"`
      : `"${part}" is not one of: ${optionList(target)}`,
    raw,
  );
  if (suggestion && !result.ok) result.problem.suggestion = suggestion;
  return result;
}

/** Letters and digits only, lower-case, accents dropped: how two spellings are compared. */
const spelling = (value: string) =>
  value
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');

/** Levenshtein distance of `a` and `b`, or `max + 1` once it is known to exceed `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      best = Math.min(best, current[j]!);
    }
    if (best > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The one candidate `value` is probably a misspelling of: the same letters and digits but for
 * case, spaces and punctuation (`GTXPro`, `GTX Pro`), or, for words of 7+ letters, one edit away
 * (two from 10 letters: `technolgy`, `technology`). Shorter words one letter apart are as often
 * different words (Iraq and Iran, Zambia and Gambia), and numbers are not spellings. Null when
 * none or several are that close, or `value` is one of them.
 */
export function closeTo(value: string, candidates: readonly string[]): string | null {
  const v = spelling(value);
  if (v.length < 3 || /^\d+$/.test(v)) return null;
  const max = v.length >= 10 ? 2 : v.length >= 7 ? 1 : 0;
  let found: string | null = null;
  let foundDistance = max + 1;
  let tie = false;
  for (const candidate of candidates) {
    if (candidate === value) return null;
    const c = spelling(candidate);
    const d = c === v ? 0 : editDistance(v, c, max);
    if (d < foundDistance) [found, foundDistance, tie] = [candidate, d, false];
    else if (d === foundDistance && d <= max && spelling(found ?? '') !== c) tie = true;
  }
  return found !== null && !tie ? found : null;
}

function findOption(target: ImportTarget, value: string): string | null {
  const v = value.toLowerCase();
  const option = (target.options ?? []).find(
    (o) => o.value.toLowerCase() === v || o.label.toLowerCase() === v,
  );
  return option?.value ?? null;
}

const optionList = (target: ImportTarget) =>
  (target.options ?? [])
    .slice(0, 20)
    .map((o) => o.label)
    .join(', ');

export function splitList(value: string): string[] {
  return [
    ...new Set(
      value
        .split(/[;,|]/)
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * The values one cell of a multi-valued target holds: e-mails separated by `;` or `,`, phones by
 * `;` (a comma can be part of how a number is written, `;ext=` is an extension), the records of a
 * many-to-many relation by `;` (a name may hold a comma: "Acme, Inc."), one value for the other
 * kinds (tags and multi-selects split their cell themselves).
 */
function cellParts(raw: string, kind: ImportTarget['kind']): string[] {
  // A phone's extension in E.164 form is written `;ext=`: not a separator.
  const separator =
    kind === 'email' ? /[;,]/ : kind === 'phone' ? /;(?!ext=)/i : kind === 'reference' ? /;/ : null;
  if (!separator) return [raw];
  const parts = raw.split(separator).filter((p) => p.trim() !== '');
  return parts.length > 0 ? parts : [raw];
}

/** Values the user corrected in the mapping step: by column header, the cell as in the file -> what to read. */
export type Corrections = Record<string, Record<string, string>>;

/** The references whose empty cell leaves the record without that link (a deal without its account). */
const LINKS = new Set(['company', 'contact', 'opportunity']);

/**
 * The warning of an empty cell in a mapped column the record needs: a required custom field
 * (`empty_required`), or a link to a company, contact or opportunity left empty (`empty_reference`).
 * Other empty cells (an optional field, a parent company, a stage that defaults) are only counted.
 */
function emptyWarning(target: ImportTarget, column: string): CellProblem | null {
  if (target.required && target.key.startsWith('custom.'))
    return { column, code: 'empty_required', message: `Empty: ${target.label} is required` };
  if (LINKS.has(target.key))
    return {
      column,
      code: 'empty_reference',
      message: `Empty: the record has no ${target.label.toLowerCase()}`,
    };
  return null;
}

/**
 * One row as read against the mapping: `values` by target key (multi-valued targets hold
 * arrays; `custom.<key>` and `address.<part>` are kept flat), the problems of its cells, and
 * which mapped columns were empty.
 */
export type RowDraft = {
  values: Record<string, unknown>;
  problems: CellProblem[];
  empty: string[];
};

/** Reads every mapped cell of a row. Cells beyond a ragged row's end count as empty. */
export function readRow(
  cells: string[],
  mapping: ColumnMapping[],
  targets: Map<string, ImportTarget>,
  region: CountryCode = DEFAULT_PHONE_REGION,
  corrections?: Corrections,
): RowDraft {
  const values: Record<string, unknown> = {};
  const problems: CellProblem[] = [];
  const empty: string[] = [];
  /** Empty alternatives (a task's contact, company, opportunity): a warning only when all are. */
  const alternatives: CellProblem[] = [];
  for (const column of mapping) {
    if (!column.target) continue;
    const target = targets.get(column.target);
    if (!target) continue;
    let raw = cells[column.index] ?? '';
    const corrected = corrections?.[column.header]?.[raw.trim()];
    if (corrected !== undefined) raw = corrected;
    if (raw.trim() === '') {
      empty.push(column.header);
      const warning = emptyWarning(target, column.header);
      if (warning && target.alternative) alternatives.push(warning);
      else if (warning) problems.push(warning);
      continue;
    }
    for (const part of target.multiple ? cellParts(raw, target.kind) : [raw]) {
      const result = readCell(part, target, column.header, region);
      if (!result.ok) {
        problems.push(result.problem);
        continue;
      }
      if (result.warning) problems.push(result.warning);
      if (target.multiple) {
        const list = (values[target.key] as unknown[] | undefined) ?? [];
        values[target.key] = [...list, ...(Array.isArray(result.value) ? result.value : [result.value])];
      } else if (values[target.key] === undefined) {
        values[target.key] = result.value;
      }
    }
  }
  if (
    alternatives.length > 0 &&
    !mapping.some((m) => m.target && targets.get(m.target)?.alternative && values[m.target] !== undefined)
  )
    problems.push(...alternatives);
  return { values, problems, empty };
}
