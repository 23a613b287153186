import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { toE164 } from '../src/platform/registry/phone.js';

/** What libphonenumber-js alone answers (toE164 before its North American fast path). */
function slowE164(raw: string, region: 'US' | 'CA' | 'GB' | 'DE'): string | null {
  const trimmed = raw.trim();
  if (!/\d/.test(trimmed)) return null;
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: region, extract: false });
  if (!parsed?.isPossible()) return null;
  return parsed.ext ? `${parsed.number};ext=${parsed.ext}` : (parsed.number as string);
}

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('toE164', () => {
  it('reads North American numbers in every usual shape as libphonenumber-js does, in every region', () => {
    const rnd = random(19);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
    const shapes = [
      (a: string, b: string, c: string) => `+1 ${a} ${b} ${c}`,
      (a: string, b: string, c: string) => `+1${a}${b}${c}`,
      (a: string, b: string, c: string) => `+1 (${a}) ${b}-${c}`,
      (a: string, b: string, c: string) => `+1-${a}-${b}-${c}`,
      (a: string, b: string, c: string) => `+1.${a}.${b}.${c}`,
      (a: string, b: string, c: string) => `(${a}) ${b}-${c}`,
      (a: string, b: string, c: string) => `(${a})${b}-${c}`,
      (a: string, b: string, c: string) => `${a}-${b}-${c}`,
      (a: string, b: string, c: string) => `${a}.${b}.${c}`,
      (a: string, b: string, c: string) => `${a} ${b} ${c}`,
      (a: string, b: string, c: string) => `${a}${b}${c}`,
      (a: string, b: string, c: string) => `  ${a}${b}${c} `,
      (a: string, b: string, c: string) => `(${a} ${b} ${c}`,
      (a: string, b: string, c: string) => `${a}) ${b} ${c}`,
    ];
    let compared = 0;
    for (let i = 0; i < 1000; i++) {
      // Area codes and exchanges from 000 to 999: the fast path takes only those from 200 on.
      const [a, b, c] = [digits(3), digits(3), digits(4)];
      const shape = shapes[i % shapes.length]!;
      for (const region of ['US', 'CA', 'GB', 'DE'] as const) {
        const raw = shape(a, b, c);
        expect(toE164(raw, region), `${raw} in ${region}`).toBe(slowE164(raw, region));
        compared += 1;
      }
    }
    // Some well-known numbers, N11 and toll-free codes, and shapes the fast path leaves alone.
    for (const raw of [
      '+1 800 555 0100',
      '+1 911 555 0100',
      '+1 411 411 4111',
      '+1 242 555 0100',
      '+1 (415) 555-0100 ext. 12',
      '1 415 555 0100',
      '415 555 0100;ext=7',
      '+44 20 7946 0958',
      '555-1234',
    ])
      for (const region of ['US', 'CA', 'GB', 'DE'] as const)
        expect(toE164(raw, region), `${raw} in ${region}`).toBe(slowE164(raw, region));
    expect(compared).toBe(4_000);
    expect(toE164('+1 (415) 555-0100')).toBe('+14155550100');
  });
});
