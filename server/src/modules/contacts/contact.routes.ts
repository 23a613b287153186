import { z } from 'zod';
import { tenantContextOf } from '../../platform/access/principal.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { TimelineEntry, timelineOf } from '../timeline/timeline.service.js';
import { Contact, ContactCreate, ContactUpdate } from './contact.dto.js';
import * as contacts from './contact.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
export const TimelinePage = z
  .object({ data: z.array(TimelineEntry), next_cursor: z.string().nullable() })
  .meta({ id: 'TimelinePage' });
export const TimelineQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

/** Contacts: create, read, update, archive/restore, delete (admins), and the timeline. */
export function registerContactRoutes(app: ApiApp, services: Services): void {
  const ctx = (req: { principal: Parameters<typeof tenantContextOf>[0]; id: unknown }) =>
    tenantContextOf(req.principal, String(req.id));

  app.post(
    '/contacts',
    {
      config: { access: 'records:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Create a contact',
        body: ContactCreate,
        response: { 201: Contact, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await contacts.createContact(services, ctx(req), req.body)),
  );

  app.get(
    '/contacts/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags: ['contacts'],
        summary: 'A contact, with its companies',
        params: IdParams,
        response: { 200: Contact, ...errors },
      },
    },
    async (req) => contacts.getContact(services, ctx(req), req.params.id),
  );

  app.patch(
    '/contacts/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Update a contact: given fields change, absent ones stay, null clears; custom values merge',
        params: IdParams,
        body: ContactUpdate,
        response: { 200: Contact, ...errors },
      },
    },
    async (req) => contacts.updateContact(services, ctx(req), req.params.id, req.body),
  );

  app.post(
    '/contacts/:id/archive',
    {
      config: { access: 'records:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Archive (soft-delete) a contact',
        params: IdParams,
        response: { 200: Contact, ...errors },
      },
    },
    async (req) => contacts.archiveContact(services, ctx(req), req.params.id),
  );

  app.post(
    '/contacts/:id/restore',
    {
      config: { access: 'records:write' },
      schema: {
        tags: ['contacts'],
        summary: 'Restore an archived contact',
        params: IdParams,
        response: { 200: Contact, ...errors },
      },
    },
    async (req) => contacts.restoreContact(services, ctx(req), req.params.id),
  );

  app.delete(
    '/contacts/:id',
    {
      config: { access: 'records:purge' },
      schema: {
        tags: ['contacts'],
        summary: 'Delete a contact for good (admins)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await contacts.deleteContact(services, ctx(req), req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/contacts/:id/timeline',
    {
      config: { access: 'records:read' },
      schema: {
        tags: ['contacts'],
        summary: "The contact's history and its related records', newest first",
        params: IdParams,
        querystring: TimelineQuery,
        response: { 200: TimelinePage, ...errors },
      },
    },
    async (req) => {
      await contacts.getContact(services, ctx(req), req.params.id); // 404 for another tenant's id
      return timelineOf(services, ctx(req), { object: 'contact', id: req.params.id }, req.query);
    },
  );
}
