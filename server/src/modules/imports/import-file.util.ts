import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Options, parse } from 'csv-parse';
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
  let sample: string;
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SAMPLE_BYTES, 0);
    sample = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
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
  const parser = createReadStream(filePath).pipe(parse(parserOptions(shape)));
  let headers: string[] | null = null;
  const rows: FileRow[] = [];
  const raggedRows: number[] = [];
  let raggedCount = 0;
  let number = -1;
  for await (const record of parser as AsyncIterable<string[]>) {
    number += 1;
    if (!headers) {
      headers = record.map((h, i) => h.trim() || `Column ${i + 1}`);
      continue;
    }
    if (record.length !== headers.length) {
      raggedCount += 1;
      if (raggedRows.length < 100) raggedRows.push(number);
    }
    if (rows.length < sample) rows.push({ number, cells: record });
  }
  return { headers: headers ?? [], sample: rows, totalRows: Math.max(0, number), raggedRows, raggedCount };
}
