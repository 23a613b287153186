import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { registerCompanyRoutes } from './modules/companies/company.routes.js';
import { registerContactRoutes } from './modules/contacts/contact.routes.js';
import { registerObjectRoutes } from './modules/custom-fields/custom-field.routes.js';
import { registerHealthRoutes } from './modules/health/health.routes.js';
import { registerImportRoutes } from './modules/imports/import.routes.js';
import { registerMergeRoutes } from './modules/merges/merge.routes.js';
import { registerNoteRoutes } from './modules/notes/note.routes.js';
import { registerOpportunityRoutes } from './modules/opportunities/opportunity.routes.js';
import { registerOrganizationRoutes } from './modules/organizations/organization.routes.js';
import { registerPipelineRoutes } from './modules/pipelines/pipeline.routes.js';
import { registerSearchRoutes } from './modules/records/search.routes.js';
import { registerTagRoutes } from './modules/tags/tag.routes.js';
import { registerTaskRoutes } from './modules/tasks/task.routes.js';
import { registerViewRoutes } from './modules/views/view.routes.js';
import { registerWebApp } from './modules/web/web.routes.js';
import {
  installSessionCacheInvalidation,
  principalResolver,
  registerAuthHandler,
} from './platform/auth/auth.routes.js';
import { installIdempotency } from './platform/http/idempotency.js';
import { installProblemHandlers } from './platform/http/problem.js';
import { installRateLimit } from './platform/http/rate-limit.js';
import { installRequestBudget } from './platform/http/request-budget.js';
import { installRouteGuard, type RouteEntry } from './platform/http/route-guard.js';
import { traceIdOf } from './platform/http/trace.js';
import type { ApiApp, Services } from './platform/http/types.js';

export type BuiltApp = { app: ApiApp; routes: RouteEntry[] };

/**
 * Assembles the HTTP server: JSON logs carrying each request's `trace_id`, zod-validated routes
 * with their OpenAPI 3.1 document at `/api/openapi.json` and reference at `/api/docs`,
 * problem+json errors, the access guard, better-auth at `/api/auth/*` and the `/api/v1` modules.
 */
export async function buildApp(services: Services): Promise<BuiltApp> {
  const { config } = services;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
    },
    logController: new LogController({ requestIdLogLabel: 'trace_id' }),
    requestIdHeader: false,
    genReqId: traceIdOf,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  installRequestBudget(app, config.statementTimeoutMs);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-trace-id', String(req.id));
  });
  installProblemHandlers(app);
  const resolve = principalResolver(services.auth, services.database, config);
  installSessionCacheInvalidation(app as unknown as ApiApp);
  const routes = installRouteGuard(app, {
    resolvePrincipal: resolve,
    trustedOrigins: config.trustedOrigins,
  });

  installIdempotency(app, services.database);
  const closeRateLimit = await installRateLimit(app, config);
  app.addHook('onClose', closeRateLimit);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cairn CRM API',
        version: services.version.version,
        description:
          'Multi-tenant CRM API. Errors are RFC 9457 application/problem+json with a stable `code`, ' +
          'the offending field `path` and the request `trace_id`. Authenticate with the session cookie ' +
          'from `/api/auth/sign-in/email`; cookie-authenticated mutations must carry an `Origin` header.',
      },
      servers: [{ url: config.baseUrl }],
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' } },
      },
      security: [{ session: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  await app.register(async (scoped) => {
    const api = scoped.withTypeProvider<ZodTypeProvider>() as ApiApp;
    api.get('/api/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () =>
      app.swagger(),
    );
    await registerWebApp(api);
    registerHealthRoutes(api, services);
    registerAuthHandler(api, services.auth, config.baseUrl);
    await api.register(
      async (v1) => {
        registerOrganizationRoutes(v1 as ApiApp, services);
        registerContactRoutes(v1 as ApiApp, services);
        registerCompanyRoutes(v1 as ApiApp, services);
        registerObjectRoutes(v1 as ApiApp, services);
        registerTagRoutes(v1 as ApiApp, services);
        registerViewRoutes(v1 as ApiApp, services);
        registerPipelineRoutes(v1 as ApiApp, services);
        registerOpportunityRoutes(v1 as ApiApp, services);
        registerTaskRoutes(v1 as ApiApp, services);
        registerNoteRoutes(v1 as ApiApp, services);
        registerSearchRoutes(v1 as ApiApp, services);
        registerImportRoutes(v1 as ApiApp, services);
        registerMergeRoutes(v1 as ApiApp, services);
      },
      { prefix: '/api/v1' },
    );
  });
  return { app: app as unknown as ApiApp, routes };
}
