import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { Note, NoteCreate, NoteListQuery, NotePage, NoteUpdate } from './note.dto.js';
import { createNote, deleteNote, getNote, listNotes, updateNote } from './note.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['notes'];

/**
 * Notes on contacts, companies and opportunities under `/notes`: rich text sanitized on the
 * server. Anyone with `records:write` adds; only the author edits; the author or an admin
 * deletes. Another tenant's id is a 404.
 */
export function registerNoteRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/notes',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'createNote',
        tags,
        summary: 'Add a note to a record (HTML, sanitized to an allowlist)',
        body: NoteCreate,
        response: { 201: Note, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createNote(services, req.tenant, req.body)),
  );
  app.get(
    '/notes',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listNotes',
        tags,
        summary: "A record's notes, newest first; keyset-paginated",
        querystring: NoteListQuery,
        response: { 200: NotePage, ...errors },
      },
    },
    async (req) => listNotes(services, req.tenant, req.query),
  );
  app.get(
    '/notes/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getNote',
        tags,
        summary: 'A note',
        params: IdParams,
        response: { 200: Note, ...errors },
      },
    },
    async (req) => getNote(services, req.tenant, req.params.id),
  );
  app.patch(
    '/notes/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'updateNote',
        tags,
        summary: "Replace a note's body (its author only)",
        params: IdParams,
        body: NoteUpdate,
        response: { 200: Note, ...errors },
      },
    },
    async (req) => updateNote(services, req.tenant, req.params.id, req.body.body),
  );
  app.delete(
    '/notes/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'deleteNote',
        tags,
        summary: 'Delete a note for good (its author or an admin); its history stays',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteNote(services, req.tenant, req.params.id, { isAdmin: req.principal?.role === 'admin' });
      return reply.code(204).send(null);
    },
  );
}
