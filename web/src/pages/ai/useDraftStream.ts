import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../api/client';
import { type DraftDone, type DraftRequest, streamDraft } from './draftStream';

/** Why a draft stopped early, for an alert under it; the text written so far stays. */
export type DraftProblem = { title: string; message: string };

const problemOf = (err: unknown): DraftProblem => ({
  title:
    err instanceof ApiError && err.code === 'ai_budget_exhausted'
      ? 'The AI budget ran out'
      : 'The draft stopped',
  message: err instanceof Error ? err.message : String(err),
});

/**
 * One streamed draft at a time (`POST /api/v1/ai/draft/stream`), shared by the inbox's reply and a
 * record page's e-mail: `onText` gets the whole text so far after each piece (and the final text).
 * `start` resolves with the end, or null when the draft failed or was stopped (`error` / `stopped`
 * say which). `stop`, a new `start` or unmounting closes the connection, which stops the provider.
 */
export function useDraftStream(onText: (text: string) => void) {
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<DraftProblem | null>(null);
  const [done, setDone] = useState<DraftDone | null>(null);
  const [stopped, setStopped] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const latestOnText = useRef(onText);
  latestOnText.current = onText;
  useEffect(() => () => abort.current?.abort(), []);

  const stop = useCallback(() => {
    if (!abort.current) return;
    abort.current.abort();
    abort.current = null;
    setRunning(false);
    setStopped(true);
  }, []);

  const start = useCallback(async (body: DraftRequest): Promise<DraftDone | null> => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setError(null);
    setDone(null);
    setStopped(false);
    try {
      const end = await streamDraft(body, (text) => latestOnText.current(text), controller.signal);
      latestOnText.current(end.text);
      setDone(end);
      return end;
    } catch (err) {
      if (!controller.signal.aborted) setError(problemOf(err));
      return null;
    } finally {
      if (abort.current === controller) {
        abort.current = null;
        setRunning(false);
      }
    }
  }, []);

  return { running, error, done, stopped, start, stop };
}
