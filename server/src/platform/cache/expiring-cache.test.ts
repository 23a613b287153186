import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpiringCache } from './expiring-cache.js';

/** A load the test finishes when it chooses, counting how often it was started. */
function gate<V>() {
  let starts = 0;
  const waiting: { resolve: (v: V) => void; reject: (e: Error) => void }[] = [];
  const load = () => {
    starts++;
    return new Promise<V>((resolve, reject) => waiting.push({ resolve, reject }));
  };
  return { load, starts: () => starts, waiting };
}

describe('ExpiringCache', () => {
  it('shares one load among concurrent callers and keeps its value until it expires', async () => {
    // The clock is the test's: a busy machine's pauses never expire the entry early.
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const cache = new ExpiringCache<string>(50, 10);
    const g = gate<string>();
    const calls = Array.from({ length: 20 }, () => cache.get('k', g.load));
    expect(g.starts()).toBe(1);
    g.waiting[0]!.resolve('v1');
    expect(await Promise.all(calls)).toEqual(Array(20).fill('v1'));
    expect(cache.peek('k')).toBe('v1');
    vi.setSystemTime(60);
    expect(cache.peek('k')).toBeUndefined();
    const again = cache.get('k', g.load);
    expect(g.starts()).toBe(2);
    g.waiting[1]!.resolve('v2');
    expect(await again).toBe('v2');
  });

  it('lets a caller that joined a failed load run its own', async () => {
    const cache = new ExpiringCache<string>(1000, 10);
    const first = gate<string>();
    const a = cache.get('k', first.load);
    const b = cache.get('k', async () => 'own');
    first.waiting[0]!.reject(new Error('timeout of the first request'));
    await expect(a).rejects.toThrow('timeout');
    expect(await b).toBe('own');
    expect(cache.peek('k')).toBe('own');
  });

  it('keeps nothing from a load that was under way when the key was forgotten', async () => {
    const cache = new ExpiringCache<string>(1000, 10);
    const g = gate<string>();
    const stale = cache.get('k', g.load);
    cache.deleteWhere((key) => key === 'k');
    const fresh = cache.get('k', g.load);
    expect(g.starts()).toBe(2);
    g.waiting[0]!.resolve('before the change');
    g.waiting[1]!.resolve('after the change');
    expect(await stale).toBe('before the change');
    expect(await fresh).toBe('after the change');
    expect(cache.peek('k')).toBe('after the change');
  });

  it('stores no undefined and holds at most max entries', async () => {
    const cache = new ExpiringCache<number>(1000, 3);
    expect(await cache.get('none', async () => undefined)).toBeUndefined();
    expect(cache.peek('none')).toBeUndefined();
    for (let i = 0; i < 5; i++) await cache.get(`k${i}`, async () => i);
    expect([0, 1, 2, 3, 4].map((i) => cache.peek(`k${i}`))).toEqual([undefined, undefined, 2, 3, 4]);
  });
});

afterEach(() => vi.useRealTimers());

describe('ExpiringCache.peekRefreshing', () => {
  it('answers from the entry at once and renews it in the background past half its life, one load at a time', async () => {
    vi.useFakeTimers({ now: 0 });
    const cache = new ExpiringCache<string>(1_000, 10);
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(cache.peekRefreshing('k', load)).toBeUndefined(); // nothing yet: the caller loads
    expect(await cache.get('k', load)).toBe('v1');

    vi.setSystemTime(400);
    expect(cache.peekRefreshing('k', load)).toBe('v1');
    expect(loads).toBe(1); // young: no reload

    vi.setSystemTime(600);
    expect(cache.peekRefreshing('k', load)).toBe('v1'); // answered without waiting...
    expect(cache.peekRefreshing('k', load)).toBe('v1');
    expect(loads).toBe(2); // ...one reload started, not two
    await vi.waitFor(() => expect(cache.peek('k')).toBe('v2'));

    // Renewed at 600: still fresh at 1,500, when the first load would have expired.
    vi.setSystemTime(1_500);
    expect(cache.peekRefreshing('k', load)).toBe('v2');
  });

  it('a renewal that finds nothing (a revoked session) drops the entry', async () => {
    vi.useFakeTimers({ now: 0 });
    const cache = new ExpiringCache<string>(1_000, 10);
    await cache.get('k', async () => 'session');
    vi.setSystemTime(700);
    expect(cache.peekRefreshing('k', async () => undefined)).toBe('session');
    await vi.waitFor(() => expect(cache.peek('k')).toBeUndefined());
  });

  it('never answers from an entry older than its time to live', async () => {
    vi.useFakeTimers({ now: 0 });
    const cache = new ExpiringCache<string>(1_000, 10);
    await cache.get('k', async () => 'old');
    vi.setSystemTime(1_000);
    expect(cache.peekRefreshing('k', async () => 'new')).toBeUndefined();
  });

  it('a renewal that fails leaves the entry until it expires', async () => {
    vi.useFakeTimers({ now: 0 });
    const cache = new ExpiringCache<string>(1_000, 10);
    await cache.get('k', async () => 'kept');
    vi.setSystemTime(800);
    expect(cache.peekRefreshing('k', () => Promise.reject(new Error('pool timeout')))).toBe('kept');
    await Promise.resolve();
    expect(cache.peekRefreshing('k', async () => 'kept')).toBe('kept');
  });
});
