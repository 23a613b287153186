import { describe, expect, it } from 'vitest';
import { isDay, relativePeriod, todayIn } from './query.values.js';

const at = (iso: string, timeZone = 'UTC') => ({ now: new Date(iso), timeZone });

describe('relative periods', () => {
  const wednesday = at('2024-05-15T10:00:00Z');

  it('gives [start, end) days for each token, weeks starting on Monday', () => {
    const cases: [string, string, string][] = [
      ['today', '2024-05-15', '2024-05-16'],
      ['yesterday', '2024-05-14', '2024-05-15'],
      ['tomorrow', '2024-05-16', '2024-05-17'],
      ['this_week', '2024-05-13', '2024-05-20'],
      ['last_week', '2024-05-06', '2024-05-13'],
      ['this_month', '2024-05-01', '2024-06-01'],
      ['last_month', '2024-04-01', '2024-05-01'],
      ['this_quarter', '2024-04-01', '2024-07-01'],
      ['this_year', '2024-01-01', '2025-01-01'],
      ['last_7_days', '2024-05-09', '2024-05-16'],
      ['next_7_days', '2024-05-15', '2024-05-22'],
      ['last_1_days', '2024-05-15', '2024-05-16'],
    ];
    for (const [token, start, end] of cases)
      expect(relativePeriod(token, wednesday), token).toEqual({ start, end });
  });

  it('crosses year boundaries and knows a Sunday belongs to the week before', () => {
    const newYear = at('2024-01-01T00:30:00Z');
    expect(relativePeriod('last_month', newYear)).toEqual({ start: '2023-12-01', end: '2024-01-01' });
    expect(relativePeriod('last_quarter', newYear)).toEqual({ start: '2023-10-01', end: '2024-01-01' });
    expect(relativePeriod('this_week', at('2024-05-19T12:00:00Z'))).toEqual({
      start: '2024-05-13',
      end: '2024-05-20',
    });
  });

  it('refuses unknown tokens and N outside 1..3650', () => {
    for (const token of ['someday', 'last_0_days', 'next_3651_days', 'last_-1_days', 'LAST_7_DAYS']) {
      expect(relativePeriod(token, wednesday), token).toBeUndefined();
    }
    expect(relativePeriod('next_3650_days', wednesday)?.end).toBe('2034-05-13');
  });

  it('evaluates "today" in the caller time zone', () => {
    expect(todayIn(at('2024-05-15T23:30:00Z', 'Pacific/Auckland'))).toBe('2024-05-16');
    expect(todayIn(at('2024-05-15T02:00:00Z', 'America/Los_Angeles'))).toBe('2024-05-14');
  });

  it('accepts only real calendar days', () => {
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2023-02-29')).toBe(false);
    expect(isDay('2024-5-1')).toBe(false);
  });
});
