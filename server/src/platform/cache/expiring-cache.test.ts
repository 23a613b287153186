import { describe, expect, it } from 'vitest';
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
    const cache = new ExpiringCache<string>(50, 10);
    const g = gate<string>();
    const calls = Array.from({ length: 20 }, () => cache.get('k', g.load));
    expect(g.starts()).toBe(1);
    g.waiting[0]!.resolve('v1');
    expect(await Promise.all(calls)).toEqual(Array(20).fill('v1'));
    expect(cache.peek('k')).toBe('v1');
    await new Promise((r) => setTimeout(r, 60));
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
