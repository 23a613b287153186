import http from 'node:http';
import https from 'node:https';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AppError } from '../../platform/errors/app-error.js';
import {
  checkTargetUrl,
  guardedLookup,
  OutboundError,
  type OutboundPolicy,
} from '../../platform/net/outbound-http.js';
import { type ChatRequest, type ProviderConfig, requestBodyOf } from './ai-provider.js';

/**
 * A provider's answer read as it streams (server-sent events), so each piece of text reaches the
 * member as the model writes it and the call can be cut at any point: the member closed the
 * draft, or the organization's budget ran out. Cutting destroys the upstream request, so the
 * provider stops generating (and billing) too.
 *
 * Wire formats, as documented by the providers:
 * - OpenAI chat completions with `stream: true`: `data: {chat.completion.chunk}` lines with
 *   `choices[0].delta.content`, `finish_reason` on the last choice chunk, a final chunk with
 *   `usage` (`stream_options.include_usage`), then `data: [DONE]`.
 * - Anthropic Messages with `stream: true`: named events `message_start` (`message.usage.input_tokens`),
 *   `content_block_delta` (`delta.type: text_delta`, `delta.text`), `message_delta` (`delta.stop_reason`,
 *   `usage.output_tokens`, cumulative), `message_stop`; `ping`s; an `error` event mid-stream.
 *
 * Token counts: the provider's when it sent them; until then (and when the stream is cut before
 * the usage arrives) an estimate of one token per 4 characters, at least one per piece (`estimated`).
 */
export type StreamStop = 'end' | 'limit' | 'cancelled' | 'budget';

export type StreamResult = {
  text: string;
  tokensIn: number;
  tokensOut: number;
  /** Whether the counts are (partly) this side's estimate rather than the provider's usage. */
  estimated: boolean;
  stop: StreamStop;
};

export type StreamHooks = {
  /** Each piece of text, in order. */
  onText: (delta: string) => void;
  /** Asked after each piece: true cuts the stream here (`stop: 'budget'`). */
  overBudget?: (tokensIn: number, tokensOut: number) => boolean;
  /** Aborting it cuts the stream (`stop: 'cancelled'`). */
  signal?: AbortSignal;
};

const providerError = (code: string, message: string, retryAfterS?: number) =>
  new AppError(424, code, message, retryAfterS === undefined ? {} : { retryAfterS });

/** What a stream that failed mid-answer had streamed and used, by its error. */
const partials = new WeakMap<object, Omit<StreamResult, 'stop'>>();

/**
 * The text and tokens of a stream up to its failure mid-answer (the provider's answer began, then
 * broke, went silent or turned malformed): those tokens were used and are counted like any others.
 * @returns undefined for an error before the answer began (nothing used) or not a stream's
 */
export const partialOf = (error: unknown): Omit<StreamResult, 'stop'> | undefined =>
  typeof error === 'object' && error !== null ? partials.get(error) : undefined;

/** One token per 4 characters, at least one: the usual rule of thumb for English text. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads one streamed call's events into text and usage; both formats. */
class StreamReader {
  text = '';
  tokensIn: number | undefined;
  tokensOut: number | undefined;
  estimatedOut = 0;
  finished = false;
  atLimit = false;

  constructor(
    private readonly anthropic: boolean,
    private readonly onText: (delta: string) => void,
  ) {}

  private add(delta: string) {
    if (!delta) return;
    this.text += delta;
    this.estimatedOut += estimateTokens(delta);
    this.onText(delta);
  }

  /** @throws AppError 424 `ai_provider_error` for an error event; SyntaxError for bad JSON */
  event(e: EventSourceMessage): void {
    if (this.anthropic) {
      this.anthropicEvent(e);
      return;
    }
    const data = e.data.trim();
    if (data === '[DONE]') {
      this.finished = true;
      return;
    }
    const chunk = JSON.parse(data) as {
      choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
      error?: unknown;
    };
    if (chunk.error)
      throw providerError('ai_provider_error', 'The AI provider stopped with an error mid-answer');
    const choice = chunk.choices?.[0];
    if (typeof choice?.delta?.content === 'string') this.add(choice.delta.content);
    if (choice?.finish_reason === 'length') this.atLimit = true;
    if (chunk.usage) {
      this.tokensIn = num(chunk.usage.prompt_tokens) ?? this.tokensIn;
      this.tokensOut = num(chunk.usage.completion_tokens) ?? this.tokensOut;
    }
  }

  private anthropicEvent(e: EventSourceMessage): void {
    const type = e.event ?? 'message';
    if (type === 'ping') return;
    const body = JSON.parse(e.data) as {
      message?: { usage?: { input_tokens?: number; output_tokens?: number } };
      delta?: { type?: string; text?: string; stop_reason?: string | null };
      usage?: { input_tokens?: number; output_tokens?: number };
    };
    if (type === 'error')
      throw providerError('ai_provider_error', 'The AI provider stopped with an error mid-answer');
    if (type === 'message_start') {
      this.tokensIn = num(body.message?.usage?.input_tokens) ?? this.tokensIn;
    } else if (type === 'content_block_delta') {
      if (body.delta?.type === 'text_delta' && typeof body.delta.text === 'string') this.add(body.delta.text);
    } else if (type === 'message_delta') {
      if (body.delta?.stop_reason === 'max_tokens') this.atLimit = true;
      this.tokensOut = num(body.usage?.output_tokens) ?? this.tokensOut;
      this.tokensIn = num(body.usage?.input_tokens) ?? this.tokensIn;
    } else if (type === 'message_stop') {
      this.finished = true;
    }
  }

