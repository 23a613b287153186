import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  Broadcast,
  BroadcastCreate,
  BroadcastList,
  BroadcastSend,
  BroadcastUpdate,
  RecipientListQuery,
  RecipientPage,
  SegmentPreview,
  SegmentPreviewInput,
} from './broadcast.dto.js';
import {
  cancelBroadcast,
  createBroadcast,
  deleteBroadcast,
  getBroadcast,
  listBroadcasts,
  listRecipients,
  previewSegment,
  sendBroadcast,
  updateBroadcast,
} from './broadcast.service.js';
import { defineBroadcastJobs as defineRunQueue } from './broadcast-runner.service.js';
import './broadcast.events.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['broadcasts'];

/** The broadcasts' run queue, before the job queue starts. */
export function defineBroadcastJobs(services: Services): void {
  defineRunQueue(services);
}

/**
 * Broadcasts (issue 33) under `/broadcasts`: members read (`records:read`), compose, send and
 * cancel (`records:write`). Another tenant's id is a 404. Unsubscribes go through the sequences'
 * public page (`/public/unsubscribe/:token`), whose token then names the recipient.
 */
export function registerBroadcastRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/broadcasts',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listBroadcasts',
        summary: 'The broadcasts, newest first, with their recipients per status',
        response: { 200: BroadcastList, ...errors },
      },
    },
    async (req) => ({ data: await listBroadcasts(services, req.tenant) }),
  );
  app.post(
    '/broadcasts/preview',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'previewBroadcastSegment',
        summary: 'Count a segment (query language over contacts): how many, how many reachable, a sample',
        body: SegmentPreviewInput,
        response: { 200: SegmentPreview, ...errors },
      },
    },
    async (req) => previewSegment(services, req.tenant, req.body),
  );
  app.post(
    '/broadcasts',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createBroadcast',
        summary: 'Draft a broadcast: channel, subject, body (templates), segment, throttle',
        body: BroadcastCreate,
        response: { 201: Broadcast, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createBroadcast(services, req.tenant, req.body)),
  );
  app.get(
    '/broadcasts/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getBroadcast',
        summary: 'A broadcast with its recipients per status',
        params: IdParams,
        response: { 200: Broadcast, ...errors },
      },
    },
    async (req) => getBroadcast(services, req.tenant, req.params.id),
  );
  app.patch(
    '/broadcasts/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'updateBroadcast',
        summary: 'Edit a draft broadcast (409 once scheduled)',
        params: IdParams,
        body: BroadcastUpdate,
        response: { 200: Broadcast, ...errors },
      },
    },
    async (req) => updateBroadcast(services, req.tenant, req.params.id, req.body),
  );
  app.delete(
    '/broadcasts/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'deleteBroadcast',
        summary: 'Delete a draft, sent or cancelled broadcast (409 while scheduled or sending)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteBroadcast(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/broadcasts/:id/send',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'sendBroadcast',
        summary:
          'Send a draft now or at `at`: 422 `segment_empty` for a segment of 0, `segment_too_large` above the plan’s limit',
        params: IdParams,
        body: BroadcastSend,
        response: { 200: Broadcast, ...errors },
      },
    },
    async (req) => sendBroadcast(services, req.tenant, req.params.id, req.body.at),
  );
  app.post(
    '/broadcasts/:id/cancel',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'cancelBroadcast',
        summary: 'Cancel a scheduled or sending broadcast: what is not yet sent will not be',
        params: IdParams,
        body: z.strictObject({}).optional(),
        response: { 200: Broadcast, ...errors },
      },
    },
    async (req) => cancelBroadcast(services, req.tenant, req.params.id),
  );
  app.get(
    '/broadcasts/:id/recipients',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listBroadcastRecipients',
        summary:
          'The recipients and their status: queued, sent, delivered, failed, bounced, unsubscribed, ...',
        params: IdParams,
        querystring: RecipientListQuery,
        response: { 200: RecipientPage, ...errors },
      },
    },
    async (req) => listRecipients(services, req.tenant, req.params.id, req.query),
  );
}
