import { ApiError, type Problem } from '../../api/client';

/** What a streamed draft asks for (`POST /api/v1/ai/draft/stream`). */
export type DraftRequest = {
  conversation_id?: string;
  object?: string;
  id?: string;
  template_id?: string;
  instructions?: string;
};

export type DraftDone = { text: string; subject: string | null; model: string; stopped: 'end' | 'limit' };

/**
 * Reads a streamed draft (server-sent events over a POST, so `fetch` rather than EventSource):
 * `onText` gets the whole text so far after each piece. Resolves with the end, or rejects with an
 * ApiError: the problem answered before the first piece, or the `error` event that stopped it
 * (the text so far stays with the caller). Aborting `signal` closes the connection, which stops
 * the provider on the server.
 */
export async function streamDraft(
  body: DraftRequest,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<DraftDone> {
  const res = await fetch('/api/v1/ai/draft/stream', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    signal,
  });
  if (!res.ok || !res.body) {
    const problem = (await res.json().catch(() => ({}))) as Partial<Problem>;
    throw new ApiError(res.status, problem);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || data === undefined) continue;
      const parsed = JSON.parse(data);
      if (event === 'delta') {
        text += parsed.text as string;
        onText(text);
      } else if (event === 'done') return parsed as DraftDone;
      else if (event === 'error') throw new ApiError(parsed.status ?? 424, parsed);
    }
  }
  throw new ApiError(424, { detail: 'The draft stopped before it was finished; try again' });
}
