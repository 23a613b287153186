import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { changeEnrollment, enroll, listEnrollments } from './enrollment.service.js';
import { sequenceConsumer } from './sequence.consumer.js';
import {
  Analytics,
  EnrollInput,
  Enrollment,
  EnrollmentListQuery,
  EnrollmentPage,
  EnrollResult,
  Sequence,
  SequenceCreate,
  SequenceList,
  SequenceUpdate,
  StepsReplace,
} from './sequence.dto.js';
import {
  archiveSequence,
  createSequence,
  getSequence,
  listSequences,
  replaceSteps,
  updateSequence,
} from './sequence.service.js';
import { sequenceAnalytics } from './sequence-analytics.service.js';
import { defineSequenceJobs as defineTickQueue } from './sequence-runner.service.js';
import { registerUnsubscribeRoutes } from './unsubscribe.routes.js';
import './sequence.events.js';
import './sequence-workflow.action.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['sequences'];

/** The sequences' consumer (exit rules) and tick queue, before the job queue starts. */
export function defineSequenceJobs(services: Services): void {
  services.events.register(sequenceConsumer(services));
  defineTickQueue(services);
}

/**
 * Outreach sequences (issue 25) under `/sequences` and `/sequence-enrollments`: members read,
 * write and enroll (`records:write`); the public unsubscribe page is signed by its token.
 * Another tenant's id is a 404.
 */
export function registerSequenceRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/sequences',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listSequences',
        summary: 'The sequences, newest first, with their steps and enrollment counts',
        response: { 200: SequenceList, ...errors },
      },
    },
    async (req) => listSequences(services, req.tenant),
  );
  app.post(
    '/sequences',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createSequence',
        summary: 'Create a sequence: its mailbox and number, window, limits and steps',
        body: SequenceCreate,
        response: { 201: Sequence, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createSequence(services, req.tenant, req.body)),
  );
  app.get(
    '/sequences/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getSequence',
        summary: 'A sequence with its steps',
        params: IdParams,
        response: { 200: Sequence, ...errors },
      },
    },
    async (req) => getSequence(services, req.tenant, req.params.id),
  );
  app.patch(
    '/sequences/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'updateSequence',
        summary: 'Rename, pause or resume a sequence, change its channels or settings',
        params: IdParams,
        body: SequenceUpdate,
        response: { 200: Sequence, ...errors },
      },
    },
    async (req) => updateSequence(services, req.tenant, req.params.id, req.body),
  );
  app.delete(
    '/sequences/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'archiveSequence',
        summary: 'Archive a sequence; its active enrollments end (removed)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await archiveSequence(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.put(
    '/sequences/:id/steps',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'replaceSequenceSteps',
        summary:
          'Save the steps in order (a step with its id is kept, one without is added, the rest removed)',
        params: IdParams,
        body: StepsReplace,
        response: { 200: Sequence, ...errors },
      },
    },
    async (req) => replaceSteps(services, req.tenant, req.params.id, req.body.steps),
  );
  app.post(
    '/sequences/:id/enrollments',
    {
      // Up to 10,000 enrollments and their events in one transaction (issue 25's goal: < 10 s,
      // measured ~1-3 s on a loaded 2-core machine): the default 5 s budget cut it on a busy host.
      config: { access: 'records:write', dbBudgetMs: 20_000 },
      schema: {
        tags,
        operationId: 'enrollInSequence',
        summary:
          'Enroll contacts by id or by a query-language filter (at most 10,000 at once); `preview` counts without enrolling',
        params: IdParams,
        body: EnrollInput,
        response: { 200: EnrollResult, ...errors },
      },
    },
    async (req) => enroll(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/sequences/:id/enrollments',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listSequenceEnrollments',
        summary: "A sequence's enrollments, newest first, by status",
        params: IdParams,
        querystring: EnrollmentListQuery,
        response: { 200: EnrollmentPage, ...errors },
      },
    },
    async (req) => listEnrollments(services, req.tenant, req.params.id, req.query),
  );
  app.get(
    '/sequences/:id/analytics',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getSequenceAnalytics',
        summary: 'Enrolled, sent, replied, bounced, unsubscribed per sequence, step and A/B variant',
        params: IdParams,
        response: { 200: Analytics, ...errors },
      },
    },
    async (req) => sequenceAnalytics(services, req.tenant, req.params.id),
  );
  for (const action of ['pause', 'resume', 'finish'] as const)
    app.post(
      `/sequence-enrollments/:id/${action}`,
      {
        config: { access: 'records:write' },
        schema: {
          tags,
          operationId: `${action}SequenceEnrollment`,
          summary:
            action === 'finish'
              ? 'End an enrollment by hand (manual)'
              : `${action === 'pause' ? 'Pause' : 'Resume'} an enrollment`,
          params: IdParams,
          response: { 200: Enrollment, ...errors },
        },
      },
      async (req) => changeEnrollment(services, req.tenant, req.params.id, action),
    );
  app.delete(
    '/sequence-enrollments/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'removeSequenceEnrollment',
        summary: 'Remove a contact from its sequence (the enrollment ends as removed)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await changeEnrollment(services, req.tenant, req.params.id, 'remove');
      return reply.code(204).send(null);
    },
  );
  registerUnsubscribeRoutes(app, services);
}
