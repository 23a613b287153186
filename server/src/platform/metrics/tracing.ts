import type { IncomingMessage } from 'node:http';
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import { traceIdOf } from '../http/trace.js';

/**
 * OpenTelemetry tracing (issue 30), on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: one server span
 * per HTTP request, named by its route template (`GET /api/v1/contacts/:id`), exported over
 * OTLP/HTTP (JSON) to `<endpoint>/v1/traces` in batches. The span's trace id IS the request's
 * `trace_id` that every log line and problem body carries: the span is started when Fastify asks
 * for the request id, continuing a valid W3C `traceparent` (as `traceIdOf` does) or starting a
 * trace of its own, whose id becomes the request id. Off, request ids come from `traceIdOf`.
 */
export type Tracing = {
  /** Fastify's `genReqId`: starts the request's span and answers its trace id. */
  requestId(req: IncomingMessage): string;
  /** Names, describes and ends each request's span when it is answered. */
  install(app: FastifyInstance): void;
  /** Sends the spans still buffered (called when the app closes). */
  shutdown(): Promise<void>;
};

export function createTracing(config: Pick<Config, 'otlpEndpoint' | 'otelServiceName'>): Tracing | null {
  if (!config.otlpEndpoint) return null;
  const exporter = new OTLPTraceExporter({ url: `${config.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.otelServiceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer: Tracer = provider.getTracer('cairn');
  const propagator = new W3CTraceContextPropagator();
  const spans = new WeakMap<IncomingMessage, Span>();
  const shutdown = () => provider.shutdown();

  return {
    requestId(req) {
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        `${req.method ?? 'HTTP'}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '' } },
        parent,
      );
      spans.set(req, span);
      const id = span.spanContext().traceId;
      return /^0+$/.test(id) ? traceIdOf(req) : id;
    },
    install(app) {
      app.addHook('onError', async (req, _reply, error) => {
        spans.get(req.raw)?.recordException(error);
      });
      app.addHook('onResponse', async (req, reply) => {
        const span = spans.get(req.raw);
        if (!span) return;
        spans.delete(req.raw);
        const route = req.routeOptions.url;
        span.updateName(route ? `${req.method} ${route}` : req.method);
        span.setAttributes({
          'http.route': route ?? '',
          'url.path': req.url.split('?')[0] ?? '',
          'http.response.status_code': reply.statusCode,
        });
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      app.addHook('onClose', async () => shutdown());
    },
    shutdown,
  };
}
