import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TenantContext } from '../../db/tenant.js';
import { auditSourceOf, recordAudit } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FilterNode, SortKey } from '../../platform/query/query.schema.js';
import { TASK_PRIORITIES } from '../../platform/registry/standard-objects.js';
import { listRecords } from '../records/record-list.service.js';
import { searchEverything } from '../records/record-search.service.js';
import { LINKABLE_OBJECTS } from '../tasks/linked-record.service.js';

/**
 * The MCP server for outside agents (issue 32): `POST /api/v1/mcp` speaks the Model Context
 * Protocol's JSON-RPC (the streamable HTTP transport, answering JSON, stateless), through the
 * official TypeScript SDK. Authenticated with an API key only; every tool runs with the key's
 * profile (its scopes within its owner's role), exactly as the REST routes do, and every tool call
 * is audited (`mcp.tool_called`). Tools: `search`, `read`, `query` (the query language), and the
 * record actions `create_record`, `update_record`, `archive_record`, `add_note`, `create_task`.
 *
 * The record actions go through the REST routes themselves (an in-process request carrying the
 * same key): the record services behind them, and every check a REST call gets, in the same order
 * (the key's scopes, its owner's object rights, field rights on what is written, the record scope,
 * the input's validation, hidden fields stripped from the answer), with no second copy of those
 * rules to drift. A refusal comes back as a tool error naming its code and the field's path.
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

/** The REST collection of a standard object; custom objects live under `records/<key>`. */
const COLLECTIONS: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  opportunity: 'opportunities',
  product: 'products',
  task: 'tasks',
};
const collectionOf = (object: string) => COLLECTIONS[object] ?? `records/${object}`;

/** A JSON object of field values, as the REST create and update take them. */
const Values = z
  .record(z.string(), z.unknown())
  .describe(
    'The body of the REST create or update (POST/PATCH /api/v1/<collection>): for a standard object its fields (`first_name`, `amount`, ...); for a custom object `{"custom": {...}, "owner_id"?, "tags"?}`',
  );

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });
const failure = (error: unknown) => {
  if (error instanceof AppError)
    return {
      isError: true,
      content: [
        {
          type: 'text' as const,
          text: `${error.code}: ${error.message}${error.path ? ` (${error.path})` : ''}`,
        },
      ],
    };
  throw error;
};

/**
 * One REST call made with the MCP request's own API key, in process; its JSON answer.
 * @throws AppError with the route's status, code, message and path when it refuses
 */
async function forward(
  app: FastifyInstance,
  req: FastifyRequest,
  method: 'POST' | 'PATCH',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await app.inject({
    method,
    url: `/api/v1/${path}`,
    headers: {
      authorization: String(req.headers.authorization ?? ''),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'user-agent': String(req.headers['user-agent'] ?? 'mcp'),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    remoteAddress: req.ip,
  });
  let answer: Record<string, unknown> = {};
  try {
    answer = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
  } catch {
    answer = {};
  }
  if (res.statusCode >= 400) {
    const code = typeof answer.code === 'string' ? answer.code : 'request_failed';
    const detail = typeof answer.detail === 'string' ? answer.detail : `The call answered ${res.statusCode}`;
    throw new AppError(
      res.statusCode,
      code,
      detail,
      typeof answer.path === 'string' ? { path: answer.path } : {},
    );
  }
  return answer;
}

function serverFor(
  app: FastifyInstance,
  services: Services,
  ctx: TenantContext,
  req: FastifyRequest,
): McpServer {
  const server = new McpServer({ name: 'cairn', version: services.version.version });
  const audited = async <T>(tool: string, args: Record<string, unknown>, fn: () => Promise<T>) => {
    let outcome = 'ok';
    let id = typeof args.id === 'string' ? args.id : null;
    try {
      const result = await fn();
      const made = (result as { id?: unknown } | null)?.id;
      if (!id && typeof made === 'string') id = made;
      return text(result);
    } catch (error) {
      outcome = error instanceof AppError ? error.code : 'error';
      return failure(error);
    } finally {
      await recordAudit(services.database, ctx.orgId, auditSourceOf(req), {
        action: 'mcp.tool_called',
        details: {
          tool,
          object: typeof args.object === 'string' ? args.object : null,
          ...(id ? { id } : {}),
          outcome,
        },
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
  server.registerTool(
    'create_record',
    {
      description:
        'Create a record of an object (contact, company, opportunity, product, task, a custom object) with the key owner’s rights; the same rules as POST /api/v1/<collection>',
      inputSchema: { object: ObjectKey, values: Values },
    },
    (args) =>
      audited('create_record', { object: args.object }, () =>
        forward(app, req, 'POST', collectionOf(args.object), args.values),
      ),
  );
  server.registerTool(
    'update_record',
    {
      description:
        'Change fields of a record: given fields change, absent ones stay, null clears; the same rules as PATCH /api/v1/<collection>/<id>',
      inputSchema: { object: ObjectKey, id: z.uuid(), values: Values },
    },
    (args) =>
      audited('update_record', args, () =>
        forward(app, req, 'PATCH', `${collectionOf(args.object)}/${args.id}`, args.values),
      ),
  );
  server.registerTool(
    'archive_record',
    {
      description: 'Archive (soft-delete, restorable) a record; needs the delete right on its object',
      inputSchema: { object: ObjectKey, id: z.uuid() },
    },
    (args) =>
      audited('archive_record', args, () =>
        forward(app, req, 'POST', `${collectionOf(args.object)}/${args.id}/archive`),
      ),
  );
  server.registerTool(
    'add_note',
    {
      description: 'Add a note (plain text or simple HTML, sanitized) to a contact, company or opportunity',
      inputSchema: { object: z.enum(LINKABLE_OBJECTS), id: z.uuid(), body: z.string().min(1).max(100_000) },
    },
    (args) =>
      audited('add_note', args, () =>
        forward(app, req, 'POST', 'notes', { object: args.object, id: args.id, body: args.body }),
      ),
  );
  server.registerTool(
    'create_task',
    {
      description:
        'Create a task, optionally about a contact, company or opportunity (`object` and `id`); assigned to the key’s owner unless `assignee_id` says otherwise',
      inputSchema: {
        title: z.string().min(1).max(200),
        description: z.string().max(5000).optional(),
        due_at: z.iso.datetime({ offset: true }).optional(),
        due_date: z.iso.date().optional(),
        priority: z.enum(TASK_PRIORITIES).optional(),
        assignee_id: z.uuid().optional(),
        object: z.enum(LINKABLE_OBJECTS).optional(),
        id: z.uuid().optional(),
      },
    },
    (args) => {
      const { object, id, ...task } = args;
      return audited('create_task', { object: 'task' }, () =>
        forward(app, req, 'POST', 'tasks', {
          ...task,
          ...(object && id ? { link: { object, id } } : {}),
        }),
      );
    },
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
          'The MCP server (streamable HTTP, JSON answers, stateless) for outside agents, with an API key: tools `search`, `read`, `query`, `create_record`, `update_record`, `archive_record`, `add_note`, `create_task`, bound by the key’s scopes and its owner’s rights; every call audited',
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
      const answer = await exchange(
        serverFor(app as unknown as FastifyInstance, services, req.tenant, req),
        req.body as JSONRPCMessage,
      );
      if (!answer) return reply.code(202).send(null);
      return reply.code(200).send(answer as Record<string, unknown>);
    },
  );
}
