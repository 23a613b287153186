import fastifyMultipart from '@fastify/multipart';
import { z } from 'zod';
import { AppError, badRequest } from '../../platform/errors/app-error.js';
import { assertStorable } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FileLink, FileListQuery, FilePage, FileRecordQuery, FileView } from './file.dto.js';
import {
  assertAttachable,
  deleteFile,
  fileLink,
  getFile,
  listFiles,
  openDownload,
  uploadFile,
} from './file.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const TokenParams = z.strictObject({ token: z.string().min(10).max(100) });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['files'];

/** What a download may do in a browser: nothing (no script, no plugin, no frame, a sandbox). */
export const DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";

/**
 * `Content-Disposition: attachment` with the name as a quoted ASCII fallback and as RFC 5987
 * UTF-8 (`filename*`), per RFC 6266 §4.
 */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Attachments on any record (standard or custom object) under `/files`: upload (multipart, field
 * `file`, streamed to quarantine and checked before it is stored), list, metadata, a short-lived
 * download link, the download itself (public: the link's signed token is the capability) and
 * delete (the uploader or an admin). Another tenant's id is a 404.
 */
export function registerFileRoutes(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    await scoped.register(fastifyMultipart, {
      limits: { fileSize: services.config.files.maxBytes, files: 1, fields: 5 },
    });
    const api = scoped as unknown as ApiApp;
    api.post(
      '/files',
      {
        config: { access: 'records:write' },
        schema: {
          operationId: 'uploadFile',
          tags,
          summary:
            'Attach a file to a record (multipart/form-data, field `file`); it is checked before it is stored',
          description:
            'The upload is streamed to a quarantine directory, then checked: its size (FILE_MAX_BYTES, 413 above), ' +
            'its true type from its magic bytes against the allowlist (images: jpg, png, gif, webp; pdf; docx, xlsx, ' +
            'pptx, odt, ods, odp; plain text: txt, csv, tsv, md, log) and against its extension (422 ' +
            '`file_type_not_allowed`, `file_type_mismatch`; text holding HTML, XML or SVG markup: `active_content`), ' +
            'a ClamAV scan when CLAMAV_URL is set (422 `infected`; 503 `scanner_unavailable` when clamd does not ' +
            'answer), and images are re-encoded (metadata and appended bytes dropped; 422 `unreadable_image`). ' +
            'Only then is it stored. A refused file keeps its row (status `rejected` or `infected`, with the reason) ' +
            'and loses its bytes. Every step is an event on the record’s timeline.',
          querystring: FileRecordQuery,
          consumes: ['multipart/form-data'],
          response: { 201: FileView, ...errors, 413: Problem, 415: Problem, 503: Problem },
        },
      },
      async (req, reply) => {
        if (!req.isMultipart())
          throw new AppError(415, 'unsupported_media_type', 'Send the file as multipart/form-data');
        const file = await req.file();
        if (!file) throw badRequest('Send the file in the `file` field', 'body.file', 'required');
        try {
          assertStorable(file.filename, 'body.file.filename');
          await assertAttachable(services, req.tenant, { object: req.query.object, id: req.query.id });
        } catch (error) {
          file.file.resume(); // drain the upload, so the answer is read
          throw error;
        }
        const view = await uploadFile(services, req.tenant, {
          record: { object: req.query.object, id: req.query.id },
          name: file.filename || 'file',
          declaredType: file.mimetype,
          stream: file.file,
          truncated: () => file.file.truncated,
        });
        return reply.code(201).send(view);
      },
    );
  });
  app.get(
    '/files',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listFiles',
        tags,
        summary: "A record's files, newest first (refused ones with their reason)",
        querystring: FileListQuery,
        response: { 200: FilePage, ...errors },
      },
    },
    async (req) => listFiles(services, req.tenant, req.query),
  );
  app.get(
    '/files/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getFile',
        tags,
        summary: "A file's metadata and where it stands (quarantined, stored, rejected, infected)",
        params: IdParams,
        response: { 200: FileView, ...errors },
      },
    },
    async (req) => getFile(services, req.tenant, req.params.id),
  );
  app.post(
    '/files/:id/link',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'createFileLink',
        tags,
        summary:
          'A short-lived download link for a stored file (FILE_LINK_TTL_SECONDS, 5 minutes by default)',
        params: IdParams,
        response: { 200: FileLink, ...errors },
      },
    },
    async (req) => fileLink(services, req.tenant, req.params.id),
  );
  app.get(
    '/files/download/:token',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'downloadFile',
        tags,
        summary: 'Download a file through its link (the token is the capability; no session needed)',
        description:
          'Always `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` and a sandboxing ' +
          'Content-Security-Policy, so no file is ever rendered or run by the browser as a page.',
        params: TokenParams,
        produces: ['application/octet-stream'],
      },
    },
    async (req, reply) => {
      const { row, stream } = await openDownload(services, req.params.token);
      return reply
        .type(row.contentType ?? 'application/octet-stream')
        .header('content-disposition', attachmentDisposition(row.name))
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', DOWNLOAD_CSP)
        .header('cross-origin-resource-policy', 'same-origin')
        .header('cache-control', 'private, no-store')
        .send(stream);
    },
  );
  app.delete(
    '/files/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'deleteFile',
        tags,
        summary: 'Delete a file for good (its uploader or an admin); its history stays',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteFile(services, req.tenant, req.params.id, { isAdmin: req.principal?.role === 'admin' });
      return reply.code(204).send(null);
    },
  );
}
