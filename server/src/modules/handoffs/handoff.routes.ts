import { z } from 'zod';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { HandoffDeny, HandoffView, QueueItemsQuery, QueueUpdate, QueueView } from './handoff.dto.js';
import { acceptHandoff, denyHandoff, getHandoff, listHandoffs } from './handoff.service.js';
import { getQueue, listQueues, updateQueue } from './handoff-queue.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['handoffs'];
const RoleParams = z.strictObject({ role: z.string().min(1).max(64).describe('The owning role’s key') });
const IdParams = z.strictObject({ id: z.uuid() });
const RecordParams = z.strictObject({ object: z.string().min(1).max(64), id: z.uuid() });
const HandoffList = z.object({ data: z.array(HandoffView) });

/**
 * Hand-off queues (issue 21) under `/queues` and `/handoffs`: the queues with counts and ages,
 * a queue's hand-offs, accept and deny, a queue's assignment rule (admins), and a record's
 * hand-offs. Any member reads; deciding needs `records:write` and the owning role (or admin).
 */
export function registerHandoffRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/queues',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listHandoffQueues',
        summary:
          'The hand-off queues (one per role owning a status): waiting count, oldest age, assignment rule',
        response: { 200: z.object({ data: z.array(QueueView) }), ...errors },
      },
    },
    async (req) => ({ data: await listQueues(services, req.tenant) }),
  );
  app.get(
    '/queues/:role',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getHandoffQueue',
        summary: 'One hand-off queue with its counts',
        params: RoleParams,
        response: { 200: QueueView, ...errors },
      },
    },
    async (req) => getQueue(services, req.tenant, req.params.role),
  );
  app.patch(
    '/queues/:role',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateHandoffQueue',
        summary: 'Set a queue’s assignment rule: manual, round_robin or least_open (admins)',
        params: RoleParams,
        body: QueueUpdate,
        response: { 200: QueueView, ...errors },
      },
    },
    async (req) => updateQueue(services, req.tenant, req.params.role, req.body.assignment),
  );
  app.get(
    '/queues/:role/items',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listHandoffQueueItems',
        summary: 'A queue’s hand-offs: waiting ones oldest first with their age; decided ones newest first',
        params: RoleParams,
        querystring: QueueItemsQuery,
        response: { 200: HandoffList, ...errors },
      },
    },
    async (req) => ({
      data: await listHandoffs(services, req.tenant, { role: req.params.role, query: req.query }),
    }),
  );
  app.get(
    '/handoffs/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getHandoff',
        summary: 'One hand-off',
        params: IdParams,
        response: { 200: HandoffView, ...errors },
      },
    },
    async (req) => getHandoff(services, req.tenant, req.params.id),
  );
  app.post(
    '/handoffs/:id/accept',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'acceptHandoff',
        summary:
          'Accept a waiting hand-off (members of the owning role, admins): you become the record’s owner; 409 `handoff_decided` when someone was first',
        params: IdParams,
        response: { 200: HandoffView, ...errors },
      },
    },
    async (req) => acceptHandoff(services, req.tenant, req.params.id),
  );
  app.post(
    '/handoffs/:id/deny',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'denyHandoff',
        summary:
          'Deny a waiting hand-off with a reason: the record returns to `return_to` (the status it came from by default)',
        params: IdParams,
        body: HandoffDeny,
        response: { 200: HandoffView, ...errors },
      },
    },
    async (req) => denyHandoff(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/records/:object/:id/handoffs',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listRecordHandoffs',
        summary: 'A record’s hand-offs, newest first',
        params: RecordParams,
        response: { 200: HandoffList, ...errors },
      },
    },
    async (req) => {
      if (STANDARD_OBJECTS[req.params.object]) throw notFound('Object', req.params.object);
      return {
        data: await listHandoffs(services, req.tenant, {
          object: req.params.object,
          recordId: req.params.id,
        }),
      };
    },
  );
}
