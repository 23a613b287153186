import * as Sentry from '@sentry/node';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';

let initialised: string | undefined;

/**
 * Error reporting (issue 30) to a Sentry-compatible DSN when `SENTRY_DSN` is set: every error
 * that ends a request with a 5xx is sent, tagged with the request's `trace_id` (the logs' and the
 * problem body's) and its route template. Client errors (4xx) are the caller's and are not sent.
 * Sentry's own tracing and automatic instrumentation stay off: traces go to OTLP (`tracing.ts`).
 */
export function installErrorReporting(app: FastifyInstance, config: Pick<Config, 'sentryDsn'>): void {
  const dsn = config.sentryDsn;
  if (!dsn) return;
  if (initialised !== dsn) {
    Sentry.init({
      dsn,
      defaultIntegrations: false,
      enableOpenTelemetrySetup: false,
      enableRuntimeChannelInjection: false,
    });
    initialised = dsn;
  }
  app.addHook('onError', async (req, _reply, error) => {
    const e = error as { status?: number; statusCode?: number };
    const status = e.status ?? e.statusCode ?? 500;
    if (status < 500) return;
    Sentry.withScope((scope) => {
      scope.setTag('trace_id', String(req.id));
      scope.setTag('route', req.routeOptions.url ?? 'unmatched');
      scope.setContext('request', { method: req.method, route: req.routeOptions.url ?? null });
      Sentry.captureException(error);
    });
  });
  app.addHook('onClose', async () => {
    await Sentry.flush(2000);
  });
}
