import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  createMessageTemplate,
  deleteMessageTemplate,
  getMessageTemplate,
  getSignature,
  listMessageTemplates,
  MessageTemplate,
  MessageTemplateCreate,
  MessageTemplateUpdate,
  Rendered,
  RenderInput,
  renderMessage,
  Signature,
  SignatureUpdate,
  setSignature,
  updateMessageTemplate,
} from './message-template.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['inbox'];
const Id = z.strictObject({ id: z.uuid() });

/**
 * Message templates under `/message-templates` and the member's signature under `/me/signature`
 * (issue 23): members read and write templates; each member sets their own signature.
 */
export function registerMessageTemplateRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/message-templates',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listMessageTemplates',
        summary: "The organization's message templates by name (`kind`: those usable on that channel kind)",
        querystring: z.strictObject({ kind: z.enum(['email', 'sms']).optional() }),
        response: { 200: z.object({ data: z.array(MessageTemplate) }), ...errors },
      },
    },
    async (req) => ({ data: await listMessageTemplates(services, req.tenant, req.query.kind) }),
  );
  app.post(
    '/message-templates',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createMessageTemplate',
        summary:
          'A message template; 422 `unknown_variable` for a variable that names no contact field, 409 `duplicate_key` for a shortcut taken',
        body: MessageTemplateCreate,
        response: { 201: MessageTemplate, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createMessageTemplate(services, req.tenant, req.body)),
  );
  app.get(
    '/message-templates/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getMessageTemplate',
        summary: 'One message template',
        params: Id,
        response: { 200: MessageTemplate, ...errors },
      },
    },
    async (req) => getMessageTemplate(services, req.tenant, req.params.id),
  );
  app.patch(
    '/message-templates/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'updateMessageTemplate',
        summary: 'Change a message template',
        params: Id,
        body: MessageTemplateUpdate,
        response: { 200: MessageTemplate, ...errors },
      },
    },
    async (req) => updateMessageTemplate(services, req.tenant, req.params.id, req.body),
  );
  app.delete(
    '/message-templates/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'deleteMessageTemplate',
        summary: 'Delete a message template',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteMessageTemplate(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/message-templates/render',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'renderMessage',
        summary:
          'A text (a template’s, or a draft) with its variables filled for a conversation’s contact or a contact; 422 `unknown_variable` names the first variable it cannot fill',
        body: RenderInput,
        response: { 200: Rendered, ...errors },
      },
    },
    async (req) => renderMessage(services, req.tenant, req.body),
  );
  app.get(
    '/me/signature',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'getSignature',
        summary: 'Your e-mail signature in this organization',
        response: { 200: Signature, ...errors },
      },
    },
    async (req) => getSignature(services, req.tenant),
  );
  app.put(
    '/me/signature',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'setSignature',
        summary:
          'Set your e-mail signature (null or blank: none); appended under `-- ` to the e-mails you reply or compose, never to SMS',
        body: SignatureUpdate,
        response: { 200: Signature, ...errors },
      },
    },
    async (req) => setSignature(services, req.tenant, req.body.signature),
  );
}
