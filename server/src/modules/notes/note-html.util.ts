import sanitizeHtml from 'sanitize-html';
import { badRequest } from '../../platform/errors/app-error.js';

/** Most characters of a note's plain text (what search reads). */
export const MAX_NOTE_TEXT = 20_000;

/** The tags a note may keep: what the rich-text editor produces, nothing that runs or loads. */
export const NOTE_TAGS = ['p', 'br', 'strong', 'em', 'ul', 'ol', 'li', 'a', 'blockquote', 'code', 'span'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * A mention of a member, as the note editor writes it: `<span data-mention="<user id>">@Ada</span>`.
 * The sanitizer keeps `data-mention` only when it is a user id (lower-cased), on a span only.
 */
const MENTION = /<span data-mention="([0-9a-f-]{36})">/g;
const LINK_REL = 'noopener noreferrer nofollow';
const SAFE_HREF = /^(https?:\/\/|mailto:)/i;

/**
 * sanitize-html's allowlist (https://github.com/apostrophecms/sanitize-html): NOTE_TAGS only;
 * on `a` only an http(s) or mailto `href`, and always `rel` + `target=_blank` (rebuilt, never
 * taken from the input); every other tag is dropped with its attributes, its text kept, except
 * for tags whose content is code or a document of its own (script, style...), dropped whole.
 */
const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: NOTE_TAGS,
  allowedAttributes: { a: ['href', 'rel', 'target'], span: ['data-mention'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  allowedClasses: {},
  allowedStyles: {},
  disallowedTagsMode: 'discard',
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'title',
    'iframe',
    'noembed',
    'noframes',
    'xmp',
    'template',
    'object',
  ],
  transformTags: {
    span: (_tagName, given) => {
      const id = (given['data-mention'] ?? '').trim();
      const attribs: sanitizeHtml.Attributes = UUID.test(id) ? { 'data-mention': id.toLowerCase() } : {};
      return { tagName: 'span', attribs };
    },
    a: (_tagName, attribs) => {
      const href = (attribs.href ?? '').trim();
      return {
        tagName: 'a',
        attribs: { ...(SAFE_HREF.test(href) ? { href } : {}), rel: LINK_REL, target: '_blank' },
      };
    },
  },
};

/** Line breaks after block ends, so the plain text keeps paragraphs and list items apart. */
const BLOCK_END = /<br\s*\/?>|<\/(p|li|blockquote|ul|ol)>/gi;

/** The text of sanitized HTML: tags gone, the entities sanitize-html writes decoded, lines trimmed. */
function plainText(safeHtml: string): string {
  const escaped = sanitizeHtml(safeHtml.replace(BLOCK_END, '$&\n'), {
    allowedTags: [],
    allowedAttributes: {},
  });
  return escaped
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The members a sanitized note mentions (`data-mention` spans), each once, in order. */
export function mentionsIn(safeHtml: string): string[] {
  return [...new Set([...safeHtml.matchAll(MENTION)].map((m) => m[1]!))];
}

/**
 * Cleans a note's HTML from the editor: `{html}` keeps only the allowlist above, `{text}` is its
 * plain text for search and event names, `{mentions}` the members it mentions (`mentionsIn`).
 * @throws AppError 400 at `path` when nothing readable is left (`empty_note`) or the text passes
 *   20,000 characters (`note_too_long`)
 */
export function sanitizeNote(
  input: string,
  path: string,
  /** A logged call, meeting or e-mail may have no text. */
  { allowEmpty = false }: { allowEmpty?: boolean } = {},
): { html: string; text: string; mentions: string[] } {
  const html = sanitizeHtml(input.replaceAll('\u0000', ''), OPTIONS).trim();
  const text = plainText(html);
  if (text === '' && !allowEmpty)
    throw badRequest('The note is empty once cleaned of unsafe markup', path, 'empty_note');
  if (text.length > MAX_NOTE_TEXT) {
    throw badRequest(`A note holds at most ${MAX_NOTE_TEXT} characters of text`, path, 'note_too_long');
  }
  return { html, text, mentions: mentionsIn(html) };
}
