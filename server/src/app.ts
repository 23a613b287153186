import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController } from 'fastify';
import {
  jsonSchemaTransformObject,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { registerAccessRoutes } from './modules/access/access.routes.js';
import { registerAiRoutes } from './modules/ai/ai.routes.js';
import { registerMcpRoutes } from './modules/ai/mcp.routes.js';
import { registerBroadcastRoutes } from './modules/broadcasts/broadcast.routes.js';
import { registerCompanyRoutes } from './modules/companies/company.routes.js';
import { registerConsentRoutes } from './modules/consent/consent.routes.js';
import { registerContactRoutes } from './modules/contacts/contact.routes.js';
import { registerConversationRoutes } from './modules/conversations/conversation.routes.js';
import { registerSuppressionRoutes } from './modules/conversations/suppression.routes.js';
import { registerExchangeRateRoutes } from './modules/currencies/exchange-rate.routes.js';
import { registerObjectRoutes } from './modules/custom-fields/custom-field.routes.js';
import { registerCustomObjectRoutes } from './modules/custom-objects/custom-object.routes.js';
import { registerFileRoutes } from './modules/files/file.routes.js';
import { registerFormPublicRoutes, registerFormRoutes } from './modules/forms/form.routes.js';
import { registerGdprRoutes } from './modules/gdpr/gdpr.routes.js';
import { registerHandoffRoutes } from './modules/handoffs/handoff.routes.js';
import { registerHealthRoutes } from './modules/health/health.routes.js';
import { registerMetricsRoutes } from './modules/health/metrics.routes.js';
import { registerHomeRoutes } from './modules/home/home.routes.js';
import { registerImportRoutes } from './modules/imports/import.routes.js';
import { registerMergeRoutes } from './modules/merges/merge.routes.js';
import { registerMessageTemplateRoutes } from './modules/message-templates/message-template.routes.js';
import { registerMetaRoutes } from './modules/meta/meta.routes.js';
import { registerMigrationRoutes } from './modules/migrations/gohighlevel.routes.js';
import { registerNoteRoutes } from './modules/notes/note.routes.js';
import { registerNotificationRoutes } from './modules/notifications/notification.routes.js';
import { registerOperatorRoutes } from './modules/operator/operator.routes.js';
import { registerOpportunityRoutes } from './modules/opportunities/opportunity.routes.js';
import { registerOrderRoutes } from './modules/orders/order.routes.js';
import { registerOrganizationRoutes } from './modules/organizations/organization.routes.js';
import { registerOrganizationSettingsRoutes } from './modules/organizations/organization-settings.routes.js';
import { registerPipelineRoutes } from './modules/pipelines/pipeline.routes.js';
import { registerProductRoutes } from './modules/products/product.routes.js';
import { registerQuoteRoutes } from './modules/quotes/quote.routes.js';
import { registerPublicQuoteRoutes } from './modules/quotes/quote-public.routes.js';
import { registerCustomRecordRoutes } from './modules/records/custom-record.routes.js';
import { registerRecordBoardRoutes } from './modules/records/record-board.routes.js';
import { registerRecordLinkRoutes } from './modules/records/record-links.routes.js';
import { registerSearchRoutes } from './modules/records/search.routes.js';
import { registerReportRoutes } from './modules/reports/report.routes.js';
import { registerReportScheduleRoutes } from './modules/reports/report-schedule.routes.js';
import {
  registerPublicBookingRoutes,
  registerSchedulingRoutes,
} from './modules/scheduling/scheduling.routes.js';
import { registerApiKeyRoutes } from './modules/security/api-key.routes.js';
import { registerAuditRoutes } from './modules/security/audit.routes.js';
import { registerEmailVerificationRoutes } from './modules/security/email-verification.routes.js';
import { registerGuardRoutes } from './modules/security/guard.routes.js';
import { registerPasswordRoutes } from './modules/security/password.routes.js';
import { registerSessionRoutes } from './modules/security/session.routes.js';
import { registerSystemMailRoutes } from './modules/security/system-mail.routes.js';
import { registerTwoFactorRoutes } from './modules/security/two-factor.routes.js';
import { registerSequenceRoutes } from './modules/sequences/sequence.routes.js';
import { registerStockRoutes } from './modules/stock/stock.routes.js';
import { registerTagRoutes } from './modules/tags/tag.routes.js';
import { registerTaskRoutes } from './modules/tasks/task.routes.js';
import { registerTemplateRoutes } from './modules/templates/template.routes.js';
import { registerViewRoutes } from './modules/views/view.routes.js';
import { registerWebApp } from './modules/web/web.routes.js';
import { registerWebhookRoutes } from './modules/webhooks/webhook.routes.js';
import { registerWorkflowRoutes } from './modules/workflows/workflow.routes.js';
// Each module's event types, registered with the event catalogue (platform/events/event-catalogue.ts).
import './modules/access/access.events.js';
import './modules/companies/company.events.js';
import './modules/contacts/contact.events.js';
// The contacts' side of a company (its contact count, unlinking on archive), plugged into companies.
import './modules/contacts/company-contacts.plug.js';
import './modules/custom-fields/custom-field.events.js';
import './modules/custom-objects/custom-object.events.js';
import './modules/forms/form.events.js';
import './modules/files/file.events.js';
import './modules/gdpr/gdpr.events.js';
import './modules/notes/note.events.js';
import './modules/opportunities/opportunity.events.js';
import './modules/organizations/organization.events.js';
import './modules/pipelines/pipeline.events.js';
import './modules/products/product.events.js';
import './modules/quotes/quote.events.js';
import './modules/orders/order.events.js';
import './modules/currencies/exchange-rate.events.js';
import './modules/stock/stock.events.js';
import './modules/records/record.events.js';
import './modules/handoffs/handoff.events.js';
import './modules/templates/template.events.js';
import './modules/tags/tag.events.js';
import './modules/tasks/task.events.js';
import './modules/views/view.events.js';
import { installAccessGuard } from './platform/access/access-guard.js';
import { profileOfPrincipal } from './platform/access/access-loader.js';
import './modules/webhooks/webhook.events.js';
import './modules/meta/meta.events.js';
import './modules/conversations/conversation.events.js';
import './modules/workflows/workflow.events.js';
import './modules/sequences/sequence.events.js';
import './modules/broadcasts/broadcast.events.js';
import { installApiUsage } from './modules/ops/api-usage.service.js';
import { registerOpsRoutes } from './modules/ops/ops.routes.js';
import { withApiKeys } from './platform/auth/api-keys.js';
import {
  installSessionCacheInvalidation,
  principalResolver,
  registerAuthHandler,
} from './platform/auth/auth.routes.js';
import { eventWebhooks } from './platform/events/event-reference.js';
import { installGuard } from './platform/guard/guard-hooks.js';
import { installCompression } from './platform/http/compression.js';
import { installIdempotency } from './platform/http/idempotency.js';
import { installInputRules } from './platform/http/input.js';
import { API_KEY_SCHEME, openApiTransform, SESSION_SCHEME } from './platform/http/openapi.js';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installProblemHandlers,
} from './platform/http/problem.js';
import { installRateLimit } from './platform/http/rate-limit.js';
import { installRequestBudget } from './platform/http/request-budget.js';
import { installRouteGuard, type RouteEntry } from './platform/http/route-guard.js';
import { API_DOCS_CSP, installSecurityHeaders } from './platform/http/security-headers.js';
import { responseSerializer } from './platform/http/serializer.js';
import { traceIdOf } from './platform/http/trace.js';
import type { ApiApp, Services } from './platform/http/types.js';
import { installErrorReporting } from './platform/metrics/error-reporting.js';
import { installMetrics } from './platform/metrics/metrics.js';
import { createTracing } from './platform/metrics/tracing.js';
import { installOrganizationGate } from './platform/plans/org-gate.js';

