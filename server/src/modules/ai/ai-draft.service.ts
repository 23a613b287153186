import { performance } from 'node:perf_hooks';
import { runOutsideDbBudget } from '../../db/budget.js';
import type { TenantContext } from '../../db/tenant.js';
import type { AuditSource } from '../../platform/audit/audit.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { getThread } from '../conversations/conversation.service.js';
import { getMessageTemplate, renderMessage } from '../message-templates/message-template.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import type { AiDraftStreamIn } from './ai.dto.js';
import {
  budgetLeft,
  type Gate,
  open,
  providerTimeoutMs,
  recordCall,
  recordContext,
  redact,
} from './ai.service.js';
import type { ProviderKind } from './ai-provider.js';
import { estimateTokens, partialOf, type StreamResult, streamProvider } from './ai-provider-stream.js';
import { DRAFT_MESSAGE_V1, DRAFT_REPLY_V1, type PromptTemplate } from './prompts/index.js';

/** Most tokens one streamed draft may use. */
const MAX_DRAFT_TOKENS = 1024;
/** How often a running stream re-reads the budgets (other calls that ended meanwhile count), ms. */
const BUDGET_RECHECK_MS = 1000;
/** Most characters of one message of the thread put in the prompt, and how many messages. */
const MESSAGE_CHARS = 1500;
const THREAD_MESSAGES = 10;

/** Where the streamed draft goes: each piece of text, then the end (or why it stopped). */
export type DraftSink = {
  delta: (text: string) => void;
  done: (final: { text: string; subject: string | null; model: string; stopped: 'end' | 'limit' }) => void;
  /** The stream stopped early with a problem the member must see (budget, provider); partial text stays. */
  failed: (problem: AppError) => void;
};

/**
 * Fills a template's `{{variables}}` in streamed text as each one completes, so the member sees the
 * contact's values while the draft writes itself; the model only ever saw the placeholders. A
 * name the template did not use is left as written (sending then names it: 422 `unknown_variable`).
 */
export class PlaceholderFiller {
  private held = '';
  constructor(private readonly values: Map<string, string>) {}

  /** `text` with every variable the template used filled. */
  fill(text: string) {
    return text.replace(
      /\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g,
      (raw, name: string) => this.values.get(name) ?? raw,
    );
  }

  /** The text that can be shown now; an unfinished `{{...` is held back (at most 80 characters). */
  push(delta: string): string {
    const text = this.held + delta;
    const open = text.lastIndexOf('{{');
    const unfinished = open >= 0 && text.indexOf('}}', open) < 0 && text.length - open <= 80;
    // A lone trailing `{` may be the start of `{{`.
    const cut = unfinished ? open : text.endsWith('{') ? text.length - 1 : text.length;
    this.held = text.slice(cut);
    return this.fill(text.slice(0, cut));
  }

  /** What is still held, filled. */
  flush(): string {
    const rest = this.fill(this.held);
    this.held = '';
    return rest;
  }
}

/** Most characters of a subject the model wrote, as `/ai/draft-email` allowed. */
const SUBJECT_CHARS = 300;
/** A first line longer than this without its end is not a subject line: it is shown as body. */
const SUBJECT_LINE_CHARS = 400;

/**
 * Takes the `Subject: ...` first line (DRAFT_MESSAGE_V1 asks for one) off a streamed draft: the first
 * line is held until it ends, then either becomes the subject (the blank lines after it dropped) or,
 * when it is not a subject line, is shown as body like the rest. So the body still streams as it is
 * written, and the subject arrives with the end.
 */
export class SubjectLine {
  private held = '';
  private state: 'first' | 'gap' | 'body' = 'first';
  /** The subject the model wrote, once its line ended; null when it wrote none. */
  subject: string | null = null;

  /** The body text that can be shown now. */
  push(delta: string): string {
    if (this.state === 'body') return delta;
    if (this.state === 'gap') return this.afterGap(delta);
    this.held += delta;
    const end = this.held.indexOf('\n');
    if (end < 0) return this.held.length > SUBJECT_LINE_CHARS ? this.release() : '';
    const line = this.held.slice(0, end);
    const rest = this.held.slice(end + 1);
    this.held = '';
    const subject = SubjectLine.parse(line);
    if (subject === undefined) {
      this.state = 'body';
      return `${line}\n${rest}`;
    }
    this.subject = subject;
    this.state = 'gap';
    return this.afterGap(rest);
  }

  /** What is still held (a first line that never ended), as body unless it is a subject line. */
  flush(): string {
    if (this.state !== 'first') return '';
    const subject = SubjectLine.parse(this.held);
    if (subject === undefined) return this.release();
    this.subject = subject;
    this.held = '';
    this.state = 'body';
    return '';
  }

  private release() {
    const text = this.held;
    this.held = '';
    this.state = 'body';
    return text;
  }

