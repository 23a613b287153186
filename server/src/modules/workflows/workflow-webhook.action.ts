import { AppError, notFound } from '../../platform/errors/app-error.js';
import type { OutboundResponse } from '../../platform/net/outbound-http.js';
import { OutboundError } from '../../platform/net/outbound-http.js';
import { checkOutboundTarget, postSignedJson } from '../webhooks/webhook.service.js';
import type { Step } from './workflow.definition.js';
import {
  as,
  done,
  registerAction,
  type StepContext,
  type StepOutcome,
  triggerBody,
} from './workflow-actions.js';
import { readRecords } from './workflow-records.js';
import { workflowSigningSecret } from './workflow-secrets.js';
import { renderTemplate } from './workflow-templates.js';

/**
 * The `call_webhook` action (issue 24): POSTs JSON to the step's URL, signed per Standard Webhooks
 * with the workflow's signing secret, through the outgoing webhooks' SSRF guard and signing
 * (`webhooks/webhook.service.ts`, `postSignedJson`): one outbound path for the product.
 *
 * The body: `{type: "workflow.webhook", id, workflow: {id, name}, run_id, step_id,
 * record: {object, id, ...fields} (unless include_record is false), data: {...rendered data}}`.
 *
 * Idempotency: the `webhook-id` header (and the body's `id`) is `wf_<run id>_<step id>`, the same
 * on every attempt and on a replay of the step, so a receiver that keeps the ids it has seen (as
 * Standard Webhooks asks) acts once even when a worker dies after the POST and the step runs again.
 *
 * Retries: a 5xx, 408 or 429 answer, a timeout, a refused connection or a failed DNS look-up puts
 * the step to sleep (a durable wait of the engine) for the next delay of the deliveries' schedule
 * (`WEBHOOK_RETRY_SCHEDULE_SECONDS`, default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); the body is
 * kept in the step's output and sent again byte for byte. Any other answer, a refused address
 * (`ssrf_private`: a name that resolves to a private address when the request is made) or the last
 * attempt failing fails the step with the reason, visible in the run; the run can be replayed
 * from it.
 */

type CallWebhook = Extract<Step, { type: 'call_webhook' }>;

/** What a sleeping step keeps between attempts. */
type Pending = { attempt: number; webhook_id: string; body: string };

const RETRIED_ERRORS = new Set(['timeout', 'connect_failed', 'dns_failed']);
const retried = (status: number | undefined, code: string | undefined) =>
  status !== undefined ? status >= 500 || status === 408 || status === 429 : RETRIED_ERRORS.has(code ?? '');

export const webhookIdOf = (ctx: StepContext) => `wf_${ctx.run.id}_${ctx.step.id}`;

function bodyOf(ctx: StepContext, step: CallWebhook, record: Record<string, unknown>): string {
  const context = {
    record,
    workflow: { name: ctx.run.workflowName },
    trigger: triggerBody(ctx.run.trigger),
  };
  const data: Record<string, string> = {};
  for (const [key, text] of Object.entries(step.data ?? {})) data[key] = renderTemplate(text, context);
  return JSON.stringify({
    type: 'workflow.webhook',
    id: webhookIdOf(ctx),
    workflow: { id: ctx.run.workflowId, name: ctx.run.workflowName },
    run_id: ctx.run.id,
    step_id: step.id,
    ...(step.include_record ? { record: { object: ctx.def.key, ...record, id: ctx.run.recordId } } : {}),
    data,
  });
}

/**
 * POSTs one batch of `call_webhook` steps has in flight at once (a step job drives up to 500
 * runs): at least 50, and more when the batch would otherwise need so many rounds of
 * `WEBHOOK_TIMEOUT_MS` (receivers that never answer) that its transaction could pass half of
 * the job's deadline (`JOB_STATEMENT_TIMEOUT_MS`). Defaults (10 s, 120 s): 6 rounds, 84 at once
 * for 500 steps.
 */
function inFlight(
  config: { webhookTimeoutMs: number; jobStatementTimeoutMs: number },
  steps: number,
): number {
  const rounds = Math.max(1, Math.floor(config.jobStatementTimeoutMs / 2 / config.webhookTimeoutMs));
  return Math.max(50, Math.ceil(steps / rounds));
}

const excerpt = (text: string, n = 300) => (text.length > n ? `${text.slice(0, n)}…` : text);

