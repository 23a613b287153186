import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { and, desc, eq } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict, forbidden, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import { ScannerUnavailableError } from '../../platform/files/clamav.js';
import { inspectFile } from '../../platform/files/file-inspection.js';
import { fileStoreOf, receiveToQuarantine } from '../../platform/files/file-store.js';
import { signFileLink, verifyFileLink } from '../../platform/files/file-tokens.js';
import type { Services } from '../../platform/http/types.js';
import { assertRoom } from '../../platform/plans/plan-limits.js';
import { findAnyRecordIn } from '../../platform/registry/record-lookup.js';
import type { FileViewValue } from './file.dto.js';
import { files } from './file.schema.js';

export type FileRow = typeof files.$inferSelect;
type RecordRef = { object: string; id: string };

const iso = (value: string) => new Date(value).toISOString();

function fileView(r: FileRow): FileViewValue {
  return {
    id: r.id,
    record: { object: r.recordObject, id: r.recordId },
    name: r.name,
    size: r.sizeBytes,
    sha256: r.sha256,
    content_type: r.contentType,
    detected_type: r.detectedType,
    status: r.status,
    rejection: r.rejectionCode ? { code: r.rejectionCode, reason: r.rejectionReason ?? '' } : null,
    scan: (r.scan as FileViewValue['scan']) ?? null,
    uploaded_by: r.uploadedBy,
    created_at: iso(r.createdAt),
  };
}

/** A file name as kept and shown: its last path part, control characters dropped, at most 255 characters. */
export function cleanFileName(name: string): string {
  const base = (name.split(/[\\/]/).pop() ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim();
  return (base || 'file').slice(-255);
}

/**
 * Checks that a record of `object` (standard or custom) exists in the tenant and is not archived.
 * @throws 404 for an unknown object or record (another tenant's included), 422 `record_archived`
 */
export async function assertAttachable(services: Services, ctx: TenantContext, record: RecordRef) {
  await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const found = await findAnyRecordIn(scope, record.object, record.id);
      if (!found) throw notFound(record.object, record.id);
      if (found.archived)
        throw new AppError(422, 'record_archived', `This ${record.object} is archived; restore it first`, {
          path: 'querystring.id',
        });
    },
    { readOnly: true },
  );
}

const eventData = (row: Pick<FileRow, 'name' | 'sizeBytes'>) => ({ name: row.name, size: row.sizeBytes });
const relatedOf = (row: Pick<FileRow, 'recordObject' | 'recordId'>) => [
  { object: row.recordObject, id: row.recordId },
];

async function setOutcome(
  services: Services,
  ctx: TenantContext,
  row: FileRow,
  changes: Partial<FileRow>,
  event: 'file.rejected' | 'file.infected' | 'file.stored',
): Promise<FileRow> {
  return withTenant(services.database, ctx, async (scope) => {
    const [updated] = await scope.tx
      .update(files)
      .set({ ...changes, updatedAt: new Date().toISOString() })
      .where(and(eq(files.orgId, ctx.orgId), eq(files.id, row.id)))
      .returning();
    const data =
      event === 'file.stored'
        ? { ...eventData(row), scan: changes.scan ?? undefined }
        : { ...eventData(row), code: changes.rejectionCode ?? '', reason: changes.rejectionReason ?? '' };
    await emitEvent(scope, services.jobs, {
      type: event,
      subject: { object: 'file', id: row.id },
      data,
      related: relatedOf(row),
    } as Parameters<typeof emitEvent>[2]);
    return updated ?? row;
  });
}

/**
 * Receives an attachment for a record and runs it through the files pipeline: streamed to the
 * quarantine directory (`file.uploaded`, `file.quarantined`), checked (`inspectFile`: size, type
 * from magic bytes against the allowlist and the extension, the ClamAV scan, images re-encoded),
 * then moved to the safe store (`file.stored`), or removed with the reason kept
 * (`file.rejected`, `file.infected`). The caller checked the record first (`assertAttachable`).
 * @throws 413 `payload_too_large` above FILE_MAX_BYTES; 422 with the refusal's code
 *   (`file_type_not_allowed`, `file_type_mismatch`, `active_content`, `unreadable_image`,
 *   `empty_file`, `infected`) at `body.file`; 503 `scanner_unavailable` when clamd is configured
 *   but does not answer (the file is rejected, never stored unscanned)
 */
