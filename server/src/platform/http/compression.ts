import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/** Responses smaller than this go out as they are: compressing them saves less than it costs. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/** Text, JSON (problem+json included), JSON lines, XML and CSV: what compresses well. */
const COMPRESSIBLE = /^text\/(?!event-stream)|(?:\+|\/)json(?:;|$)|\/x-ndjson(?:;|$)|(?:\+|\/)xml(?:;|$)/u;

/**
 * Compresses responses of at least {@link COMPRESSION_THRESHOLD_BYTES} when the client accepts it
 * (`Accept-Encoding`: brotli at quality 4, else gzip; `Vary: Accept-Encoding`), streamed exports
 * as they stream. Responses that already carry a `Content-Encoding` (the web app's assets, served
 * from the `.br`/`.gz` files the build writes) pass through. Request bodies are not decompressed:
 * a compressed body would escape the body limit's meaning and no client of the API sends one.
 * Register before `@fastify/static` (the plugin's own requirement).
 */
export async function installCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    global: true,
    globalDecompression: false,
    threshold: COMPRESSION_THRESHOLD_BYTES,
    encodings: ['br', 'gzip'],
    customTypes: COMPRESSIBLE,
  });
}
