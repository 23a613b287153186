import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TextDecoder } from 'node:util';
import { type Options, type Parser, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';

/** Delimiters Cairn recognizes, in the order ties are broken. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** What the first bytes of a file tell: its delimiter and whether it starts with a UTF-8 BOM. */
export type FileShape = { delimiter: string; hasBom: boolean };

const SAMPLE_BYTES = 64 * 1024;

/**
 * Detects the delimiter from the first 64 KiB: the candidate that splits the first lines into
 * the same number (> 1) of fields most consistently, quotes respected (so a comma inside a quoted
 * `;`-separated cell does not count). Falls back to `,`.
 */
export async function detectShape(filePath: string): Promise<FileShape> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SAMPLE_BYTES, 0);
    return shapeOf(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** `detectShape` of a file's first bytes (the first 64 KiB are read). */
export function shapeOf(head: Buffer): FileShape {
  let sample = head.subarray(0, SAMPLE_BYTES).toString('utf8');
  const hasBom = sample.charCodeAt(0) === 0xfeff;
  if (hasBom) sample = sample.slice(1);
  // Drop the last, probably cut, line of the sample.
  const lastBreak = sample.lastIndexOf('\n');
  if (lastBreak > 0 && sample.length >= SAMPLE_BYTES - 4) sample = sample.slice(0, lastBreak);
  let best = { delimiter: ',', score: 0 };
  for (const delimiter of DELIMITERS) {
    let rows: string[][];
    try {
      rows = parseSync(sample, {
        delimiter,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        to_line: 50,
      }) as string[][];
    } catch {
      continue;
    }
    if (rows.length === 0) continue;
    const width = rows[0]!.length;
    if (width < 2) continue;
    const consistent = rows.filter((r) => r.length === width).length / rows.length;
    const score = consistent * 1000 + width;
    if (score > best.score) best = { delimiter, score };
  }
  return { delimiter: best.delimiter, hasBom };
}

/** csv-parse options for a file of this shape: BOM stripped, CRLF or LF, ragged rows allowed. */
export function parserOptions(shape: FileShape, extra: Options = {}): Options {
  return {
    delimiter: shape.delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    ...extra,
  };
}

/** A data row of the file: its 1-based number (the header row is 0) and its cells. */
export type FileRow = { number: number; cells: string[] };

/**
 * Streams the file's data rows from row `after + 1` on (rows up to `after` are parsed and
 * dropped without being kept), reading the file in chunks: memory stays flat whatever its size.
 * A whole chunk is parsed at once: a reader that wants the first rows only reads small ones
 * (`chunkBytes`, 64 KiB by default).
 */
export async function* readRows(
  filePath: string,
  shape: FileShape,
  after = 0,
  options: { chunkBytes?: number } = {},
): AsyncGenerator<FileRow> {
  const source = createReadStream(filePath, { highWaterMark: options.chunkBytes ?? 64 * 1024 });
  const parser = source.pipe(parse(parserOptions(shape)));
  let number = -1;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      number += 1;
      if (number === 0 || number <= after) continue;
      yield { number, cells: record };
    }
  } finally {
    // A reader that stops early (the first rows of a file) ends the parser only: `pipe` leaves
    // the file open, paused with a chunk read, for good (an open file and 64 KiB per poll of an
    // import's page).
    source.destroy();
  }
}

/** The header row and the first `sample` data rows, plus the count of all data rows and ragged ones. */
export type FileSummary = {
  headers: string[];
  sample: FileRow[];
  totalRows: number;
  /** Data rows whose field count differs from the header's (reported, not fatal). */
  raggedRows: number[];
  raggedCount: number;
};

/** Reads the whole file once (streaming) to count its rows; keeps the headers and a sample. */
export async function summarizeFile(filePath: string, shape: FileShape, sample = 20): Promise<FileSummary> {
  const summary = summarizer(sample);
  for await (const record of createReadStream(filePath).pipe(parse(parserOptions(shape))))
    summary.add(record as string[]);
  return summary.result();
}

