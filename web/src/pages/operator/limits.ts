import type { Schemas } from '../../api/client';

export type OrgUsage = Schemas['OrganizationUsage'];
export type Plan = Schemas['Plan'];
export type Limits = Schemas['PlanLimits'];

/** The limits a plan sets, in the order the page shows them, with how each reads. */
export const LIMITS = [
  { key: 'members', label: 'Members', usage: (o: OrgUsage) => o.usage.members },
  { key: 'contacts', label: 'Contacts', usage: (o: OrgUsage) => o.usage.contacts },
  { key: 'emails_per_day', label: 'E-mails per day', usage: (o: OrgUsage) => o.usage.emails_today },
  { key: 'api_calls_per_day', label: 'API calls per day', usage: (o: OrgUsage) => o.usage.api_calls_today },
  { key: 'storage_bytes', label: 'Storage (bytes)', usage: (o: OrgUsage) => o.usage.storage_bytes },
] as const;
export type LimitKey = (typeof LIMITS)[number]['key'];

/** 1536 → "1.5 KB". */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** "12 / 100", or "12" when unlimited. */
export function usageOf(o: OrgUsage, key: LimitKey): string {
  const spec = LIMITS.find((l) => l.key === key)!;
  const used = spec.usage(o);
  const limit = o.limits[key];
  const show = (n: number) => (key === 'storage_bytes' ? bytes(n) : n.toLocaleString());
  return limit === undefined ? show(used) : `${show(used)} / ${show(limit)}`;
}
