import { expect } from 'vitest';

type Answer = { status: number; headers: Record<string, unknown>; body?: unknown; text?: string };

/** The answer's body, or its text when it is not JSON, for an assertion's message. */
const shown = (res: Answer) => res.text ?? JSON.stringify(res.body);

/**
 * Asserts a successful answer's status (with the body in the message when it is not) and
 * returns its body, typed: `const deal = expectStatus<Deal>(await client.post(...), 201)`.
 */
export function expectStatus<T = any>(res: Answer, status: number, label = ''): T {
  expect(res.status, `${label} ${shown(res)}`.trim()).toBe(status);
  return res.body as T;
}

/** What a problem must carry besides its status: its `code`, the offending field's `path`. */
export type ExpectedProblem = { code?: string; path?: string; label?: string };

/**
 * Asserts an error answer as every layer of the API must give it: `status`, problem+json with the
 * same status in its body and a string `code` (the given one when `code` is set) and, with
 * `path`, the offending field's path as the problem names it. Returns the body.
 */
export function expectProblem(res: Answer, status: number, expected: string | ExpectedProblem = {}) {
  const { code, path, label = '' } = typeof expected === 'string' ? { code: expected } : expected;
  expect(res.status, `${label} ${shown(res)}`.trim()).toBe(status);
  expect(String(res.headers['content-type']), label).toMatch(/^application\/problem\+json/);
  const body = res.body as { status?: number; code?: unknown; path?: string };
  expect(body?.code, label).toBeTypeOf('string');
  expect(body.status, label).toBe(status);
  if (code !== undefined) expect(body.code, label).toBe(code);
  if (path !== undefined) expect(body.path, label).toBe(path);
  return body;
}
