import { describe, expect, it } from 'vitest';
import { redact } from './ai.service.js';

describe('redact', () => {
  const both = { emails: true, phones: true };
  it('replaces e-mails and phone numbers, and leaves amounts, dates and ids', () => {
    expect(redact('Write to ana.lima@example.org or +44 20 7946 0958', both)).toBe(
      'Write to [e-mail] or [phone]',
    );
    expect(redact('call (240) 452-2332 today', both)).toBe('call [phone] today');
    expect(redact('"phone":"+442079460958"', both)).toBe('"phone":"[phone]"');
    for (const kept of [
      '"amount":"737373.00"',
      '"amount":737373',
      '2026-12-06T10:00:00Z',
      '01a24ceb-d92b-745b-ad79-d70b9cf59515',
      '2024-05-15',
    ])
      expect(redact(kept, both)).toBe(kept);
  });
  it('is configurable', () => {
    expect(redact('a@b.io +44 20 7946 0958', { emails: false, phones: true })).toBe('a@b.io [phone]');
    expect(redact('a@b.io +44 20 7946 0958', { emails: true, phones: false })).toBe(
      '[e-mail] +44 20 7946 0958',
    );
  });
});
