import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// W3C Trace Context: version "00", 32 hex trace-id (not all zeros), 16 hex parent-id, 2 hex flags.
// https://www.w3.org/TR/trace-context/#traceparent-header
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The request's trace id: the trace-id of a valid `traceparent` header, else a new random one.
 * Used as Fastify's request id, so every log line of the request carries it as `trace_id`.
 */
export function traceIdOf(req: IncomingMessage): string {
  const header = req.headers.traceparent;
  const match = typeof header === 'string' ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (match && !/^0+$/.test(match[1]!)) return match[1]!;
  // A v4 UUID's 122 random bits, drawn from Node's batched entropy cache (cheaper per request
  // than randomBytes).
  return randomUUID().replaceAll('-', '');
}
