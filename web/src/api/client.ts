import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];
export type Me = Schemas['Me'];
export type Field = Schemas['Field'];
export type ObjectDescription = Schemas['ObjectDescription'];
export type Contact = Schemas['Contact'];
export type Company = Schemas['Company'];
export type Opportunity = Schemas['Opportunity'];
export type Task = Schemas['Task'];
export type Note = Schemas['Note'];
export type Pipeline = Schemas['Pipeline'];
export type Stage = Schemas['Stage'];
export type FilterNode = Schemas['FilterNode'];
export type SavedView = Schemas['SavedView'];
export type TimelineEntry = Schemas['TimelineEntry'];
export type BoardColumn = Schemas['BoardColumn'];
export type BoardCard = Schemas['BoardCard'];
export type Member = Schemas['Member'];
export type BulkAction = Schemas['BulkActionInput'];

/** An API error: the server's problem+json (code, title, detail, the offending field's path). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> & { message?: string },
  ) {
    super(problem.detail ?? problem.title ?? problem.message ?? `Request failed (${status})`);
  }
  get code(): string | undefined {
    return this.problem.code;
  }
  /** The message for one field (`body.email` or `email`), when the server named it. */
  fieldError(field: string): string | undefined {
    const hit = this.problem.errors?.find((e) => e.path === field || e.path === `body.${field}`);
    if (hit) return hit.message;
    if (this.problem.path === field || this.problem.path === `body.${field}`) return this.message;
    return undefined;
  }
}

/** Called when the session is gone (401): the app sends the user to sign in, then back. */
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(handler: () => void) {
  onUnauthenticated = handler;
}

/**
 * What the organization's last refused request said about its standing (issue 30): suspended by
 * the operator of the install, or a plan limit reached. The shell shows it as a banner.
 */
export type OrgNotice = { code: 'organization_suspended' | 'plan_limit_reached'; message: string } | null;
let orgNotice: OrgNotice = null;
const orgNoticeListeners = new Set<() => void>();
export const orgNoticeStore = {
  get: (): OrgNotice => orgNotice,
  set(next: OrgNotice) {
    orgNotice = next;
    for (const listener of orgNoticeListeners) listener();
  },
  subscribe(listener: () => void) {
    orgNoticeListeners.add(listener);
    return () => orgNoticeListeners.delete(listener);
  },
};

const sessionMiddleware: Middleware = {
  async onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/v1/me')) {
      onUnauthenticated();
    }
    if (response.status === 403 || response.status === 429) {
      const problem = (await response
        .clone()
        .json()
        .catch(() => null)) as Partial<Problem> | null;
      if (problem?.code === 'organization_suspended' || problem?.code === 'plan_limit_reached')
        orgNoticeStore.set({ code: problem.code, message: problem.detail ?? '' });
    }
    return response;
  },
};

/**
 * The typed API client: paths, parameters and bodies come from the server's OpenAPI document
 * (`src/api/schema.d.ts`, generated). Same origin, so the session cookie travels by itself;
 * the browser adds the Origin header the server checks on mutations.
 */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(sessionMiddleware);

/** Unwraps an openapi-fetch result: the data, or an ApiError carrying the problem. */
export async function call<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await promise;
  if (!response.ok) throw new ApiError(response.status, (error ?? {}) as Problem);
  return data as T;
}

/** A plain JSON request for the few endpoints outside the OpenAPI document (better-auth's). */
export async function authRequest<T = unknown>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, json ?? {});
  return json as T;
}

/** Formats an amount in its currency (or none) for cards and totals. */
export function money(amount: number | null | undefined, currency?: string | null): string {
  if (amount == null) return '—';
  try {
    return new Intl.NumberFormat(undefined, {
      style: currency ? 'currency' : 'decimal',
      currency: currency ?? undefined,
      maximumFractionDigits: 0,
    }).format(amount);
  } catch {
    return `${amount} ${currency ?? ''}`.trim();
  }
}