/** One attempt: the POST, and what the step does about its answer. */
async function attempt(ctx: StepContext, step: CallWebhook, body: string, n: number): Promise<StepOutcome> {
  const id = webhookIdOf(ctx);
  const secret = workflowSigningSecret(ctx.services.config.secret, ctx.scope.ctx.orgId, ctx.run.workflowId);
  let response: OutboundResponse | undefined;
  let code: string | undefined;
  let message = '';
  try {
    response = await postSignedJson(ctx.services, step.url, { id, body, secrets: [secret] });
  } catch (error) {
    if (!(error instanceof OutboundError)) throw error;
    code = error.code;
    message = error.message;
  }
  if (response && response.status >= 200 && response.status < 300)
    return done({
      url: step.url,
      webhook_id: id,
      status: response.status,
      attempts: n,
      response_ms: response.durationMs,
      response: excerpt(response.body),
    });
  const schedule = ctx.services.config.webhookRetryScheduleS;
  const reason = response
    ? `${step.url} answered ${response.status}${response.body ? `: ${excerpt(response.body, 200)}` : ''}`
    : `${code}: ${message}`;
  if (retried(response?.status, code) && n <= schedule.length) {
    const until = new Date(Date.now() + schedule[n - 1]! * 1000);
    return {
      kind: 'wait',
      until,
      output: {
        attempt: n,
        webhook_id: id,
        body,
        last_status: response?.status ?? null,
        last_error: reason,
        next_attempt_at: until.toISOString(),
      } satisfies Pending & Record<string, unknown>,
    };
  }
  if (response)
    throw new AppError(
      422,
      'webhook_failed',
      `The webhook failed after ${n} attempt${n === 1 ? '' : 's'}: ${reason}`,
    );
  throw new AppError(
    422,
    code!,
    retried(undefined, code)
      ? `The webhook failed after ${n} attempts: ${reason}`
      : `The webhook was refused: ${reason}`,
  );
}

function pendingOf(ctx: StepContext): Pending | undefined {
  if (ctx.phase !== 'resume') return undefined;
  const p = ctx.previous as Partial<Pending> | null | undefined;
  return p && typeof p.body === 'string' && typeof p.attempt === 'number' ? (p as Pending) : undefined;
}

registerAction('call_webhook', {
  async run(ctx) {
    const step = as(ctx, 'call_webhook');
    const pending = pendingOf(ctx);
    const body = pending?.body ?? bodyOf(ctx, step, await ctx.record());
    if (ctx.dry) {
      try {
        checkOutboundTarget(ctx.services, step.url);
      } catch (error) {
        if (error instanceof OutboundError) throw new AppError(422, error.code, error.message);
        throw error;
      }
      return done({ url: step.url, body: JSON.parse(body), would: `POST the JSON to ${step.url}, signed` });
    }
    return attempt(ctx, step, body, (pending?.attempt ?? 0) + 1);
  },
  // The batch's POSTs go out side by side, `inFlight` at a time (one record read for all), so a
  // batch waits for the slowest receiver a few times, not once per run.
  async runMany(ctxs, scope) {
    const step = as(ctxs[0]!, 'call_webhook');
    const fresh = ctxs.filter((ctx) => !pendingOf(ctx)).map((ctx) => ctx.run.recordId);
    const records = await readRecords(scope, ctxs[0]!.def, [...new Set(fresh)]);
    const one = async (ctx: StepContext): Promise<StepOutcome | Error> => {
      try {
        const pending = pendingOf(ctx);
        let body = pending?.body;
        if (body === undefined) {
          const record = records.get(ctx.run.recordId);
          if (!record) return notFound(ctx.def.labelSingular, ctx.run.recordId);
          body = bodyOf(ctx, step, record);
        }
        return await attempt(ctx, step, body, (pending?.attempt ?? 0) + 1);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
    };
    const outcomes: (StepOutcome | Error)[] = new Array(ctxs.length);
    let next = 0;
    await Promise.all(
      Array.from(
        { length: Math.min(inFlight(ctxs[0]!.services.config, ctxs.length), ctxs.length) },
        async () => {
          while (next < ctxs.length) {
            const i = next++;
            try {
              outcomes[i] = await one(ctxs[i]!);
            } catch (error) {
              next = ctxs.length; // the batch fails: no more POSTs from it
              throw error;
            }
          }
        },
      ),
    );
    return outcomes;
  },
});