export async function uploadFile(
  services: Services,
  ctx: TenantContext,
  input: {
    record: RecordRef;
    name: string;
    declaredType: string | undefined;
    stream: Readable;
    truncated: () => boolean;
  },
): Promise<FileViewValue> {
  const { config } = services;
  const id = newId();
  const received = await receiveToQuarantine(config, id, input.stream, input.truncated);
  const name = cleanFileName(input.name);
  // The plan's storage limit (issue 30): 403 `plan_limit_reached`, the bytes received dropped.
  await withTenant(services.database, ctx, (scope) =>
    assertRoom(scope, 'storage_bytes', received.size),
  ).catch(async (error: unknown) => {
    await rm(received.path, { force: true });
    throw error;
  });
  let row = await withTenant(services.database, ctx, async (scope) => {
    const [inserted] = await scope.tx
      .insert(files)
      .values({
        orgId: ctx.orgId,
        id,
        recordObject: input.record.object,
        recordId: input.record.id,
        name,
        sizeBytes: received.size,
        sha256: received.sha256,
        declaredType: input.declaredType?.slice(0, 255) ?? null,
        status: 'quarantined',
        uploadedBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    for (const type of ['file.uploaded', 'file.quarantined'] as const)
      await emitEvent(scope, services.jobs, {
        type,
        subject: { object: 'file', id },
        data: eventData(inserted!),
        related: relatedOf(inserted!),
      });
    return inserted!;
  });
  const refuse = async (
    status: 'rejected' | 'infected',
    code: string,
    reason: string,
    extra: Partial<FileRow> = {},
  ) => {
    await rm(received.path, { force: true });
    row = await setOutcome(
      services,
      ctx,
      row,
      { status, rejectionCode: code, rejectionReason: reason, ...extra },
      status === 'infected' ? 'file.infected' : 'file.rejected',
    );
  };
  if (received.truncated) {
    const reason = `The file is larger than ${config.files.maxBytes} bytes`;
    await refuse('rejected', 'payload_too_large', reason);
    throw new AppError(413, 'payload_too_large', reason, { path: 'body.file' });
  }
  let inspection: Awaited<ReturnType<typeof inspectFile>>;
  try {
    inspection = await inspectFile(received.path, name, received.size, config.files.clamavUrl);
  } catch (error) {
    if (!(error instanceof ScannerUnavailableError)) {
      await refuse('rejected', 'check_failed', 'The file could not be checked');
      throw error;
    }
    await refuse(
      'rejected',
      'scanner_unavailable',
      'The virus scanner did not answer; upload it again later',
    );
    throw new AppError(503, 'scanner_unavailable', 'The virus scanner did not answer; try again shortly', {
      retryAfterS: 30,
    });
  }
  if (!inspection.ok) {
    await refuse(inspection.status, inspection.code, inspection.reason, {
      detectedType: inspection.detectedType,
      scan: inspection.scan?.status ?? null,
    });
    throw new AppError(422, inspection.code, inspection.reason, {
      path: 'body.file',
      errors: [{ path: 'body.file', code: inspection.code, message: inspection.reason }],
    });
  }
  const store = fileStoreOf(config);
  const key = `${ctx.orgId}/${id}`;
  try {
    await store.put(key, inspection.reencodedPath ?? received.path, inspection.kind.mime);
  } finally {
    await rm(received.path, { force: true });
    if (inspection.reencodedPath) await rm(inspection.reencodedPath, { force: true });
  }
  row = await setOutcome(
    services,
    ctx,
    row,
    {
      status: 'stored',
      detectedType: inspection.detectedType,
      contentType: inspection.kind.mime,
      scan: inspection.scan.status,
      storage: store.kind,
      storageKey: key,
    },
    'file.stored',
  );
  return fileView(row);
}

async function loadRow(scope: TenantScope, id: string): Promise<FileRow> {
  const [row] = await scope.tx
    .select()
    .from(files)
    .where(and(eq(files.orgId, scope.ctx.orgId), eq(files.id, id)));
  if (!row) throw notFound('File', id);
  return row;
}

/** A file's metadata. @throws 404, also for another tenant's id */
export async function getFile(services: Services, ctx: TenantContext, id: string): Promise<FileViewValue> {
  return withTenant(services.database, ctx, async (scope) => fileView(await loadRow(scope, id)), {
    readOnly: true,
  });
}

/**
 * The files of a record, newest first (every status: refused ones show why).
 * @throws 404 when the tenant has no such record
 */
export async function listFiles(
  services: Services,
  ctx: TenantContext,
  query: { object: string; id: string; limit: number },
): Promise<{ data: FileViewValue[] }> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      if (!(await findAnyRecordIn(scope, query.object, query.id))) throw notFound(query.object, query.id);
      const rows = await filesOfRecordIn(scope, { object: query.object, id: query.id }, query.limit);
      return { data: rows.map(fileView) };
    },
    { readOnly: true },
  );
}