  /** The output tokens so far: the provider's count once given, the estimate until then. */
  get outSoFar(): number {
    return Math.max(this.tokensOut ?? 0, this.estimatedOut);
  }
}

/**
 * Streams one call. Failures before the first byte of the answer reject like `callProvider`
 * (424 `ai_provider_*`); a failure mid-stream rejects the same way, with what arrived and the
 * tokens used up to it kept for the caller to count (`partialOf(error)`). A cut (cancelled,
 * budget) resolves with what arrived.
 * @throws AppError 424 `ai_provider_timeout` (no byte for `timeoutMs`), `ai_provider_unreachable`,
 *   `ai_provider_rejected_key`, `ai_provider_rate_limited`, `ai_provider_error`, `ai_provider_malformed`
 */
export function streamProvider(
  config: ProviderConfig,
  req: ChatRequest,
  policy: OutboundPolicy,
  hooks: StreamHooks,
): Promise<StreamResult> {
  const anthropic = config.provider === 'anthropic';
  const base = config.baseUrl.replace(/\/+$/, '');
  const target = `${base}${anthropic ? '/v1/messages' : '/chat/completions'}`;
  const body = JSON.stringify({ ...requestBodyOf(config, req), stream: true });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'user-agent': 'Cairn-AI/1',
    'content-length': String(Buffer.byteLength(body)),
    ...(anthropic
      ? { 'x-api-key': config.apiKey, 'anthropic-version': '2023-06-01' }
      : config.apiKey
        ? { authorization: `Bearer ${config.apiKey}` }
        : {}),
  };
  const estimatedIn = estimateTokens(req.system) + estimateTokens(req.user);
  const reader = new StreamReader(anthropic, hooks.onText);

  return new Promise<StreamResult>((resolve, reject) => {
    let url: URL;
    try {
      url = checkTargetUrl(target, policy);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return reject(
        providerError('ai_provider_unreachable', `The AI provider could not be reached: ${message}`),
      );
    }
    let settled = false;
    // Whether the provider began its answer (a 2xx event stream): a failure after it used tokens.
    let answering = false;
    const counts = (stop: StreamStop | 'failed') => ({
      text: reader.text,
      tokensIn: reader.tokensIn ?? estimatedIn,
      tokensOut: stop === 'end' || stop === 'limit' ? (reader.tokensOut ?? reader.outSoFar) : reader.outSoFar,
      estimated:
        reader.tokensIn === undefined ||
        reader.tokensOut === undefined ||
        stop === 'budget' ||
        stop === 'failed',
    });
    const result = (stop: StreamStop): StreamResult => ({ ...counts(stop), stop });
    const finish = (outcome: StreamResult | AppError) => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof AppError) {
        if (answering) partials.set(outcome, counts('failed'));
        reject(outcome);
      } else resolve(outcome);
      // Whatever ended it, the upstream connection goes: a cut stops the provider generating.
      outbound.destroy();
    };
    const onAbort = () => finish(result('cancelled'));
    const outbound = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers, lookup: guardedLookup(policy), agent: false, timeout: config.timeoutMs },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          if (status === 401 || status === 403)
            return finish(
              providerError(
                'ai_provider_rejected_key',
                'The AI provider refused the key: check it in the AI settings',
              ),
            );
          if (status === 429) {
            const retry = Number(res.headers['retry-after']);
            return finish(
              providerError(
                'ai_provider_rate_limited',
                'The AI provider is rate limiting this organization; try again shortly',
                Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : 30,
              ),
            );
          }
          return finish(providerError('ai_provider_error', `The AI provider answered ${status}`));
        }
        if (!String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
          res.resume();
          return finish(
            providerError(
              'ai_provider_malformed',
              'The AI provider did not stream its answer as server-sent events',
            ),
          );
        }
        answering = true;
        const parser = createParser({
          onEvent: (e) => {
            if (settled) return;
            try {
              reader.event(e);
            } catch (error) {
              return finish(
                error instanceof AppError
                  ? error
                  : providerError(
                      'ai_provider_malformed',
                      'The AI provider answered something that is not its format',
                    ),
              );
            }
            if (!reader.finished && hooks.overBudget?.(reader.tokensIn ?? estimatedIn, reader.outSoFar))
              finish(result('budget'));
          },
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!settled) parser.feed(chunk);
        });
        res.on('end', () => {
          if (!reader.finished)
            return finish(
              providerError('ai_provider_malformed', 'The AI provider’s answer ended before it was complete'),
            );
          finish(result(reader.atLimit ? 'limit' : 'end'));
        });
        res.on('error', () =>
          finish(providerError('ai_provider_error', 'The connection to the AI provider broke mid-answer')),
        );
      },
    );
    // `timeout` is the socket's idle time: a provider that goes silent for that long is given up on.
    outbound.on('timeout', () =>
      finish(providerError('ai_provider_timeout', `The AI provider sent nothing for ${config.timeoutMs} ms`)),
    );
    outbound.on('error', (error) => {
      if (settled) return;
      finish(
        providerError(
          'ai_provider_unreachable',
          `The AI provider could not be reached: ${error instanceof OutboundError ? error.message : error.message}`,
        ),
      );
    });
    if (hooks.signal?.aborted) return finish(result('cancelled'));
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    outbound.end(body);
  });
}
