import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
 */
export async function* readRows(filePath: string, shape: FileShape, after = 0): AsyncGenerator<FileRow> {
  const parser = createReadStream(filePath).pipe(parse(parserOptions(shape)));
  let number = -1;
  for await (const record of parser as AsyncIterable<string[]>) {
    number += 1;
    if (number === 0 || number <= after) continue;
    yield { number, cells: record };
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
  | { kind: 'csv'; shape: FileShape; summary: FileSummary }
  | { kind: 'zip' }
  | { kind: 'invalid_csv'; error: Error };

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
    if (zip) return;
    shape = shapeOf(first);
    parser = parse(parserOptions(shape));
    parser.on('data', (record: string[]) => summary.add(record));
    parser.on('error', (e) => {
      error ??= e;
    });
    await feed(first);
  };
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const next = async () => {
        if (shape || zip) await feed(chunk);
        else {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= SAMPLE_BYTES) await start();
        }
      };
      next().then(() => done(null, chunk), done);
    },
    flush(done) {
      const end = async () => {
        if (!shape && !zip) await start();
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
  if (error) return { kind: 'invalid_csv', error };
  return { kind: 'csv', shape: shape!, summary: summary.result() };
}

/** The first four bytes of a zip file (an .xlsx workbook), little-endian. */
const ZIP_MAGIC = 0x04034b50;