  /** Blank lines between the subject and the body are dropped. */
  private afterGap(text: string) {
    const body = text.replace(/^\s+/, '');
    if (body) this.state = 'body';
    return body;
  }

  /** The subject of a `Subject: ...` line (markdown emphasis tolerated), or undefined for another line. */
  private static parse(line: string): string | undefined {
    const m = /^\s*\**\s*subject\s*\**\s*:\s*\**(.*?)\**\s*$/i.exec(line);
    return m ? m[1]!.trim().slice(0, SUBJECT_CHARS) : undefined;
  }
}

type Prepared = {
  g: Gate;
  /** DRAFT_REPLY_V1, or DRAFT_MESSAGE_V1 when the model writes the subject too. */
  template: PromptTemplate;
  prompt: string;
  target: { type: string; id: string };
  filler: PlaceholderFiller;
  /** The template's subject, filled; null when it has none (or there is no template). */
  subject: string | null;
  /** Set when the model writes the subject: a message to a record whose template gives none. */
  subjectLine: SubjectLine | null;
};

const SEPARATOR = '\n\u241e\n';

/** The template's variables filled for the conversation's (or the contact's) contact, by name. */
async function templateValues(
  services: Services,
  ctx: TenantContext,
  variables: string[],
  subject: string | null,
  target: { conversation_id: string } | { contact_id: string } | Record<string, never>,
): Promise<{ values: Map<string, string>; subject: string | null }> {
  if (variables.length === 0 && subject === null) return { values: new Map(), subject: null };
  try {
    const rendered = await renderMessage(services, ctx, {
      text: variables.map((v) => `{{${v}}}`).join(SEPARATOR) || ' ',
      ...(subject !== null ? { subject } : {}),
      ...target,
    });
    const parts = rendered.text.split(SEPARATOR);
    return {
      values: new Map(variables.map((v, i) => [v, parts[i] ?? ''])),
      subject: rendered.subject,
    };
  } catch (error) {
    if (error instanceof AppError && error.status === 422)
      throw new AppError(422, error.code, `The template cannot be filled here: ${error.message}`, {
        path: 'body.template_id',
      });
    throw error;
  }
}

/**
 * Everything before the first token: the subject (a conversation or a record) must be reachable
 * (404 otherwise), the gate must let the call through (409 off, 429 rate or budget), the template
 * must be the organization's (422 `reference_not_found` at `body.template_id`) and fillable here.
 * A reply keeps its thread's subject; a message to a record takes its template's subject, or else the
 * model writes one (DRAFT_MESSAGE_V1), as `/ai/draft-email` did. The prompt carries what the member
 * may read only (field rights applied), redacted as configured.
 */
export async function prepareDraft(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: AiDraftStreamIn,
): Promise<Prepared> {
  const data: Record<string, unknown> = {};
  let target: { type: string; id: string };
  let renderTarget: { conversation_id: string } | { contact_id: string } | Record<string, never> = {};
  if (input.conversation_id) {
    const thread = await getThread(services, ctx, input.conversation_id);
    target = { type: 'conversation', id: thread.id };
    renderTarget = { conversation_id: thread.id };
    data.channel = thread.channel.kind;
    data.subject = thread.subject;
    data.messages = thread.messages.slice(-THREAD_MESSAGES).map((m) => ({
      direction: m.direction === 'in' ? 'from them' : 'from us',
      text: m.text.slice(0, MESSAGE_CHARS),
    }));
    if (thread.contact) {
      try {
        const rc = await recordContext(services, ctx, 'contact', thread.contact.id, false);
        data.contact = JSON.parse(rc.data).record;
      } catch (error) {
        // A contact beyond the member's reach is left out of the prompt, not an error.
        if (!(error instanceof AppError && (error.status === 404 || error.status === 403))) throw error;
      }
    }
  } else {
    const rc = await recordContext(services, ctx, input.object!, input.id!, false);
    target = { type: rc.def.key, id: input.id! };
    if (rc.def.key === 'contact') renderTarget = { contact_id: input.id! };
    data.record = JSON.parse(rc.data);
  }
  let template: Awaited<ReturnType<typeof getMessageTemplate>> | undefined;
  if (input.template_id) {
    try {
      template = await getMessageTemplate(services, ctx, input.template_id);
    } catch (error) {
      if (error instanceof AppError && error.status === 404)
        throw new AppError(422, 'reference_not_found', 'No message template with this id', {
          path: 'body.template_id',
        });
      throw error;
    }
    data.template = template.body;
  }
  const writesSubject = !input.conversation_id && !template?.subject;
  const prompting = writesSubject ? DRAFT_MESSAGE_V1 : DRAFT_REPLY_V1;
  // The references are checked first (another organization's template is a 422 whether or not the
  // assistant is set up); then the assistant's gate (configured, enabled, within budget).
  const g = await open(services, ctx, source, { feature: 'draft_email', template: prompting, target });
  const { values, subject } = await templateValues(
    services,
    ctx,
    template?.variables ?? [],
    template?.subject ?? null,
    renderTarget,
  );
  const instructions =
    input.instructions?.trim() ||
    (template
      ? `Adapt the template to this ${input.conversation_id ? 'conversation' : 'record'}.`
      : input.conversation_id
        ? 'A helpful reply.'
        : 'A friendly follow-up.');
  const prompt = redact(
    `Instructions from the member: ${instructions}\n<data>\n${JSON.stringify(data, null, 1).slice(0, 24_000)}\n</data>`,
    { emails: g.row.redactEmails, phones: g.row.redactPhones },
  );
  // The prompt alone must fit in what is left of the budget.
  if (estimateTokens(prompting.system) + estimateTokens(prompt) >= g.remaining)
    throw new AppError(
      429,
      'ai_budget_exhausted',
      'Too little is left of the AI token budget this month for this draft; an admin can raise it',
    );
  return {
    g,
    template: prompting,
    prompt,
    target,
    filler: new PlaceholderFiller(values),
    subject,
    subjectLine: writesSubject ? new SubjectLine() : null,
  };
}

