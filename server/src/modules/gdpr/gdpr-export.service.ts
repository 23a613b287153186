import { createRequire } from 'node:module';
import { PassThrough, type Readable } from 'node:stream';
import type { Archiver, ArchiverOptions } from 'archiver';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import type { Services } from '../../platform/http/types.js';
import { getContact } from '../contacts/contact.service.js';
import { filesOfRecordIn, openStoredFile } from '../files/file.service.js';
import { notesOfRecordIn } from '../notes/note.service.js';
import { tasksOfRecordIn } from '../tasks/task.service.js';
import { type TimelineEntryView, timelineOf } from '../timeline/timeline.service.js';

/** archiver (a CommonJS module whose typings have no default export), loaded as Node loads it. */
const archiver = createRequire(import.meta.url)('archiver') as (
  format: 'zip',
  options?: ArchiverOptions,
) => Archiver;

const README = `Personal data held by Cairn about one contact (GDPR Art. 15, subject access).

contact.json   the contact's fields (names, e-mails, phones, companies, custom fields)
notes.json     the notes written on the contact
tasks.json     the tasks on the contact
files.json     the files attached to the contact (name, type, size, status, checksum)
files/         the stored files themselves
events.json    the contact's history: every recorded change, with its words and data
consent.json   consent records (this install keeps none yet: an empty list)
`;

/** A file's name inside the archive: unique (its id first) and without path parts. */
const entryName = (id: string, name: string) => `files/${id}-${name.replace(/[\\/:*?"<>|]/g, '_')}`;

/**
 * Everything Cairn holds about a contact, as a ZIP streamed while it is written (archiver): the
 * contact's fields, notes, tasks, files (metadata and the stored bytes), its history and consent.
 * The `personal_data.exported` audit entry is written before the first byte.
 * @returns the archive's stream and a file name for it
 * @throws 404 when the tenant has no such contact
 */
export async function exportContactData(
  services: Services,
  ctx: TenantContext,
  id: string,
  source: AuditSource,
): Promise<{ stream: Readable; fileName: string }> {
  const contact = await getContact(services, ctx, id);
  const record = { object: 'contact', id };
  const { notes, tasks, fileRows } = await withTenant(
    services.database,
    ctx,
    async (scope) => ({
      notes: await notesOfRecordIn(scope, record),
      tasks: await tasksOfRecordIn(scope, record),
      fileRows: await filesOfRecordIn(scope, record),
    }),
    { readOnly: true },
  );
  const events: TimelineEntryView[] = [];
  for (let cursor: string | undefined, n = 0; n < 1000; n++) {
    const page = await timelineOf(services, ctx, record, { limit: 200, cursor });
    events.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  await withTenant(services.database, ctx, (scope) =>
    appendAudit(scope, source, {
      action: 'personal_data.exported',
      target: { type: 'contact', id },
      details: { notes: notes.length, tasks: tasks.length, files: fileRows.length, events: events.length },
    }),
  );
  const zip = archiver('zip', { zlib: { level: 6 } });
  const out = new PassThrough();
  zip.on('error', (error: Error) => out.destroy(error));
  zip.pipe(out);
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  zip.append(README, { name: 'README.txt' });
  zip.append(json(contact), { name: 'contact.json' });
  zip.append(json(notes), { name: 'notes.json' });
  zip.append(json(tasks), { name: 'tasks.json' });
  zip.append(
    json(
      fileRows.map((f) => ({
        id: f.id,
        name: f.name,
        status: f.status,
        content_type: f.contentType,
        size: f.sizeBytes,
        sha256: f.sha256,
        uploaded_at: new Date(f.createdAt).toISOString(),
        in_archive: f.status === 'stored' ? entryName(f.id, f.name) : null,
      })),
    ),
    { name: 'files.json' },
  );
  zip.append(json(events), { name: 'events.json' });
  zip.append(json([]), { name: 'consent.json' });
  // The files one after another: each is opened only when the archive reaches it.
  (async () => {
    for (const f of fileRows) {
      const stream = await openStoredFile(services, f);
      if (!stream) continue;
      zip.append(stream, { name: entryName(f.id, f.name) });
      await new Promise<void>((resolve, reject) => {
        stream.once('end', resolve);
        stream.once('error', reject);
      });
    }
    await zip.finalize();
  })().catch((error) => out.destroy(error as Error));
  const who = [contact.first_name, contact.last_name].filter(Boolean).join('-') || 'contact';
  return {
    stream: out,
    fileName: `personal-data-${who.replace(/[^\w.-]+/g, '_').slice(0, 60)}-${new Date().toISOString().slice(0, 10)}.zip`,
  };
}
