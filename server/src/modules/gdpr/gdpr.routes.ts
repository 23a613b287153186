import { z } from 'zod';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { attachmentDisposition } from '../files/file.routes.js';
import { eraseContact } from './gdpr-erase.service.js';
import { exportContactData } from './gdpr-export.service.js';
import {
  listRules,
  RetentionRule,
  RetentionRuleInput,
  RetentionRun,
  removeRule,
  runRetention,
  setRule,
} from './retention.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const ObjectParams = z.strictObject({
  object: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'an object key'),
});
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };

const Erasure = z
  .object({
    erased: z.literal(true),
    removed: z.object({
      notes: z.number().int(),
      tasks: z.number().int(),
      files: z.number().int(),
      events_scrubbed: z.number().int(),
    }),
  })
  .meta({ id: 'Erasure' });
const EraseBody = z
  .strictObject({
    confirm: z.literal(true).describe('Must be true: the erasure cannot be undone'),
  })
  .meta({ id: 'EraseRequest' });

/**
 * GDPR tools: a contact's subject access export (a ZIP) and erasure, both admins only
 * (`records:purge`) and audited; the retention rules per object and their daily job (admins,
 * `settings:manage`). Another tenant's contact is a 404.
 */
export function registerGdprRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/contacts/:id/personal-data',
    {
      config: { access: 'records:purge' },
      schema: {
        operationId: 'exportContactPersonalData',
        tags: ['gdpr'],
        summary:
          'Everything held about a contact, as a ZIP (GDPR subject access): fields, notes, tasks, files, history, consent',
        params: IdParams,
        produces: ['application/zip'],
      },
    },
    async (req, reply) => {
      const { stream, fileName } = await exportContactData(
        services,
        req.tenant,
        req.params.id,
        auditSourceOf(req),
      );
      return reply
        .type('application/zip')
        .header('content-disposition', attachmentDisposition(fileName))
        .send(stream);
    },
  );
  app.post(
    '/contacts/:id/erase',
    {
      config: { access: 'records:purge' },
      schema: {
        operationId: 'eraseContact',
        tags: ['gdpr'],
        summary:
          'Erase a contact and their personal data (GDPR Art. 17): the contact, notes, tasks and files go, their history is scrubbed; cannot be undone',
        params: IdParams,
        body: EraseBody,
        response: { 200: Erasure, ...errors },
      },
    },
    async (req) => ({
      erased: true as const,
      removed: await eraseContact(services, req.tenant, req.params.id, auditSourceOf(req)),
    }),
  );
  app.get(
    '/retention-rules',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'listRetentionRules',
        tags: ['gdpr'],
        summary: 'The retention rules, one per object',
        response: {
          200: z.object({ data: z.array(RetentionRule) }).meta({ id: 'RetentionRulePage' }),
          ...errors,
        },
      },
    },
    async (req) => listRules(services, req.tenant),
  );
  app.put(
    '/retention-rules/:object',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'setRetentionRule',
        tags: ['gdpr'],
        summary:
          "Set an object's retention rule: archive (or erase, contacts) records unchanged for N months; applied daily",
        params: ObjectParams,
        body: RetentionRuleInput,
        response: { 200: RetentionRule, ...errors },
      },
    },
    async (req) => setRule(services, req.tenant, req.params.object, req.body),
  );
  app.delete(
    '/retention-rules/:object',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'deleteRetentionRule',
        tags: ['gdpr'],
        summary: "Remove an object's retention rule",
        params: ObjectParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await removeRule(services, req.tenant, req.params.object);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/retention-rules/run',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'runRetentionRules',
        tags: ['gdpr'],
        summary: 'Apply the retention rules now (the daily job does the same)',
        response: { 200: RetentionRun, ...errors },
      },
    },
    async (req) => runRetention(services, req.tenant, auditSourceOf(req)),
  );
}
