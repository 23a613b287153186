import { openPdf } from '../../platform/pdf/pdf-document.js';
import type { ReportResultView } from './report-engine.js';

/** One report in a PDF: a saved report alone, or a dashboard's widget. */
export type PdfSection = {
  name: string;
  /** The report's view (`bar`, `line`, `pie`, `number`, `table`, ...). */
  view: string;
  /** Null when the widget could not run (`problem` says why). */
  result: ReportResultView | null;
  /** A single number's value over the period before, when the dashboard has a date range. */
  previous?: { value: number | null; count: number } | null | undefined;
  problem: string | null;
};

export type ReportPdf = {
  title: string;
  organization: string;
  /** A line under the title: the dashboard's date range and time zone, the report's object. */
  subtitle: string;
  /** BCP 47: numbers are written the organization's way (Intl). */
  locale: string;
  /** The moment the document is dated. */
  at: Date;
  sections: PdfSection[];
};

/**
 * A single number's change against the period before, in words (`+12.5 % against the previous
 * period`); null without a previous period, or when it was zero (no ratio to give).
 */
export function changeAgainst(
  now: { value: number | null; count: number },
  before: { value: number | null; count: number } | null | undefined,
): string | null {
  if (!before) return null;
  const [a, b] = [now.value ?? now.count, before.value ?? before.count];
  if (!b) return a ? 'new against an empty previous period' : null;
  const pct = ((a - b) / Math.abs(b)) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} % against the previous period`;
}

/** Bars a chart draws at most; the rest are in the table view and the CSV. */
const MAX_BARS = 15;
/** Rows a table view prints at most. */
const MAX_ROWS = 40;

// The standard PDF fonts (Helvetica) carry WinAnsi only: narrow and thin spaces that some locales
// put in numbers become no-break spaces, which it has; other characters outside it become '?'.
const printable = (s: string) =>
  s
    .replace(/[\u202f\u2009]/g, '\u00a0')
    .replace(/[^\t\n\u0020-\u00ff\u2013\u2014\u2018-\u201d\u2022\u2026\u20ac]/g, '?');

/**
 * Renders reports as a PDF on the server with PDFKit (https://pdfkit.org: pure JavaScript, no
 * browser, so the embedded default works): a title page header, then per report its name, the
 * measure, and its chart drawn with PDF vector shapes (a horizontal bar per group, largest first:
 * every chart view prints as bars, which read on paper), a single number view as the total, a
 * table or pivot view as a table of groups. An empty result prints "No records match", a report
 * that could not run prints its problem. Returns the document's bytes.
 */
export function renderReportPdf(input: ReportPdf): Promise<Buffer> {
  const number = new Intl.NumberFormat(input.locale, { maximumFractionDigits: 2 });
  const whole = new Intl.NumberFormat(input.locale, { maximumFractionDigits: 0 });
  const { doc, done } = openPdf({ title: input.title, author: input.organization, at: input.at });
  const left = 50;
  const right = doc.page.width - 50;
  const width = right - left;
  const bottom = () => doc.page.height - 50;
  /** Starts a new page unless `height` points still fit on this one. */
  const room = (height: number) => {
    if (doc.y + height > bottom()) doc.addPage();
  };

  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor('#555')
    .text(printable(input.organization), left, 50, { width });
  doc.font('Helvetica-Bold').fontSize(18).fillColor('#000').text(printable(input.title), { width });
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor('#555')
    .text(
      printable(`${input.subtitle} · printed ${input.at.toISOString().slice(0, 16).replace('T', ' ')} UTC`),
      {
        width,
      },
    );
  doc.moveDown(1);

  for (const section of input.sections) {
    room(80);
    doc
      .font('Helvetica-Bold')
      .fontSize(13)
      .fillColor('#000')
      .text(printable(section.name), left, doc.y, { width });
    const result = section.result;
    if (!result) {
      doc
        .font('Helvetica')
        .fontSize(10)
        .fillColor('#a00')
        .text(printable(section.problem ?? 'Could not run'));
      doc.moveDown(1);
      continue;
    }
    const dims = result.dimensions.map((d) => d.label + (d.bucket ? ` (${d.bucket})` : '')).join(' and ');
    doc
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#555')
      .text(printable(`${result.measure.label}${dims ? ` by ${dims}` : ''}`), { width });
    doc.moveDown(0.4);
    const value = (v: number | null) => (v === null ? '-' : number.format(v));
    if (result.total.count === 0) {
      doc.font('Helvetica-Oblique').fontSize(10).fillColor('#000').text('No records match this report.');
    } else if (section.view === 'number') {
      doc
        .font('Helvetica-Bold')
        .fontSize(28)
        .fillColor('#000')
        .text(printable(value(result.total.value ?? result.total.count)));
      const change = changeAgainst(result.total, section.previous);
      if (change) doc.font('Helvetica').fontSize(10).fillColor('#555').text(printable(change));
    } else if (section.view === 'table' || section.view === 'pivot') {
      const cells = result.cells.slice(0, MAX_ROWS);
      const valueX = left + width * 0.62;
      const countX = left + width * 0.82;
      doc.font('Helvetica-Bold').fontSize(9).fillColor('#000');
      const headY = doc.y;
      doc.text(printable(dims || 'Group'), left, headY, { width: width * 0.6 });
      doc.text(printable(result.measure.label), valueX, headY, { width: width * 0.18, align: 'right' });
      doc.text('Records', countX, headY, { width: width * 0.18, align: 'right' });
      doc.font('Helvetica').fontSize(9);
      for (const cell of cells) {
        room(14);
        const y = doc.y + 2;
        const label = cell.other ? 'Other' : cell.keys.map((k) => k.label).join(' · ');
        doc.text(printable(label), left, y, { width: width * 0.6, lineBreak: false, ellipsis: true });
        doc.text(printable(value(cell.value)), valueX, y, { width: width * 0.18, align: 'right' });
        doc.text(whole.format(cell.count), countX, y, { width: width * 0.18, align: 'right' });
      }
      if (result.cells.length > cells.length)
        doc.text(`… and ${result.cells.length - cells.length} more groups (in the CSV export)`, left);
    } else {
      const cells = result.cells.slice(0, MAX_BARS);
      const max = Math.max(...cells.map((c) => Math.abs(c.value ?? c.count)), 1);
      const labelW = width * 0.35;
      const barX = left + labelW + 6;
      const barW = width - labelW - 80;
      for (const cell of cells) {
        room(16);
        const y = doc.y + 2;
        const v = cell.value ?? cell.count;
        const label = cell.other ? 'Other' : cell.keys.map((k) => k.label).join(' · ');
        doc
          .font('Helvetica')
          .fontSize(9)
          .fillColor('#000')
          .text(printable(label), left, y, { width: labelW, lineBreak: false, ellipsis: true });
        doc.rect(barX, y, Math.max(1, (Math.abs(v) / max) * barW), 10).fill(cell.other ? '#bbb' : '#3b6fd4');
        doc.fillColor('#000').text(printable(value(v)), barX + barW + 6, y, { width: 70, lineBreak: false });
        doc.y = y + 14;
        doc.x = left;
      }
      if (result.cells.length > cells.length)
        doc
          .fontSize(8)
          .fillColor('#555')
          .text(`${result.cells.length - cells.length} smaller groups not drawn`, left);
    }
    doc.moveDown(0.3);
    doc
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#000')
      .text(
        printable(
          `Total: ${value(result.total.value ?? result.total.count)} over ${whole.format(result.total.count)} records`,
        ),
        left,
      );
    if (result.note) doc.fillColor('#555').text(printable(result.note), left, doc.y, { width });
    doc.moveDown(1.2);
  }
  doc.end();
  return done;
}
