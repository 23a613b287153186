import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import * as pipelines from './pipeline.service.js';

const Stage = z
  .object({
    id: z.uuid(),
    name: z.string(),
    position: z.number().int(),
    probability: z.number().int(),
    kind: z.enum(['open', 'won', 'lost']),
  })
  .meta({ id: 'Stage' });
const Pipeline = z
  .object({
    id: z.uuid(),
    name: z.string(),
    is_default: z.boolean(),
    position: z.number().int(),
    stages: z.array(Stage),
  })
  .meta({ id: 'Pipeline' });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const Id = z.strictObject({ id: z.uuid() });
const StageParams = z.strictObject({ id: z.uuid(), stageId: z.uuid() });

/** Pipelines and their stages: everyone reads; admins add, rename, reorder and delete. */
export function registerPipelineRoutes(app: ApiApp, services: Services): void {
  const tags = ['pipelines'];

  app.get(
    '/pipelines',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listPipelines',
        tags,
        summary: 'Pipelines with their stages in order (a new tenant gets a default one)',
        response: { 200: z.object({ data: z.array(Pipeline) }), ...errors },
      },
    },
    async (req) => ({ data: await pipelines.listPipelines(services, req.tenant) }),
  );
  app.get(
    '/pipelines/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getPipeline',
        tags,
        summary: 'A pipeline with its stages',
        params: Id,
        response: { 200: Pipeline, ...errors },
      },
    },
    async (req) => pipelines.getPipeline(services, req.tenant, req.params.id),
  );
  app.post(
    '/pipelines',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createPipeline',
        tags,
        summary: 'Create a pipeline (default stages unless given)',
        body: z.strictObject({
          name: z.string().trim().min(1).max(80),
          stages: z.array(pipelines.StageInput).min(1).max(30).optional(),
        }),
        response: { 201: Pipeline, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await pipelines.createPipeline(services, req.tenant, req.body)),
  );
  app.patch(
    '/pipelines/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updatePipeline',
        tags,
        summary: 'Rename a pipeline or make it the default',
        params: Id,
        body: z.strictObject({
          name: z.string().trim().min(1).max(80).optional(),
          is_default: z.literal(true).optional(),
        }),
        response: { 200: Pipeline, ...errors },
      },
    },
    async (req) => pipelines.updatePipeline(services, req.tenant, req.params.id, req.body),
  );
  app.delete(
    '/pipelines/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'deletePipeline',
        tags,
        summary: 'Delete an empty pipeline',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await pipelines.deletePipeline(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/pipelines/:id/stages',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createStage',
        tags,
        summary: 'Add a stage (at `position`, default last)',
        params: Id,
        body: pipelines.StageInput.extend({ position: z.number().int().min(0).optional() }),
        response: { 201: Pipeline, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await pipelines.addStage(services, req.tenant, req.params.id, req.body)),
  );
  app.patch(
    '/pipelines/:id/stages/:stageId',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateStage',
        tags,
        summary: 'Rename a stage or change its probability or kind',
        params: StageParams,
        body: z.strictObject({
          name: z.string().trim().min(1).max(80).optional(),
          probability: z.number().int().min(0).max(100).optional(),
          kind: z.enum(['open', 'won', 'lost']).optional(),
        }),
        response: { 200: Pipeline, ...errors },
      },
    },
    async (req) => pipelines.updateStage(services, req.tenant, req.params.id, req.params.stageId, req.body),
  );
  app.put(
    '/pipelines/:id/stages/order',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'reorderStages',
        tags,
        summary: 'Reorder the stages: every stage id once, in the new order',
        params: Id,
        body: z.strictObject({ stage_ids: z.array(z.uuid()).min(1).max(30) }),
        response: { 200: Pipeline, ...errors },
      },
    },
    async (req) => pipelines.reorderStages(services, req.tenant, req.params.id, req.body.stage_ids),
  );
  app.delete(
    '/pipelines/:id/stages/:stageId',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'deleteStage',
        tags,
        summary: 'Delete a stage; one holding opportunities needs `move_to`, another stage of the pipeline',
        params: StageParams,
        querystring: z.strictObject({ move_to: z.uuid().optional() }),
        response: { 200: Pipeline, ...errors },
      },
    },
    async (req) =>
      pipelines.deleteStage(services, req.tenant, req.params.id, req.params.stageId, req.query.move_to),
  );
}
