/** Status fields (issue 21): their definitions live in status-config.ts; here what the registry does with them. */
import type { FieldDef, SelectOption } from './registry.types.js';
import type { StatusConfigOut, StatusOptionOut } from './status-config.js';

export {
  RoleKey,
  STATUS_KINDS,
  StatusConfig,
  type StatusConfigInput,
  type StatusConfigOut,
  type StatusKind,
  StatusOption,
  type StatusOptionOut,
  StatusTransition,
} from './status-config.js';

/** The statuses as select options: filters, cells and imports read a status field as a select. */
export const optionsOfStatuses = (config: StatusConfigOut): SelectOption[] =>
  config.statuses.map((s) => ({ value: s.value, label: s.label, ...(s.color ? { color: s.color } : {}) }));

/** A status field's definition (undefined for any other field). */
export const statusConfigOf = (field: FieldDef): StatusConfigOut | undefined =>
  field.type === 'status' ? field.statuses : undefined;

/** The status a new record gets when its write names none. */
export const initialStatus = (config: StatusConfigOut): string => config.initial ?? config.statuses[0]!.value;

export const statusOf = (config: StatusConfigOut, value: unknown): StatusOptionOut | undefined =>
  config.statuses.find((s) => s.value === value);

/** The allowed move from `from` to `to`, with whether it needs a reason; undefined when not allowed. */
export function transitionOf(
  config: StatusConfigOut,
  from: string,
  to: string,
): { reasonRequired: boolean } | undefined {
  if (!config.transitions) return { reasonRequired: false };
  const t = config.transitions.find((x) => x.from === from && x.to === to);
  return t ? { reasonRequired: t.reason_required } : undefined;
}

/** Whether `role` may set `status` (admins always may; no role: the system, an import). */
export const roleMaySet = (status: StatusOptionOut, role: string | undefined): boolean =>
  role === undefined || role === 'admin' || !status.roles || status.roles.includes(role);
