import { AppError } from '../../platform/errors/app-error.js';
import {
  OutboundError,
  type OutboundPolicy,
  type OutboundResponse,
  sendOutbound,
} from '../../platform/net/outbound-http.js';

/**
 * The two wire formats the assistant speaks (issue 32): OpenAI's chat completions (which Ollama,
 * vLLM, LiteLLM and most gateways also speak) and Anthropic's Messages API. Calls go through the
 * SSRF guard (`platform/net`): a base URL on a private address needs the operator's allow-list
 * (`OUTBOUND_ALLOWED_HOSTS`). Every failure of the provider becomes a 424 problem with an
 * `ai_provider_*` code: never a 5xx of ours.
 */
export type ProviderKind = 'openai' | 'anthropic';

export type ProviderConfig = {
  provider: ProviderKind;
  baseUrl: string;
  model: string;
  apiKey: string;
  timeoutMs: number;
};

/** A tool the model may call: its name, what it is for, its arguments' JSON schema. */
export type ToolSpec = { name: string; description: string; parameters: Record<string, unknown> };

export type ChatRequest = {
  system: string;
  user: string;
  maxTokens: number;
  /** When given, the model is asked to answer by calling this tool. */
  tool?: ToolSpec;
};

export type ChatAnswer = {
  text: string;
  /** The arguments of the tool call, parsed, when the model called the tool. */
  toolArguments?: unknown;
  tokensIn: number;
  tokensOut: number;
  /** The model stopped because it reached `maxTokens` (`finish_reason: length`, `stop_reason: max_tokens`). */
  atLimit?: boolean;
};

const providerError = (code: string, message: string, retryAfterS?: number) =>
  new AppError(424, code, message, retryAfterS === undefined ? {} : { retryAfterS });

const joinUrl = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;

/** Builds the exact request body of one call (exported for tests). */
export function requestBodyOf(config: ProviderConfig, req: ChatRequest): Record<string, unknown> {
  if (config.provider === 'anthropic') {
    return {
      model: config.model,
      max_tokens: req.maxTokens,
      system: req.system,
      messages: [{ role: 'user', content: req.user }],
      ...(req.tool
        ? {
            tools: [
              { name: req.tool.name, description: req.tool.description, input_schema: req.tool.parameters },
            ],
            tool_choice: { type: 'tool', name: req.tool.name },
          }
        : {}),
    };
  }
  return {
    model: config.model,
    max_tokens: req.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: 'system', content: req.system },
      { role: 'user', content: req.user },
    ],
    ...(req.tool
      ? {
          tools: [{ type: 'function', function: req.tool }],
          tool_choice: { type: 'function', function: { name: req.tool.name } },
        }
      : {}),
  };
}

/**
 * One call to the provider; the answer's text, tool arguments and token counts.
 * @throws AppError 424 `ai_provider_timeout`, `ai_provider_unreachable`, `ai_provider_rejected_key`,
 *   `ai_provider_rate_limited` (with Retry-After), `ai_provider_error`, `ai_provider_malformed`
 */
export async function callProvider(
  config: ProviderConfig,
  req: ChatRequest,
  policy: OutboundPolicy,
): Promise<ChatAnswer> {
  const anthropic = config.provider === 'anthropic';
  const url = joinUrl(config.baseUrl, anthropic ? '/v1/messages' : '/chat/completions');
  const headers: Record<string, string> = anthropic
    ? { 'content-type': 'application/json', 'x-api-key': config.apiKey, 'anthropic-version': '2023-06-01' }
    : {
        'content-type': 'application/json',
        accept: 'text/event-stream, application/json',
        ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
      };
  let res: OutboundResponse;
  try {
    res = await sendOutbound(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'user-agent': 'Cairn-AI/1' },
        body: JSON.stringify(requestBodyOf(config, req)),
        timeoutMs: config.timeoutMs,
        maxBodyBytes: 2_000_000,
      },
      policy,
    );
  } catch (error) {
    if (error instanceof OutboundError) {
      if (error.code === 'timeout')
        throw providerError(
          'ai_provider_timeout',
          `The AI provider did not answer within ${config.timeoutMs} ms`,
        );
      throw providerError(
        'ai_provider_unreachable',
        `The AI provider could not be reached: ${error.message}`,
      );
    }
    throw error;
  }
  if (res.status === 401 || res.status === 403)
    throw providerError(
      'ai_provider_rejected_key',
      'The AI provider refused the key: check it in the AI settings',
    );
  if (res.status === 429) {
    const retry = Number(res.headers['retry-after']);
    throw providerError(
      'ai_provider_rate_limited',
      'The AI provider is rate limiting this organization; try again shortly',
      Number.isFinite(retry) && retry > 0 ? Math.ceil(retry) : 30,
    );
  }
  if (res.status < 200 || res.status >= 300)
    throw providerError('ai_provider_error', `The AI provider answered ${res.status}`);
  const contentType = String(res.headers['content-type'] ?? '');
  try {
    if (anthropic) return anthropicAnswer(JSON.parse(res.body));
    if (contentType.includes('text/event-stream')) return openAiStreamAnswer(res.body);
    return openAiAnswer(JSON.parse(res.body));
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw providerError('ai_provider_malformed', 'The AI provider answered something that is not its format');
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function parseArguments(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw providerError(
      'ai_provider_malformed',
      'The AI provider answered a tool call whose arguments are not JSON',
    );
  }
}

