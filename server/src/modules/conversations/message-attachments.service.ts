import { Readable } from 'node:stream';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { type FileRow, openStoredFile, uploadFile } from '../files/file.service.js';
import type { AttachmentMeta } from './inbound.service.js';

/**
 * Message attachments (issue 23) through the files pipeline (`modules/files`): an inbound
 * e-mail's attachments are received into quarantine, checked (size limit, type sniffed from the
 * magic bytes against the allowlist, the ClamAV scan when configured, images re-encoded) and kept
 * in the safe store, on the conversation's contact (their Files panel and GDPR export and erasure
 * see them) or, with no contact yet, on the conversation. A refused one keeps its name and why.
 * Outbound: a file already stored (uploaded to the contact) is attached by its id.
 */

type Row = { conversation_id: string; contact_id: string | null; attachments: AttachmentMeta[] };

/**
 * Runs the stored message's attachments through the files pipeline and notes each outcome on the
 * message (`file_id`, or `status` and `reason`). Called after the message's transaction committed
 * (the pipeline writes in transactions of its own), for a synced message and a provider webhook's
 * alike; never throws for one refused attachment.
 * @param files the attachments' bytes in the order of the message's `attachments`: a buffer longer
 *   than `FILE_MAX_BYTES` may hold only the first `FILE_MAX_BYTES + 1` bytes (it is refused as too
 *   large); null leaves that attachment as it is (its bytes were not received)
 */
export async function storeInboundAttachments(
  services: Services,
  orgId: string,
  messageId: string,
  files: (Buffer | null)[],
): Promise<void> {
  if (!files.some((f) => f !== null)) return;
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const row = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      (
        await scope.conn.query<Row>(
          `select m.conversation_id, v.contact_id, m.attachments
             from messages m join conversations v on v.org_id = m.org_id and v.id = m.conversation_id
            where m.org_id = $1 and m.id = $2`,
          [orgId, messageId],
        )
      ).rows[0],
    { readOnly: true },
  );
  if (!row) return;
  const record = row.contact_id
    ? { object: 'contact', id: row.contact_id }
    : { object: 'conversation', id: row.conversation_id };
  const max = services.config.files.maxBytes;
  const notes: AttachmentMeta[] = [];
  for (const [i, meta] of row.attachments.entries()) {
    const content = files[i];
    if (!content) {
      notes.push(meta);
      continue;
    }
    try {
      const stored = await uploadFile(services, ctx, {
        record,
        name: meta.filename ?? `attachment-${i + 1}${extensionFor(meta.content_type)}`,
        declaredType: meta.content_type,
        // Past the limit, only the first bytes over it are read: the pipeline refuses it (413).
        stream: Readable.from([content.length > max ? content.subarray(0, max + 1) : content]),
        truncated: () => content.length > max,
      });
      notes.push({ ...meta, file_id: stored.id, status: 'stored', reason: null });
    } catch (error) {
      const e = error as AppError;
      notes.push({
        ...meta,
        file_id: null,
        status: e.code === 'infected' ? 'infected' : 'rejected',
        reason: (e instanceof AppError ? e.message : 'The file could not be checked').slice(0, 300),
      });
    }
  }
  await withTenant(services.database, ctx, (scope) =>
    scope.conn.query('update messages set attachments = $3 where org_id = $1 and id = $2', [
      orgId,
      messageId,
      JSON.stringify(notes),
    ]),
  );
}

const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'application/pdf': '.pdf',
  'text/plain': '.txt',
  'text/csv': '.csv',
};
/** A name for an attachment that has none (an inline image): its type's usual extension. */
const extensionFor = (type: string) => EXTENSIONS[type.split(';')[0]!.trim().toLowerCase()] ?? '';

/**
 * The files a message sends, checked in the caller's transaction: each stored in this
 * organization (another's is a 404 at its path), at most 10 and 25 MB in all.
 * @throws 404 `not_found`, 409 `file_not_stored`, 422 `attachments_too_large`
 */
export async function outboundAttachmentsIn(
  scope: TenantScope,
  ids: string[],
  path = 'body.attachments',
): Promise<AttachmentMeta[]> {
  if (ids.length === 0) return [];
  const { rows } = await scope.conn.query<{
    id: string;
    name: string;
    size_bytes: string;
    content_type: string | null;
    status: string;
  }>(
    'select id, name, size_bytes, content_type, status from files where org_id = $1 and id = any($2::uuid[])',
    [scope.ctx.orgId, ids],
  );
  const out: AttachmentMeta[] = [];
  let total = 0;
  for (const [i, id] of ids.entries()) {
    const f = rows.find((r) => r.id === id);
    if (!f)
      throw new AppError(404, 'not_found', `No file ${id}`, {
        path: `${path}[${i}]`,
        errors: [{ path: `${path}[${i}]`, code: 'not_found', message: 'No such file' }],
      });
    if (f.status !== 'stored')
      throw new AppError(409, 'file_not_stored', `The file ${f.name} is ${f.status}: it cannot be sent`, {
        path: `${path}[${i}]`,
      });
    total += Number(f.size_bytes);
    out.push({
      filename: f.name,
      content_type: f.content_type ?? 'application/octet-stream',
      size: Number(f.size_bytes),
      file_id: f.id,
      status: 'stored',
      reason: null,
    });
  }
  if (total > OUTBOUND_MAX_BYTES)
    throw new AppError(
      422,
      'attachments_too_large',
      `Attachments of ${Math.ceil(total / 1_048_576)} MB: at most 25 MB go out on one message`,
      { path },
    );
  return out;
}

/** What one e-mail may carry in all (most providers refuse more). */
const OUTBOUND_MAX_BYTES = 25 * 1_048_576;

/** The attachments of an outgoing message as nodemailer takes them: streams from the safe store. */
export async function mailAttachmentsOf(
  services: Services,
  orgId: string,
  attachments: AttachmentMeta[],
): Promise<{ filename: string; contentType: string; content: Readable }[]> {
  const ids = attachments.flatMap((a) => (a.file_id ? [a.file_id] : []));
  if (ids.length === 0) return [];
  const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
  const rows = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      (
        await scope.conn.query<{ id: string; status: FileRow['status']; storageKey: string | null }>(
          `select id, status, storage_key as "storageKey" from files where org_id = $1 and id = any($2::uuid[])`,
          [orgId, ids],
        )
      ).rows,
    { readOnly: true },
  );
  const out: { filename: string; contentType: string; content: Readable }[] = [];
  for (const a of attachments) {
    const row = rows.find((r) => r.id === a.file_id);
    const stream = row ? await openStoredFile(services, row as FileRow) : undefined;
    if (!stream) throw new Error(`attachment_missing: ${a.filename ?? a.file_id} is no longer stored`);
    out.push({ filename: a.filename ?? 'attachment', contentType: a.content_type, content: stream });
  }
  return out;
}