/** Builds a `FileSummary` from a file's records, fed in order. */
function summarizer(sample: number) {
  let headers: string[] | null = null;
  const rows: FileRow[] = [];
  const raggedRows: number[] = [];
  let raggedCount = 0;
  let number = -1;
  return {
    add(record: string[]): void {
      number += 1;
      if (!headers) {
        headers = record.map((h, i) => h.trim() || `Column ${i + 1}`);
        return;
      }
      if (record.length !== headers.length) {
        raggedCount += 1;
        if (raggedRows.length < 100) raggedRows.push(number);
      }
      if (rows.length < sample) rows.push({ number, cells: record });
    },
    result: (): FileSummary => ({
      headers: headers ?? [],
      sample: rows,
      totalRows: Math.max(0, number),
      raggedRows,
      raggedCount,
    }),
  };
}

/** What `receiveFile` learned of an upload while writing it. */
export type Received =
  | { kind: 'csv'; shape: FileShape; summary: FileSummary; encoding: TextEncoding }
  | { kind: 'zip' }
  | { kind: 'invalid_csv'; error: Error }
  | { kind: 'binary'; what: string }
  | { kind: 'invalid_encoding'; offset: number };

/** The text encodings an upload is read in (WHATWG labels, decoded by Node's TextDecoder). */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/** File signatures of what is not text: refused (415) rather than read as a CSV of garbage. */
const SIGNATURES: [number[], string][] = [
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
  [[0x1f, 0x8b], 'a gzip archive'],
  [[0x42, 0x5a, 0x68], 'a bzip2 archive'],
  [[0x37, 0x7a, 0xbc, 0xaf], 'a 7-Zip archive'],
  [[0x52, 0x61, 0x72, 0x21], 'a RAR archive'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an old Office file (.xls): save it as .xlsx or CSV'],
  [[0x4d, 0x5a], 'a program'],
  [[0x7f, 0x45, 0x4c, 0x46], 'a program'],
];

/**
 * What the first bytes of an upload say it is: text in an encoding (a byte-order mark for
 * UTF-16 and UTF-8; UTF-16 without one by its NUL bytes; UTF-8 when the bytes are valid UTF-8;
 * otherwise Windows-1252, which Latin-1 files are read as too), or not text (`binary`: a known
 * signature, or more than a few NUL bytes that are not UTF-16).
 */
export function encodingOf(head: Buffer): { encoding: TextEncoding } | { binary: string } {
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le' };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be' };
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8' };
  for (const [signature, what] of SIGNATURES)
    if (head.length >= signature.length && signature.every((b, i) => head[i] === b)) return { binary: what };
  const sample = head.subarray(0, 4096 - (head.length % 2 === 0 ? 0 : 1));
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < sample.length; i++) if (sample[i] === 0) i % 2 === 0 ? evenNul++ : oddNul++;
  const half = sample.length / 2;
  // UTF-16 text of Latin letters has a NUL in every other byte.
  if (oddNul > half * 0.6 && evenNul === 0) return { encoding: 'utf-16le' };
  if (evenNul > half * 0.6 && oddNul === 0) return { encoding: 'utf-16be' };
  // A stray NUL in a cell is that cell's problem (`invalid_character`); many are not text.
  if (evenNul + oddNul > 4 + sample.length / 100) return { binary: 'not text (it is full of NUL bytes)' };
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, SAMPLE_BYTES), { stream: true });
    return { encoding: 'utf-8' };
  } catch {
    return { encoding: 'windows-1252' };
  }
}

/**
 * Writes an upload to `filePath` and summarizes it as CSV (`summarizeFile`, no sample rows) while
 * it arrives, instead of reading the file again once written: the first 64 KiB decide its shape
 * (`shapeOf`), then each chunk goes to the file and to csv-parse (the upload waits for the
 * slower of the two). An .xlsx workbook (a zip, by its first bytes) is only written.
 * @returns the summary, `zip`, or the error csv-parse stopped at (the file is written whole anyway)
 */
