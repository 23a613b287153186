import { auditSourceOf } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  AiAskAnswer,
  AiAskInput,
  AiAskReportAnswer,
  AiAskReportInput,
  AiDraft,
  AiDraftInput,
  AiDraftStreamInput,
  AiExplainInput,
  AiExplanation,
  AiRecordInput,
  AiSettingsUpdate,
  AiSettingsView,
  AiStatus,
  AiSummary,
} from './ai.dto.js';
import {
  askFilter,
  draftEmail,
  getAiSettings,
  getAiStatus,
  summarizeRecord,
  updateAiSettings,
} from './ai.service.js';
import { prepareDraft, streamDraft } from './ai-draft.service.js';
import { askReport, explainReports } from './ai-reports.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem };
/** What an assistant call may answer beyond the usual: off (409), a budget or the rate limit (429), the provider (424). */
const callErrors = { ...errors, 404: Problem, 409: Problem, 422: Problem, 424: Problem, 429: Problem };
const tags = ['ai'];

/**
 * The AI assistant (issue 32): the organization's settings (admins), and the calls a member makes
 * with their own rights: summarize a record, draft an e-mail, turn a question into a filter.
 */
export function registerAiRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/ai/settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getAiSettings',
        summary: "The organization's AI assistant settings; the provider key masked",
        response: { 200: AiSettingsView, ...errors },
      },
    },
    async (req) => getAiSettings(services, req.tenant),
  );

  app.patch(
    '/ai/settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateAiSettings',
        summary: 'Change the AI assistant settings: given fields change; `key` is write-only',
        body: AiSettingsUpdate,
        response: { 200: AiSettingsView, 422: Problem, ...errors },
      },
    },
    async (req) => updateAiSettings(services, req.tenant, auditSourceOf(req), req.body),
  );

  app.get(
    '/ai/status',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'getAiStatus',
        summary: 'Whether the assistant is on for my organization, and which features',
        response: { 200: AiStatus, ...errors },
      },
    },
    async (req) => getAiStatus(services, req.tenant),
  );

  app.post(
    '/ai/summarize',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiSummarizeRecord',
        summary:
          'Summarize a record with suggested next steps, from what the member may read (fields, notes, tasks, deals, timeline)',
        body: AiRecordInput,
        response: { 200: AiSummary, ...callErrors },
      },
    },
    async (req) => summarizeRecord(services, req.tenant, auditSourceOf(req), req.body),
  );

  app.post(
    '/ai/draft-email',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiDraftEmail',
        summary: 'Draft an e-mail about a record for the member to edit; nothing is sent',
        body: AiDraftInput,
        response: { 200: AiDraft, ...callErrors },
      },
    },
    async (req) => draftEmail(services, req.tenant, auditSourceOf(req), req.body),
  );

  app.post(
    '/ai/draft/stream',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiStreamDraft',
        summary:
          'Draft a reply in a conversation (or a message to a record), optionally from a message template, streamed as it is written; nothing is sent',
        description:
          'Server-sent events, once the provider starts answering: `delta` events `{"text": piece}` in order ' +
          '(a template’s `{{variables}}` already filled for the contact), then `done` ' +
          '`{"text", "subject", "model", "stopped": "end"|"limit"}` (`subject`: the template’s, filled, when it ' +
          'has one; else the one the assistant wrote for a message to a record (null if it wrote none), and ' +
          'null for a reply in a conversation), or `error` with a problem ' +
          '(`{"status", "code", "detail"}`: `ai_budget_exhausted` when the budget runs out mid-answer, an ' +
          '`ai_provider_*` code when the provider fails mid-answer); the text streamed so far stays the ' +
          'member’s to edit. Closing the connection stops the provider. Refusals before the first piece are ' +
          'ordinary problems (404, 409, 422, 424, 429).',
        produces: ['text/event-stream'],
        body: AiDraftStreamInput,
        response: callErrors,
      },
    },
    async (req, reply) => {
      const source = auditSourceOf(req);
      const prepared = await prepareDraft(services, req.tenant, source, req.body);
      const abort = new AbortController();
      const raw = reply.raw;
      // The member closed the draft: the connection's end (or the request's, when injected) stops the provider.
      raw.on('close', () => {
        if (!raw.writableFinished) abort.abort();
      });
      req.raw.on('close', () => {
        if (req.raw.errored || req.raw.aborted) abort.abort();
      });
      let opened = false;
      const write = (event: string, data: unknown) => {
        if (!opened) {
          opened = true;
          reply.hijack();
          raw.writeHead(200, {
            ...(reply.getHeaders() as Record<string, string>),
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store, no-transform',
            'x-accel-buffering': 'no',
          });
        }
        if (!raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const problem = (e: AppError) => ({ status: e.status, code: e.code, detail: e.message });
      try {
        await streamDraft(
          services,
          req.tenant,
          source,
          prepared,
          {
            delta: (text) => write('delta', { text }),
            done: (final) => write('done', final),
            failed: (e) => write('error', problem(e)),
          },
          abort.signal,
        );
      } catch (error) {
        // Before the first piece, an ordinary problem answer; after it, an `error` event.
        if (!opened) throw error;
        write(
          'error',
          problem(
            error instanceof AppError
              ? error
              : new AppError(424, 'ai_provider_error', 'The AI provider failed mid-answer'),
          ),
        );
      }
      if (abort.signal.aborted) {
        if (!opened) reply.hijack();
        raw.destroy();
        return reply;
      }
      if (!opened)
        write('done', { text: '', subject: prepared.subject, model: prepared.g.row.model, stopped: 'end' });
      raw.end();
      return reply;
    },
  );

  app.post(
    '/ai/ask',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiAskFilter',
        summary:
          'Turn a plain-language question into a filter of the query language, validated against the member’s readable fields; not run',
        body: AiAskInput,
        response: { 200: AiAskAnswer, ...callErrors },
      },
    },
    async (req) => askFilter(services, req.tenant, auditSourceOf(req), req.body),
  );

  app.post(
    '/ai/ask-report',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiAskReport',
        summary:
          'Turn a plain-language question ("how many cases did we qualify last quarter") into a report definition, checked against the member’s readable objects and fields; shown, not run',
        body: AiAskReportInput,
        response: { 200: AiAskReportAnswer, ...callErrors },
      },
    },
    async (req) => askReport(services, req.tenant, auditSourceOf(req), req.body),
  );

  app.post(
    '/ai/explain',
    {
      config: { access: 'records:read', rights: { object: '*', right: 'read' } },
      schema: {
        tags,
        operationId: 'aiExplainReports',
        summary:
          'Read the numbers of a report or of a dashboard’s reports in a few sentences citing them; each report is run with the member’s rights first',
        body: AiExplainInput,
        response: { 200: AiExplanation, ...callErrors },
      },
    },
    async (req) => explainReports(services, req.tenant, auditSourceOf(req), req.body),
  );
}
