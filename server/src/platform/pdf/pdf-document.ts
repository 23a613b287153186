import PDFDocument from 'pdfkit';

/**
 * A new A4 PDFKit document (https://pdfkit.org: pure JavaScript, no browser, so the embedded
 * default renders PDFs too) with 50 pt margins, compressed, dated `at`; `done` resolves with its
 * bytes once the caller has called `doc.end()`.
 */
export function openPdf(info: { title: string; author: string; at: Date }): {
  doc: PDFKit.PDFDocument;
  done: Promise<Buffer>;
} {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    compress: true,
    info: { Title: info.title, Author: info.author, CreationDate: info.at, ModDate: info.at },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  return { doc, done };
}
