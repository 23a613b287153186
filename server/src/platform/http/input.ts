import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { fieldPath } from './problem.js';

/**
 * The deepest nesting of arrays and objects a JSON input may have (a body, a `filter` query
 * parameter). Cairn's deepest legitimate shape is a filter tree (at most `QUERY_LIMITS.maxDepth`
 * groups, each two levels: `{"and": [...]}`); 64 leaves room for that and for custom values,
 * and stops a nest thousands deep before a recursive validator overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes a body as UTF-8 (RFC 8259 section 8.1: JSON exchanged between systems is UTF-8),
 * refusing malformed sequences instead of storing U+FFFD in their place.
 * @throws AppError 400 `invalid_utf8` (path `where`)
 */
export function decodeUtf8(bytes: Uint8Array, where = 'body'): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new AppError(400, 'invalid_utf8', 'The request body is not valid UTF-8', { path: where });
  }
}

/**
 * Refuses JSON text nested deeper than `MAX_JSON_DEPTH`, by one pass over its characters (no
 * recursion, nothing parsed yet), so `JSON.parse` and the schemas only ever see shallow input.
 * @throws AppError 400 `too_deep` (path `where`)
 */
export function assertJsonDepth(text: string, where: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new AppError(400, 'too_deep', `JSON may nest at most ${MAX_JSON_DEPTH} arrays and objects`, {
          path: where,
        });
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/**
 * Refuses a NUL character (U+0000) in any string or object key of `value`: PostgreSQL cannot
 * store it in text or jsonb (https://www.postgresql.org/docs/current/datatype-character.html).
 * Walks iteratively (depth is checked before, but a walk must not recurse on input anyway).
 * @throws AppError 400 `invalid_character` naming the field (`body.emails[0].value`; for a key,
 * the object holding it)
 */
export function assertStorable(value: unknown, where: string): void {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw nulIn(fieldPath(where, path));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ value: v[i], path: [...path, i] });
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (key.includes('\u0000')) throw nulIn(fieldPath(where, path), 'A key');
        stack.push({ value: item, path: [...path, key] });
      }
    }
  }
}

const nulIn = (path: string, what = 'The value') =>
  new AppError(
    400,
    'invalid_character',
    `${what} contains a NUL character (U+0000), which cannot be stored`,
    {
      path,
      errors: [{ path, code: 'invalid_character', message: `${what} contains a NUL character (U+0000)` }],
    },
  );

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when absent. */
function charsetOf(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType);
  return match?.[2]?.toLowerCase();
}

/**
 * A JSON body's exact text, checked by the same rules as every JSON body (strict UTF-8, depth,
 * valid JSON, no NUL): for a route that must see the bytes as sent (a signed webhook).
 * @throws AppError 400 `invalid_utf8`, `too_deep`, `invalid_json`, `invalid_character`
 */
export function checkedJsonText(bytes: Uint8Array): string {
  const text = decodeUtf8(bytes);
  assertJsonDepth(text, 'body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError(400, 'invalid_json', 'The request body is not valid JSON', { path: 'body' });
  }
  assertStorable(parsed, 'body');
  return text;
}

/**
 * The rules every input passes where it enters, before any route or schema sees it:
 * - Bodies are JSON or (import uploads) multipart; any other media type is 415.
 * - JSON bodies are read as bytes and decoded as strict UTF-8 (400 `invalid_utf8`); a
 *   Content-Type naming another charset is 415 `unsupported_charset`; nesting deeper than
 *   `MAX_JSON_DEPTH` is 400 `too_deep`; Fastify's own parser then applies its prototype-poisoning
 *   checks; a NUL anywhere (values and keys) is 400 `invalid_character` with its path.
 * - Query-string values and path parameters with a NUL are 400 `invalid_character`
 *   (`query.q`, `params.object`), checked before validation.
 * Multipart uploads are checked cell by cell by the import (see `import-values.ts`).
 */
export function installInputRules(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  // The API takes JSON (and multipart uploads, registered by the import routes): Fastify's lenient
  // text/plain parser would let another body through undecoded-checked, so it goes (415).
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const charset = charsetOf(req.headers['content-type'] ?? '');
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new AppError(415, 'unsupported_charset', 'Send the body as UTF-8 (charset=utf-8)'), undefined);
      return;
    }
    let text: string;
    try {
      text = decodeUtf8(body as Buffer);
      assertJsonDepth(text, 'body');
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    jsonParser(req, text, (error, parsed) => {
      if (error) return done(error, undefined);
      try {
        assertStorable(parsed, 'body');
      } catch (nul) {
        return done(nul as Error, undefined);
      }
      done(null, parsed);
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    try {
      assertStorable(req.params, 'params');
      assertStorable(req.query, 'query');
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
}