type OpenAiMessage = {
  content?: string | null;
  tool_calls?: { function?: { name?: string; arguments?: string } }[];
};

function openAiAnswer(body: {
  choices?: { message?: OpenAiMessage; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}): ChatAnswer {
  const message = body.choices?.[0]?.message;
  if (!message) throw new Error('no choice');
  const call = message.tool_calls?.[0]?.function;
  return {
    text: typeof message.content === 'string' ? message.content : '',
    ...(call ? { toolArguments: parseArguments(call.arguments ?? '') } : {}),
    tokensIn: num(body.usage?.prompt_tokens),
    tokensOut: num(body.usage?.completion_tokens),
    ...(body.choices?.[0]?.finish_reason === 'length' ? { atLimit: true } : {}),
  };
}

/** A streamed chat completion (server-sent events): deltas of content and tool arguments, usage last. */
function openAiStreamAnswer(raw: string): ChatAnswer {
  let text = '';
  let args = '';
  let called = false;
  let tokensIn = 0;
  let tokensOut = 0;
  let done = false;
  let atLimit = false;
  for (const line of raw.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') {
      done = true;
      break;
    }
    const chunk = JSON.parse(data) as {
      choices?: {
        delta?: { content?: string | null; tool_calls?: { function?: { arguments?: string } }[] };
        finish_reason?: string | null;
      }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
      error?: { message?: string };
    };
    if (chunk.error)
      throw providerError('ai_provider_error', 'The AI provider stopped with an error mid-answer');
    if (chunk.choices?.[0]?.finish_reason === 'length') atLimit = true;
    const delta = chunk.choices?.[0]?.delta;
    if (typeof delta?.content === 'string') text += delta.content;
    for (const call of delta?.tool_calls ?? []) {
      called = true;
      args += call.function?.arguments ?? '';
    }
    if (chunk.usage) {
      tokensIn = num(chunk.usage.prompt_tokens);
      tokensOut = num(chunk.usage.completion_tokens);
    }
  }
  if (!done)
    throw providerError('ai_provider_malformed', 'The AI provider’s answer ended before it was complete');
  // An answer cut at the token limit may end inside a tool call's arguments: they are not parsed.
  if (atLimit) return { text, tokensIn, tokensOut, atLimit };
  return { text, ...(called ? { toolArguments: parseArguments(args) } : {}), tokensIn, tokensOut };
}

function anthropicAnswer(body: {
  type?: string;
  stop_reason?: string | null;
  content?: { type?: string; text?: string; input?: unknown }[];
  usage?: { input_tokens?: number; output_tokens?: number };
}): ChatAnswer {
  if (body.type !== 'message' || !Array.isArray(body.content)) throw new Error('not a message');
  const tool = body.content.find((c) => c.type === 'tool_use');
  return {
    text: body.content
      .filter((c) => c.type === 'text')
      .map((c) => c.text ?? '')
      .join(''),
    ...(tool ? { toolArguments: tool.input } : {}),
    tokensIn: num(body.usage?.input_tokens),
    tokensOut: num(body.usage?.output_tokens),
    ...(body.stop_reason === 'max_tokens' ? { atLimit: true } : {}),
  };
}
