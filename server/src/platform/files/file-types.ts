/**
 * The kinds of file Cairn accepts as attachments (the allowlist): each with the type its magic
 * bytes must show (file-type's `ext`), the extensions a name may carry for it, and the media type
 * it is served as. Anything else is refused, SVG and HTML included (they are active content).
 */
export type FileKind = {
  /** file-type's `ext` for its magic bytes; `text` for plain text, which has none. */
  detected: string;
  extensions: readonly string[];
  /** The media type a download carries. */
  mime: string;
  /** Images are re-encoded (metadata and anything appended dropped) before they are stored. */
  image?: 'jpeg' | 'png' | 'gif' | 'webp';
};

export const ALLOWED_KINDS: readonly FileKind[] = [
  { detected: 'jpg', extensions: ['jpg', 'jpeg', 'jfif'], mime: 'image/jpeg', image: 'jpeg' },
  { detected: 'png', extensions: ['png'], mime: 'image/png', image: 'png' },
  { detected: 'gif', extensions: ['gif'], mime: 'image/gif', image: 'gif' },
  { detected: 'webp', extensions: ['webp'], mime: 'image/webp', image: 'webp' },
  { detected: 'pdf', extensions: ['pdf'], mime: 'application/pdf' },
  {
    detected: 'docx',
    extensions: ['docx'],
    mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  },
  {
    detected: 'xlsx',
    extensions: ['xlsx'],
    mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  },
  {
    detected: 'pptx',
    extensions: ['pptx'],
    mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  },
  { detected: 'odt', extensions: ['odt'], mime: 'application/vnd.oasis.opendocument.text' },
  { detected: 'ods', extensions: ['ods'], mime: 'application/vnd.oasis.opendocument.spreadsheet' },
  { detected: 'odp', extensions: ['odp'], mime: 'application/vnd.oasis.opendocument.presentation' },
  { detected: 'text', extensions: ['txt', 'csv', 'tsv', 'md', 'log'], mime: 'text/plain; charset=utf-8' },
];

/** The extension of a file name, lower-cased, without the dot ('' when it has none). */
export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Every extension the allowlist accepts, for messages. */
export const ALLOWED_EXTENSIONS = ALLOWED_KINDS.flatMap((k) => k.extensions);

/**
 * Whether text starts like markup a browser would run or render (the WHATWG MIME Sniffing
 * standard's HTML patterns, §7.1, plus XML and SVG): such a "text" file is refused.
 */
export function looksLikeMarkup(head: string): boolean {
  const start = head
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, 64)
    .toLowerCase();
  return /^<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--|\?xml|svg|xsl|object|embed|meta|link)[\s>/]/.test(
    start,
  );
}
