import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { isOperator } from '../../platform/plans/operators.js';
import { type OperatorActor, OrganizationUsage, Overrides, Plan, PlanInputSchema } from './operator.dto.js';
import {
  deletePlan,
  getOrganizationUsage,
  listOrganizationUsage,
  listPlans,
  putPlan,
  setOrganizationPlan,
  setSuspended,
} from './operator.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['operator'];
const OrgParams = z.object({ id: z.uuid() });
const PlanKey = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, - and _, at most 40')
  .describe('The plan key, e.g. `starter`');

/**
 * The caller as an operator, or the 404 an unknown route gets (the operator API is not
 * discoverable: a non-operator cannot tell it from a path that does not exist).
 */
async function asOperator(services: Services, req: FastifyRequest): Promise<OperatorActor> {
  const p = req.principal;
  if (p?.type !== 'user' || !(await isOperator(services.database, p.userId))) {
    const pathname = req.url.split('?')[0];
    throw new AppError(404, 'route_not_found', `There is no route ${req.method} ${pathname}`);
  }
  return { email: p.email, source: { ...auditSourceOf(req), actorLabel: `operator ${p.email}` } };
}

/**
 * The operator API (issue 30): `/api/v1/operator/*`, for users made operators with `cairn operator
 * grant`. Organizations with their usage, plans and limits, suspension. Every other caller gets 404.
 */
export function registerOperatorRoutes(app: ApiApp, services: Services): void {
  const config = { access: 'authenticated' as const };
  // Before any validation: a non-operator's malformed request is a 404 too, never a 400 that
  // would tell the route exists. Handlers ask again (cached) for the actor.
  const preValidation = async (req: FastifyRequest) => {
    await asOperator(services, req);
  };

  app.get(
    '/operator',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'getOperator',
        summary: 'Whether the caller is an operator of the install (404 when not)',
        response: { 200: z.object({ operator: z.literal(true), email: z.string() }), ...errors },
      },
    },
    async (req) => ({ operator: true as const, email: (await asOperator(services, req)).email }),
  );

  app.get(
    '/operator/organizations',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'listOperatorOrganizations',
        summary: 'The organizations of the install with their usage, plan and limits, newest first',
        querystring: z.object({
          q: z.string().trim().max(200).optional().describe('Part of the name or slug'),
          limit: z.coerce.number().int().min(1).max(100).default(50),
          offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
        }),
        response: { 200: z.object({ data: z.array(OrganizationUsage), total: z.number().int() }), ...errors },
      },
    },
    async (req) => {
      await asOperator(services, req);
      return listOrganizationUsage(services, req.query);
    },
  );

  app.get(
    '/operator/organizations/:id',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'getOperatorOrganization',
        summary: "One organization's usage, plan and limits",
        params: OrgParams,
        response: { 200: OrganizationUsage, ...errors },
      },
    },
    async (req) => {
      await asOperator(services, req);
      return getOrganizationUsage(services, req.params.id);
    },
  );

  app.put(
    '/operator/organizations/:id/plan',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'setOperatorOrganizationPlan',
        summary: "Set an organization's plan and its own limits (overrides)",
        params: OrgParams,
        body: z.strictObject({
          plan_key: PlanKey.nullable().describe('null: no plan (unlimited but for the overrides)'),
          overrides: Overrides.default({}),
        }),
        response: { 200: OrganizationUsage, ...errors },
      },
    },
    async (req) => {
      const actor = await asOperator(services, req);
      return setOrganizationPlan(services, actor, req.params.id, req.body);
    },
  );

  for (const [action, suspended] of [
    ['suspend', true],
    ['restore', false],
  ] as const) {
    app.post(
      `/operator/organizations/:id/${action}`,
      {
        config,
        preValidation,
        schema: {
          tags,
          operationId: suspended ? 'suspendOrganization' : 'restoreOrganization',
          summary: suspended
            ? 'Suspend an organization: its members get 403 `organization_suspended`, its jobs wait'
            : 'Restore a suspended organization: its members and jobs go on',
          params: OrgParams,
          body: z
            .strictObject({ reason: z.string().trim().max(500).optional().describe('Shown to its members') })
            .optional(),
          response: { 200: OrganizationUsage, 409: Problem, ...errors },
        },
      },
      async (req) => {
        const actor = await asOperator(services, req);
        return setSuspended(services, actor, req.params.id, suspended, req.body?.reason || null);
      },
    );
  }

  app.get(
    '/operator/plans',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'listPlans',
        summary: 'The named plans and their limits',
        response: { 200: z.object({ data: z.array(Plan) }), ...errors },
      },
    },
    async (req) => {
      await asOperator(services, req);
      return { data: await listPlans(services) };
    },
  );

  app.put(
    '/operator/plans/:key',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'putPlan',
        summary: 'Create or change a named plan; the organizations on it get its new limits',
        params: z.object({ key: PlanKey }),
        body: PlanInputSchema,
        response: { 200: Plan, ...errors },
      },
    },
    async (req) => {
      await asOperator(services, req);
      return putPlan(services, req.params.key, req.body);
    },
  );

  app.delete(
    '/operator/plans/:key',
    {
      config,
      preValidation,
      schema: {
        tags,
        operationId: 'deletePlan',
        summary: 'Delete a plan no organization is on',
        params: z.object({ key: PlanKey }),
        response: { 204: z.null(), 409: Problem, ...errors },
      },
    },
    async (req, reply) => {
      await asOperator(services, req);
      await deletePlan(services, req.params.key);
      return reply.code(204).send(null);
    },
  );
}
