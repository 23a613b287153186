import { openPdf } from '../../platform/pdf/pdf-document.js';
import type { QuoteView } from './quote.dto.js';

/** What the PDF of a quote prints besides the quote itself. */
export type PdfContext = {
  organization: { name: string; address: string | null };
  /** BCP 47: numbers, amounts and dates are written the organization's way (Intl). */
  locale: string;
  customer: { contact: string | null; company: string | null; email: string | null };
  /** The moment the document is dated (the sending time; a draft: now). */
  at: Date;
};

// The standard PDF fonts (Helvetica) carry WinAnsi only: narrow and thin spaces that some locales
// put in numbers become no-break spaces, which it has.
const printable = (s: string) => s.replace(/[\u202f\u2009]/g, '\u00a0');

/**
 * Renders a quote's PDF on the server with PDFKit (https://pdfkit.org: pure JavaScript, no
 * browser): the organization's name and address, the customer, the lines, the totals by tax
 * rate, the validity date, the terms and notes. Returns the document's bytes.
 */
export function renderQuotePdf(quote: QuoteView, context: PdfContext): Promise<Buffer> {
  const { locale } = context;
  const amount = new Intl.NumberFormat(locale, { style: 'currency', currency: quote.currency });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
  const percent = new Intl.NumberFormat(locale, { maximumFractionDigits: 4 });
  const dateOf = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
  const money = (v: string) => printable(amount.format(Number(v)));
  const day = (iso: string) => printable(dateOf.format(new Date(`${iso.slice(0, 10)}T00:00:00Z`)));

  const { doc, done } = openPdf({
    title: `${quote.number} ${quote.title}`,
    author: context.organization.name,
    at: context.at,
  });

  const left = 50;
  const right = doc.page.width - 50;
  const width = right - left;
  doc
    .font('Helvetica-Bold')
    .fontSize(18)
    .text(printable(context.organization.name), left, 50, { width: width / 2 });
  if (context.organization.address)
    doc
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#444')
      .text(printable(context.organization.address), { width: width / 2 });
  doc
    .fillColor('#000')
    .font('Helvetica-Bold')
    .fontSize(14)
    .text(
      `Quote ${quote.number}${quote.version > 1 ? ` (version ${quote.version})` : ''}`,
      left + width / 2,
      50,
      {
        width: width / 2,
        align: 'right',
      },
    )
    .font('Helvetica')
    .fontSize(9)
    .text(`Date: ${day(context.at.toISOString())}`, { width: width / 2, align: 'right' })
    .text(`Valid until: ${day(quote.valid_until)}`, { width: width / 2, align: 'right' });

  let y = Math.max(doc.y, 120) + 20;
  doc.font('Helvetica-Bold').fontSize(10).text('For', left, y);
  doc.font('Helvetica').fontSize(10);
  for (const part of [context.customer.company, context.customer.contact, context.customer.email])
    if (part) doc.text(printable(part), left);
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(12).text(printable(quote.title), left);
  y = doc.y + 10;

  // The line grid: description, quantity, unit price, discount, tax, amount.
  const cols = [
    { key: 'description', label: 'Description', x: left, w: 195, align: 'left' as const },
    { key: 'quantity', label: 'Qty', x: left + 200, w: 50, align: 'right' as const },
    { key: 'price', label: 'Unit price', x: left + 255, w: 75, align: 'right' as const },
    { key: 'discount', label: 'Discount', x: left + 335, w: 55, align: 'right' as const },
    { key: 'tax', label: 'Tax', x: left + 395, w: 35, align: 'right' as const },
    { key: 'net', label: 'Amount', x: left + 435, w: width - 435, align: 'right' as const },
  ];
  const header = () => {
    doc.font('Helvetica-Bold').fontSize(8.5);
    for (const c of cols) doc.text(c.label, c.x, y, { width: c.w, align: c.align });
    y += 14;
    doc
      .moveTo(left, y - 3)
      .lineTo(right, y - 3)
      .strokeColor('#999')
      .stroke();
    doc.font('Helvetica').fontSize(8.5);
  };
  header();
  const bottom = doc.page.height - 60;
  for (const line of quote.lines) {
    const cells: Record<string, string> = {
      description: printable(line.sku ? `${line.description} (${line.sku})` : line.description),
      quantity: printable(`${decimal.format(Number(line.quantity))}${line.unit ? ` ${line.unit}` : ''}`),
      price: money(line.unit_price),
      discount: line.discount
        ? line.discount.kind === 'percent'
          ? printable(`${percent.format(Number(line.discount.value))} %`)
          : money(line.discount_amount)
        : '',
      tax: printable(`${percent.format(Number(line.tax_rate))} %`),
      net: money(line.net),
    };
    const height = Math.max(12, doc.heightOfString(cells.description!, { width: 195 }) + 3);
    if (y + height > bottom) {
      doc.addPage();
      y = 50;
      header();
    }
    for (const c of cols) doc.text(cells[c.key]!, c.x, y, { width: c.w, align: c.align });
    y += height;
  }

  // Totals, right-aligned.
  const totals: [string, string, boolean?][] = [
    ['Subtotal', money(quote.subtotal)],
    ...(Number(quote.discount_total) > 0
      ? ([['Discounts', `−${money(quote.discount_total)}`]] as [string, string][])
      : []),
    ['Net', money(quote.net_total)],
    ...quote.taxes.map((t): [string, string] => [
      printable(`Tax ${percent.format(Number(t.rate))} % on ${money(t.base)}`),
      money(t.tax),
    ]),
    ['Total', money(quote.total), true],
  ];
  if (y + totals.length * 14 + 20 > bottom) {
    doc.addPage();
    y = 50;
  }
  y += 8;
  doc
    .moveTo(left + 255, y)
    .lineTo(right, y)
    .strokeColor('#999')
    .stroke();
  y += 6;
  for (const [label, value, strong] of totals) {
    doc.font(strong ? 'Helvetica-Bold' : 'Helvetica').fontSize(strong ? 11 : 9);
    doc.text(label, left + 200, y, { width: 180, align: 'right' });
    doc.text(value, left + 385, y, { width: width - 385, align: 'right' });
    y += strong ? 16 : 13;
  }
  doc.x = left;
  doc.y = y + 16;
  for (const [title, body] of [
    ['Terms', quote.terms],
    ['Notes', quote.notes],
  ] as const) {
    if (!body) continue;
    if (doc.y > bottom - 40) doc.addPage();
    doc.font('Helvetica-Bold').fontSize(10).text(title, left, doc.y, { width });
    doc.font('Helvetica').fontSize(9).text(printable(body), left, doc.y, { width });
    doc.moveDown();
  }
  doc.end();
  return done;
}