export type BuiltApp = { app: ApiApp; routes: RouteEntry[] };

/**
 * Assembles the HTTP server: JSON logs carrying each request's `trace_id`, zod-validated routes
 * with their OpenAPI 3.1 document at `/api/openapi.json` and reference at `/api/docs`,
 * problem+json errors, the access guard, better-auth at `/api/auth/*` and the `/api/v1` modules.
 * `options.webDistDir` serves another build of the web app than `web/dist` (tests).
 */
export async function buildApp(services: Services, options: { webDistDir?: string } = {}): Promise<BuiltApp> {
  const { config } = services;
  const tracing = createTracing(config);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
    },
    logController: new LogController({ requestIdLogLabel: 'trace_id' }),
    requestIdHeader: false,
    genReqId: tracing ? tracing.requestId : traceIdOf,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Errors raised before a route runs (Node's HTTP parser, Fastify's router) are problem+json too.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();

  tracing?.install(app);
  installErrorReporting(app, config);
  installRequestBudget(app, config.statementTimeoutMs);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializer);
  await installSecurityHeaders(app, config);
  await installCompression(app);
  installProblemHandlers(app);
  installInputRules(app);
  const rateLimit = await installRateLimit(app, config);
  app.addHook('onClose', rateLimit.close);
  const resolve = principalResolver(services.auth, services.database, config);
  installSessionCacheInvalidation(app as unknown as ApiApp);
  installAccessGuard(app, services.database);
  const routes = installRouteGuard(app, {
    resolvePrincipal: withApiKeys(services.database, resolve),
    trustedOrigins: config.trustedOrigins,
    limit: rateLimit.limit,
    profileOf: (principal) => profileOfPrincipal(services.database, principal),
  });

  // A suspended organization's requests are refused; API-key calls are counted (issue 30).
  installOrganizationGate(app, services.database);
  // The guard counts what each principal reads, exports and deletes (after the route guard).
  installGuard(app, services.guard);
  installMetrics(app, config, services.database);
  installApiUsage(app, services);
  installIdempotency(app, services.database);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cairn CRM API',
        version: services.version.version,
        description:
          'Multi-tenant CRM API. Errors are RFC 9457 application/problem+json with a stable `code`, ' +
          'the offending field `path` and the request `trace_id`. Authenticate with the session cookie ' +
          'from `/api/auth/sign-in/email` (cookie-authenticated mutations must carry an `Origin` header) ' +
          'or an API key as `Authorization: Bearer <key>`. ' +
          'Every operation may also answer 429 (rate limit), 503 (timeout or shutting down) and the other ' +
          'errors it lists; a path called with a method it does not have answers 405 with an `Allow` header.',
      },
      servers: [{ url: config.baseUrl }],
      components: {
        securitySchemes: {
          [SESSION_SCHEME]: { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' },
          [API_KEY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (`cairn_...`) issued at `POST /api/v1/api-keys`',
          },
        },
      },
      security: [{ [SESSION_SCHEME]: [] }],
      // The event reference, from the event catalogue: one entry per event type.
      webhooks: eventWebhooks(),
    },
    transform: openApiTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // The reference page opens with its sections closed and without the schema list: the document
  // has ~450 operations and ~500 schemas (2 MB), and drawing them all at once took the page more
  // than 15 s to show anything in a browser on this machine kind.
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: API_DOCS_CSP,
    uiConfig: { docExpansion: 'none', defaultModelsExpandDepth: -1, deepLinking: true },
  });

  await app.register(async (scoped) => {
    const api = scoped.withTypeProvider<ZodTypeProvider>() as ApiApp;
    api.get('/api/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () =>
      app.swagger(),
    );
    await registerWebApp(api, options.webDistDir);
    registerHealthRoutes(api, services);
    registerMetricsRoutes(api, services);
    registerAuthHandler(api, services.auth, config.baseUrl);
    await registerFormPublicRoutes(api, services);
    await api.register(
      async (v1) => {
        registerOrganizationRoutes(v1 as ApiApp, services);
        registerContactRoutes(v1 as ApiApp, services);
        registerCompanyRoutes(v1 as ApiApp, services);
        registerObjectRoutes(v1 as ApiApp, services);
        registerCustomObjectRoutes(v1 as ApiApp, services);
        registerTagRoutes(v1 as ApiApp, services);
        registerViewRoutes(v1 as ApiApp, services);
        registerPipelineRoutes(v1 as ApiApp, services);
        registerOpportunityRoutes(v1 as ApiApp, services);
        registerProductRoutes(v1 as ApiApp, services);
        registerQuoteRoutes(v1 as ApiApp, services);
        registerPublicQuoteRoutes(v1 as ApiApp, services);
        registerOrderRoutes(v1 as ApiApp, services);
        registerExchangeRateRoutes(v1 as ApiApp, services);
        registerStockRoutes(v1 as ApiApp, services);
        registerTaskRoutes(v1 as ApiApp, services);
        registerNoteRoutes(v1 as ApiApp, services);
        registerSearchRoutes(v1 as ApiApp, services);
        registerCustomRecordRoutes(v1 as ApiApp, services);
        registerRecordLinkRoutes(v1 as ApiApp, services);
        registerRecordBoardRoutes(v1 as ApiApp, services);
        registerImportRoutes(v1 as ApiApp, services);
        registerMergeRoutes(v1 as ApiApp, services);
        registerMigrationRoutes(v1 as ApiApp, services);
        registerNotificationRoutes(v1 as ApiApp, services);
        registerHandoffRoutes(v1 as ApiApp, services);
        registerTemplateRoutes(v1 as ApiApp, services);
        registerAuditRoutes(v1 as ApiApp, services);
        registerApiKeyRoutes(v1 as ApiApp, services);
        registerAiRoutes(v1 as ApiApp, services);
        registerMcpRoutes(v1 as ApiApp, services);
        registerAccessRoutes(v1 as ApiApp, services);
        registerPasswordRoutes(v1 as ApiApp, services);
        registerSystemMailRoutes(v1 as ApiApp, services);
        registerEmailVerificationRoutes(v1 as ApiApp, services);
        registerSessionRoutes(v1 as ApiApp, services);
        registerTwoFactorRoutes(v1 as ApiApp, services);
        registerGuardRoutes(v1 as ApiApp, services);
        registerWebhookRoutes(v1 as ApiApp, services);
        registerMetaRoutes(v1 as ApiApp, services);
        registerFormRoutes(v1 as ApiApp, services);
        registerConsentRoutes(v1 as ApiApp, services);
        registerFileRoutes(v1 as ApiApp, services);
        registerGdprRoutes(v1 as ApiApp, services);
        registerHomeRoutes(v1 as ApiApp, services);
        registerOrganizationSettingsRoutes(v1 as ApiApp, services);
        registerWorkflowRoutes(v1 as ApiApp, services);
        registerSchedulingRoutes(v1 as ApiApp, services);
        registerPublicBookingRoutes(v1 as ApiApp, services);
        registerConversationRoutes(v1 as ApiApp, services);
        registerMessageTemplateRoutes(v1 as ApiApp, services);
        registerReportRoutes(v1 as ApiApp, services);
        registerReportScheduleRoutes(v1 as ApiApp, services);
        registerSuppressionRoutes(v1 as ApiApp, services);
        registerSequenceRoutes(v1 as ApiApp, services);
        registerBroadcastRoutes(v1 as ApiApp, services);
        registerOpsRoutes(v1 as ApiApp, services);
        registerOperatorRoutes(v1 as ApiApp, services);
      },
      { prefix: '/api/v1' },
    );
  });
  return { app: app as unknown as ApiApp, routes };
}
