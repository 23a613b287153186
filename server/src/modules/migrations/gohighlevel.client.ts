import { OutboundError, type OutboundPolicy, outboundFetch } from '../../platform/net/outbound-http.js';

/** The API version header GoHighLevel's API v2 asks for on every request (its OpenAPI documents). */
export const GHL_VERSION = '2021-07-28';
export const GHL_DEFAULT_BASE_URL = 'https://services.leadconnectorhq.com';
/** GoHighLevel's burst limit: 100 requests per 10 s per location. */
export const GHL_BURST = { requests: 100, perMs: 10_000 };
/** GoHighLevel's daily limit: 200,000 requests per location. */
export const GHL_DAILY_LIMIT = 200_000;

export type GhlErrorCode = 'token_revoked' | 'quota_exhausted' | 'source_unreachable' | 'source_error';

/** Why a migration could not read from GoHighLevel. */
export class GhlError extends Error {
  constructor(
    readonly code: GhlErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GhlError';
  }
}

/**
 * A token bucket: `requests` tokens refilled evenly over `perMs`, so a migration never sends more
 * than GoHighLevel's burst limit in any window; `take` waits for a token.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }
  /** Milliseconds to wait before a token is free (0: take it now). */
  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) * this.capacity) / this.perMs);
    this.last = t;
  }
  async take(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const wait = Math.ceil(((1 - this.tokens) * this.perMs) / this.capacity);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Requests sent per location and UTC day, so the daily limit is kept across migrations of a process. */
const daily = new Map<string, { day: string; count: number }>();

export type GhlClientOptions = {
  baseUrl: string;
  token: string;
  locationId: string;
  policy: OutboundPolicy;
  /** Retries of one request answered 429 before giving up. Default 5. */
  maxRetries?: number;
  /** Longest wait honoured from a Retry-After, ms. Default 60,000. */
  maxRetryAfterMs?: number;
  bucket?: TokenBucket;
  dailyLimit?: number;
};

/** Counts of what the client did (for the report). */
export type GhlClientStats = { requests: number; retried_429: number };

/**
 * A GoHighLevel API v2 client: `Authorization: Bearer <token>` and `Version: 2021-07-28` on each
 * request, every request through the outbound guard (no private addresses unless allow-listed),
 * at most 100 requests per 10 s (a token bucket) and 200,000 a day per location, a 429 retried
 * after its Retry-After (or an exponential backoff). @throws GhlError `token_revoked` on a 401,
 * `quota_exhausted` when the daily limit is reached
 */
export class GhlClient {
  readonly stats: GhlClientStats = { requests: 0, retried_429: 0 };
  private readonly fetch: typeof fetch;
  private readonly bucket: TokenBucket;
  constructor(private readonly options: GhlClientOptions) {
    this.fetch = outboundFetch(options.policy, { maxBodyBytes: 20 * 1024 * 1024, timeoutMs: 30_000 });
    this.bucket = options.bucket ?? new TokenBucket(GHL_BURST.requests, GHL_BURST.perMs);
  }

  private countDaily(): void {
    const day = new Date().toISOString().slice(0, 10);
    const key = `${this.options.baseUrl}|${this.options.locationId}`;
    const entry = daily.get(key);
    const current = entry && entry.day === day ? entry : { day, count: 0 };
    if (current.count >= (this.options.dailyLimit ?? GHL_DAILY_LIMIT))
      throw new GhlError(
        'quota_exhausted',
        `GoHighLevel's daily limit of ${this.options.dailyLimit ?? GHL_DAILY_LIMIT} requests is used up for this location: run the migration again tomorrow (what was read is matched, not doubled)`,
      );
    current.count += 1;
    daily.set(key, current);
  }

  /** GET (or POST with a JSON body) `path` with `query`; the parsed JSON answer. */
  async request<T>(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | number | undefined> = {},
    body?: unknown,
  ): Promise<T> {
    const url = new URL(
      path,
      this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
    );
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const maxRetries = this.options.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take();
      this.countDaily();
      this.stats.requests += 1;
      let res: Response;
      try {
        res = await this.fetch(url.toString(), {
          method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            version: GHL_VERSION,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        // The guard's refusals and the network's (DNS, TLS, a reset): the source is unreachable.
        const reason = error instanceof Error ? error.message : String(error);
        throw new GhlError(
          'source_unreachable',
          `GoHighLevel cannot be reached${error instanceof OutboundError ? '' : ' (network)'}: ${reason}`,
        );
      }
      if (res.status === 429 && attempt < maxRetries) {
        this.stats.retried_429 += 1;
        if (res.headers.get('x-ratelimit-daily-remaining') === '0')
          throw new GhlError(
            'quota_exhausted',
            "GoHighLevel's daily request limit is used up for this location",
            429,
          );
        const after = Number(res.headers.get('retry-after'));
        const wait = Number.isFinite(after) && after >= 0 ? after * 1000 : 2 ** attempt * 1000;
        await new Promise((r) => setTimeout(r, Math.min(wait, this.options.maxRetryAfterMs ?? 60_000)));
        continue;
      }
      const text = await res.text();
      if (res.status === 401 || res.status === 403)
        throw new GhlError(
          'token_revoked',
          `GoHighLevel refused the API token (${res.status}) on ${path}: it was revoked or lacks a scope; connect again with a valid token`,
          res.status,
        );
      if (res.status === 429)
        throw new GhlError('quota_exhausted', `GoHighLevel kept answering 429 on ${path}`, 429);
      if (res.status < 200 || res.status > 299)
        throw new GhlError('source_error', `GoHighLevel answered ${res.status} on ${path}`, res.status);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new GhlError('source_error', `GoHighLevel answered ${path} with something that is not JSON`);
      }
    }
  }
}
