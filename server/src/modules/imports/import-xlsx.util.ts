import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';

/** A typed-in value a spreadsheet turned into a formula: `+1-532-344-1362` became `=+1-532-344-1362`. */
const TYPED_VALUE_FORMULA = /^[+\-\d\s().]+$/;

/**
 * One cell as the CSV path would see it. Dates (by their number format) become `YYYY-MM-DD`, or
 * an ISO date-time when they have a time; rich text and hyperlinks their text; an error its code
 * (`#N/A`, flagged later); a formula its cached result, except a formula that is a typed-in value
 * the spreadsheet evaluated (a phone number), kept as `=...` so the import flags it.
 */
export function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof value !== 'object') return String(value);
  if ('formula' in value || 'sharedFormula' in value) {
    const formula = 'formula' in value ? value.formula : value.sharedFormula;
    if (formula && TYPED_VALUE_FORMULA.test(formula)) return `=${formula}`;
    return cellText((value.result ?? null) as ExcelJS.CellValue);
  }
  if ('error' in value) return value.error;
  if ('richText' in value) return value.richText.map((r) => r.text).join('');
  if ('text' in value) return cellText(value.text as ExcelJS.CellValue);
  return '';
}

/**
 * Converts the first worksheet of an `.xlsx` workbook to a CSV file (comma-separated, quoted as
 * needed, no BOM), streaming: the workbook is read entry by entry (exceljs's streaming reader,
 * https://github.com/exceljs/exceljs#streaming-xlsx-reader) and rows are written as they come.
 * Empty rows are dropped; a row shorter than the header stays short (a ragged row).
 * @returns the rows written, header included
 * @throws when the file is not a readable workbook or has no worksheet
 */
export async function xlsxToCsv(xlsxPath: string, csvPath: string): Promise<number> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(xlsxPath, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles tell a date from a number.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const csv = stringify({ record_delimiter: '\n' });
  const written = pipeline(csv, createWriteStream(csvPath, { mode: 0o600 }));
  let rows = 0;
  try {
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const values = (row.values as ExcelJS.CellValue[]).slice(1);
        const cells = Array.from(values, cellText);
        while (cells.length > 0 && cells.at(-1) === '') cells.pop();
        if (cells.length === 0) continue;
        if (!csv.write(cells)) await new Promise((resolve) => csv.once('drain', resolve));
        rows += 1;
      }
      break; // the first worksheet only
    }
  } finally {
    csv.end();
    await written;
  }
  if (rows === 0) throw new Error('The workbook has no rows in its first worksheet');
  return rows;
}