/** The files of a record in the caller's tenant transaction, newest first (GDPR export and erasure). */
export async function filesOfRecordIn(
  scope: TenantScope,
  record: RecordRef,
  limit = 10_000,
): Promise<FileRow[]> {
  return scope.tx
    .select()
    .from(files)
    .where(
      and(
        eq(files.orgId, scope.ctx.orgId),
        eq(files.recordObject, record.object),
        eq(files.recordId, record.id),
      ),
    )
    .orderBy(desc(files.createdAt), desc(files.id))
    .limit(limit);
}

/**
 * A download link for a stored file: a token signed with the server secret, valid for
 * FILE_LINK_TTL_SECONDS (minutes), that the download route alone accepts.
 * @throws 404, 409 `file_not_stored` for a file that is quarantined or was refused
 */
export async function fileLink(services: Services, ctx: TenantContext, id: string) {
  const row = await withTenant(services.database, ctx, (scope) => loadRow(scope, id), { readOnly: true });
  if (row.status !== 'stored')
    throw conflict(`This file is ${row.status}: it cannot be downloaded`, 'path.id', 'file_not_stored');
  const exp = Math.floor(Date.now() / 1000) + services.config.files.linkTtlS;
  const token = signFileLink(services.config.secret, { org: ctx.orgId, file: id, exp });
  return { url: `/api/v1/files/download/${token}`, expires_at: new Date(exp * 1000).toISOString() };
}

/**
 * What a download link serves: the stored file's name, type, size and bytes.
 * @throws 404 `link_invalid` for a token that is forged, expired or names a file no longer stored
 */
export async function openDownload(services: Services, token: string) {
  const claims = verifyFileLink(services.config.secret, token);
  const invalid = () => new AppError(404, 'link_invalid', 'This download link is invalid or has expired');
  if (!claims) throw invalid();
  const ctx: TenantContext = { orgId: claims.org, actor: { type: 'system', id: null } };
  const row = await withTenant(services.database, ctx, (scope) => loadRow(scope, claims.file), {
    readOnly: true,
  }).catch(() => undefined);
  if (row?.status !== 'stored' || !row.storageKey) throw invalid();
  const stream = await fileStoreOf(services.config).open(row.storageKey);
  return { row, stream };
}

/** The bytes of a stored file (GDPR export). */
export async function openStoredFile(services: Services, row: FileRow): Promise<Readable | undefined> {
  if (row.status !== 'stored' || !row.storageKey) return undefined;
  return fileStoreOf(services.config).open(row.storageKey);
}

/**
 * Deletes a file for good: its row, its bytes, and `file.deleted` on the record's timeline. Its
 * uploader or an admin may. @throws 404, 403 `forbidden` for anyone else
 */
export async function deleteFile(
  services: Services,
  ctx: TenantContext,
  id: string,
  by: { isAdmin: boolean },
): Promise<void> {
  const row = await withTenant(services.database, ctx, async (scope) => {
    const found = await loadRow(scope, id);
    const isUploader = found.uploadedBy !== null && found.uploadedBy === ctx.actor.id;
    if (!isUploader && !by.isAdmin) throw forbidden('Only its uploader or an admin can delete a file');
    await deleteRowsIn(scope, services, [found], false);
    return found;
  });
  await removeBytes(services, [row]);
}

/**
 * Deletes file rows in the caller's tenant transaction with a `file.deleted` each; `anonymous`
 * leaves the name out of the event (an erasure). The bytes go with `removeBytes` once it commits.
 */
export async function deleteRowsIn(
  scope: TenantScope,
  services: Services,
  rows: FileRow[],
  anonymous: boolean,
): Promise<void> {
  for (const row of rows) {
    await scope.tx.delete(files).where(and(eq(files.orgId, scope.ctx.orgId), eq(files.id, row.id)));
    await emitEvent(scope, services.jobs, {
      type: 'file.deleted',
      subject: { object: 'file', id: row.id },
      data: anonymous ? { name: null } : eventData(row),
      related: relatedOf(row),
    });
  }
}

/** Removes the stored bytes of deleted files (after their rows' transaction committed). */
export async function removeBytes(services: Services, rows: FileRow[]): Promise<void> {
  const store = fileStoreOf(services.config);
  for (const row of rows) if (row.storageKey) await store.remove(row.storageKey);
}