export async function receiveFile(stream: Readable, filePath: string): Promise<Received> {
  const head: Buffer[] = [];
  let headBytes = 0;
  let parser: Parser | null = null;
  let shape: FileShape | null = null;
  let error: Error | null = null;
  let zip = false;
  let binary: string | null = null;
  let encoding: TextEncoding = 'utf-8';
  /** Decodes the upload when it is not UTF-8; checks it is valid UTF-8 when it says it is. */
  let decoder: TextDecoder | null = null;
  let offset = 0;
  let invalidAt: number | null = null;
  /** Bytes of a character beyond ASCII were written as UTF-8: the file cannot be read otherwise now. */
  let beyondAscii = false;
  const summary = summarizer(0);
  /** Hands bytes to csv-parse; resolves when it takes more. */
  const feed = (chunk: Buffer) =>
    new Promise<void>((resolve) => {
      if (!parser || error || parser.write(chunk)) resolve();
      else {
        const go = () => {
          parser?.off('error', go);
          resolve();
        };
        parser.once('drain', go).once('error', go);
      }
    });
  const start = async () => {
    const first = Buffer.concat(head);
    head.length = 0;
    zip = first.length >= 4 && first.readUInt32LE(0) === ZIP_MAGIC;
    if (zip) return first;
    const detected = encodingOf(first);
    if ('binary' in detected) {
      binary = detected.binary;
      return;
    }
    encoding = detected.encoding;
    decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
    const text = decode(first);
    if (text === null) return;
    shape = shapeOf(text);
    parser = parse(parserOptions(shape));
    parser.on('data', (record: string[]) => summary.add(record));
    parser.on('error', (e) => {
      error ??= e;
    });
    await feed(text);
    return text;
  };
  /** The chunk as UTF-8 (null once it is not valid UTF-8: the upload is refused). */
  const decode = (chunk: Buffer, last = false): Buffer | null => {
    if (invalidAt !== null || !decoder) return null;
    try {
      const text = decoder.decode(chunk, { stream: !last });
      offset += chunk.length;
      if (encoding !== 'utf-8') return Buffer.from(text, 'utf8');
      // Fewer characters than bytes: a character beyond ASCII (or one cut at the chunk's end).
      if (text.length !== chunk.length) beyondAscii = true;
      return chunk;
    } catch {
      // ASCII so far, then a byte that is not UTF-8: a Windows-1252 file (the same bytes up to here).
      if (encoding === 'utf-8' && !beyondAscii && !hasUtf8Beyond(chunk)) {
        encoding = 'windows-1252';
        decoder = new TextDecoder(encoding);
        return decode(chunk, last);
      }
      invalidAt = offset;
      return null;
    }
  };
  /** Binary and refused uploads are not written: their bytes are drained. */
  const kept = () => !binary && invalidAt === null;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const next = async (): Promise<Buffer | null> => {
        if (zip) {
          await feed(chunk);
          return chunk;
        }
        if (shape) {
          const text = decode(chunk);
          if (text) await feed(text);
          return text;
        }
        if (binary || invalidAt !== null) return null;
        head.push(chunk);
        headBytes += chunk.length;
        return headBytes >= SAMPLE_BYTES ? ((await start()) ?? null) : null;
      };
      next().then((out) => done(null, out && kept() ? out : undefined), done);
    },
    flush(done) {
      const end = async () => {
        if (!shape && !zip && !binary && invalidAt === null) {
          const text = await start();
          if (text && kept()) this.push(text);
        }
        const rest = shape ? decode(Buffer.alloc(0), true) : null;
        if (rest && encoding !== 'utf-8' && rest.length > 0 && kept()) {
          this.push(rest);
          await feed(rest);
        }
        const p = parser;
        if (!p || error) return;
        await new Promise<void>((resolve) => {
          p.once('end', resolve).once('error', () => resolve());
          p.end();
        });
      };
      end().then(() => done(), done);
    },
  });
  await pipeline(stream, tap, createWriteStream(filePath, { mode: 0o600 }));
  if (zip) return { kind: 'zip' };
  if (binary) return { kind: 'binary', what: binary };
  if (invalidAt !== null) return { kind: 'invalid_encoding', offset: invalidAt };
  if (error) return { kind: 'invalid_csv', error };
  return { kind: 'csv', shape: shape!, summary: summary.result(), encoding };
}

/** Whether bytes hold a character beyond ASCII written as valid UTF-8 (not only bytes UTF-8 refuses). */
const hasUtf8Beyond = (chunk: Buffer) => /[\u0080-\ufffc\ufffe-\u{10ffff}]/u.test(chunk.toString('utf8'));

/** The first four bytes of a zip file (an .xlsx workbook), little-endian. */
const ZIP_MAGIC = 0x04034b50;
