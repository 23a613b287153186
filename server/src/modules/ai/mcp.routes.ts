import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TenantContext } from '../../db/tenant.js';
import { auditSourceOf, recordAudit } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FilterNode, SortKey } from '../../platform/query/query.schema.js';
import { listRecords } from '../records/record-list.service.js';
import { searchEverything } from '../records/record-search.service.js';

/**
 * The MCP server for outside agents (issue 32): `POST /api/v1/mcp` speaks the Model Context
 * Protocol's JSON-RPC (the streamable HTTP transport, answering JSON, stateless), through the
 * official TypeScript SDK. Authenticated with an API key only; every tool runs with the key's
 * profile (its scopes within its owner's role), exactly as the REST routes do, and every tool call
 * is audited (`mcp.tool_called`). Tools: `search`, `read`, `query` (the query language).
 */
const JsonRpc = z
  .object({
    jsonrpc: z.literal('2.0'),
    method: z.string().min(1).max(200),
    id: z.union([z.string().max(200), z.number()]).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'McpMessage' });

const ObjectKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z][a-z0-9_]*$/);

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });
const failure = (error: unknown) => {
  if (error instanceof AppError)
    return { isError: true, content: [{ type: 'text' as const, text: `${error.code}: ${error.message}` }] };
  throw error;
};

function serverFor(services: Services, ctx: TenantContext, req: FastifyRequest): McpServer {
  const server = new McpServer({ name: 'cairn', version: services.version.version });
  const audited = async <T>(tool: string, args: Record<string, unknown>, fn: () => Promise<T>) => {
    let outcome = 'ok';
    try {
      return text(await fn());
    } catch (error) {
      outcome = error instanceof AppError ? error.code : 'error';
      return failure(error);
    } finally {
      await recordAudit(services.database, ctx.orgId, auditSourceOf(req), {
        action: 'mcp.tool_called',
        details: { tool, object: typeof args.object === 'string' ? args.object : null, outcome },
      });
    }
  };
  server.registerTool(
    'search',
    {
      description: 'Free-text search across contacts, companies and opportunities the key may read',
      inputSchema: { q: z.string().min(1).max(200), limit: z.number().int().min(1).max(50).optional() },
    },
    (args) => audited('search', args, () => searchEverything(services, ctx, args.q, args.limit ?? 10)),
  );
  server.registerTool(
    'read',
    {
      description:
        'One record of an object (contact, company, opportunity, task, a custom object), its readable fields',
      inputSchema: { object: ObjectKey, id: z.uuid() },
    },
    (args) =>
      audited('read', args, async () => {
        const page = await listRecords(services, ctx, args.object, {
          filter: { field: 'id', op: 'eq', value: args.id },
          limit: 1,
        });
        if (!page.data[0]) throw new AppError(404, 'not_found', `${args.object} ${args.id} was not found`);
        return page.data[0];
      }),
  );
  server.registerTool(
    'query',
    {
      description:
        "A page of an object's records in Cairn's query language: filter ({field, op, value}, {and: []}, {or: []}, {not: ...}), sort, limit, cursor; the same rules as POST /api/v1/<object>/query",
      inputSchema: {
        object: ObjectKey,
        filter: FilterNode.optional(),
        sort: z.array(SortKey).max(5).optional(),
        limit: z.number().int().min(1).max(200).optional(),
        cursor: z.string().max(2000).optional(),
      },
    },
    (args) =>
      audited('query', args, () => {
        const { object, ...query } = args;
        return listRecords(services, ctx, object, query);
      }),
  );
  return server;
}

/** Hands one JSON-RPC message to a fresh MCP server; its answer, or undefined for a notification. */
async function exchange(server: McpServer, message: JSONRPCMessage): Promise<JSONRPCMessage | undefined> {
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  try {
    if (!('id' in message) || message.id === undefined) {
      await client.send(message);
      return undefined;
    }
    return await new Promise<JSONRPCMessage>((resolve) => {
      client.onmessage = (answer) => {
        if ('id' in answer && answer.id === message.id) resolve(answer);
      };
      void client.send(message);
    });
  } finally {
    await server.close();
  }
}

export function registerMcpRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/mcp',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags: ['ai'],
        operationId: 'mcp',
        summary:
          'The MCP server (streamable HTTP, JSON answers, stateless) for outside agents, with an API key: tools `search`, `read`, `query`, bound by the key’s scopes; every call audited',
        body: JsonRpc,
        response: {
          200: z.record(z.string(), z.unknown()).describe('The JSON-RPC answer'),
          202: z.null().describe('A notification was accepted'),
          400: Problem,
          401: Problem,
          403: Problem,
        },
      },
    },
    async (req, reply) => {
      if (req.principal?.type !== 'api_key')
        throw new AppError(
          403,
          'api_key_required',
          'The MCP server takes an API key (Authorization: Bearer cairn_...)',
        );
      const answer = await exchange(serverFor(services, req.tenant, req), req.body as JSONRPCMessage);
      if (!answer) return reply.code(202).send(null);
      return reply.code(200).send(answer as Record<string, unknown>);
    },
  );
}