/**
 * Streams the draft into `sink`, cutting the provider's stream when `signal` aborts (the member
 * closed it) or the budget runs out mid-answer (re-read every second, so other calls that ended
 * meanwhile count). Every outcome is counted and audited, with the tokens used up to the cut.
 * Rejects only when nothing was streamed yet (the caller answers a problem then).
 */
export async function streamDraft(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  p: Prepared,
  sink: DraftSink,
  signal: AbortSignal,
): Promise<void> {
  const { g } = p;
  let left = g.remaining;
  let rechecking = false;
  const recheck = setInterval(() => {
    if (rechecking) return;
    rechecking = true;
    budgetLeft(services, ctx, g.row, g.userId)
      .then((n) => {
        left = Math.min(left, n);
      })
      .catch(() => {
        left = 0;
      })
      .finally(() => {
        rechecking = false;
      });
  }, BUDGET_RECHECK_MS);
  const started = performance.now();
  const systemIn = estimateTokens(p.template.system) + estimateTokens(p.prompt);
  let result: StreamResult | undefined;
  let used: Omit<StreamResult, 'stop'> | undefined;
  let outcome = 'ok';
  let streamed = '';
  const show = (body: string) => {
    const shown = body ? p.filler.push(body) : '';
    if (shown) {
      streamed += shown;
      sink.delta(shown);
    }
  };
  try {
    result = await streamProvider(
      {
        provider: g.row.provider as ProviderKind,
        baseUrl: g.row.baseUrl,
        model: g.row.model,
        apiKey: g.apiKey,
        timeoutMs: providerTimeoutMs(),
      },
      {
        system: p.template.system,
        user: p.prompt,
        maxTokens: Math.max(1, Math.min(MAX_DRAFT_TOKENS, g.remaining - systemIn)),
      },
      outboundPolicyOf(services),
      {
        onText: (delta) => show(p.subjectLine ? p.subjectLine.push(delta) : delta),
        overBudget: (tokensIn, tokensOut) => tokensIn + tokensOut >= left,
        signal,
      },
    );
    if (p.subjectLine) show(p.subjectLine.flush());
    const rest = p.filler.flush();
    if (rest) {
      streamed += rest;
      sink.delta(rest);
    }
    if (result.stop === 'cancelled') outcome = 'cancelled';
    else if (result.stop === 'budget') {
      outcome = 'ai_budget_exhausted';
      sink.failed(
        new AppError(
          429,
          'ai_budget_exhausted',
          'The AI token budget ran out while the assistant was writing, so it was stopped here: edit what it wrote, or ask an admin to raise the budget',
        ),
      );
    } else {
      const written = p.subjectLine?.subject;
      const subject = written != null ? p.filler.fill(written) : p.subject;
      sink.done({ text: streamed, subject, model: g.row.model, stopped: result.stop });
    }
  } catch (error) {
    outcome = error instanceof AppError ? error.code : 'ai_provider_error';
    // Broken off mid-answer: the tokens up to the break were used, and are counted.
    used = partialOf(error);
    throw error;
  } finally {
    clearInterval(recheck);
    const counted = result ?? used;
    // Outside the request's budget: when the member closed the draft, the request's client is gone
    // and its statements are refused (57014 client_gone), but the call must still be counted and
    // audited.
    await runOutsideDbBudget(() =>
      recordCall(services, ctx, source, g, {
        feature: 'draft_email',
        template: p.template,
        target: p.target,
        prompt: p.prompt,
        answer: counted?.text ?? null,
        tokensIn: counted?.tokensIn ?? 0,
        tokensOut: counted?.tokensOut ?? 0,
        latencyMs: Math.round(performance.now() - started),
        outcome,
        ...(counted?.estimated ? { estimated: true } : {}),
      }),
    );
  }
}
