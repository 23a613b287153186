/**
 * The kinds of in-app notification, each with the words the settings page and the API's
 * descriptions use. A member turns each on or off (in-app) and chooses an e-mail digest per kind.
 */
export const NOTIFICATION_KINDS = [
  'assigned',
  'status_changed',
  'task_assigned',
  'task_due',
  'task_overdue',
  'task_reminder',
  'mention',
  'security_alert',
  'form_submitted',
  'ops_alert',
  'workflow',
  'handoff_waiting',
  'handoff_accepted',
  'handoff_denied',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const KIND_LABELS: Record<NotificationKind, string> = {
  assigned: 'A record is assigned to me',
  status_changed: 'The stage or status of a record I own changes',
  task_assigned: 'A task is assigned to me',
  task_due: 'A task of mine is due today',
  task_overdue: 'A task of mine is overdue',
  task_reminder: 'A task reminder of mine comes due',
  mention: 'Someone mentions me in a note',
  security_alert: 'The guard warns about or stops an account (admins)',
  form_submitted: 'A form of mine is submitted',
  ops_alert: 'Something needs an admin (a webhook disabled after failing)',
  workflow: 'A workflow notifies me about a record',
  handoff_waiting: 'A hand-off waits in my role’s queue (or is assigned to me)',
  handoff_accepted: 'A record I handed off is accepted',
  handoff_denied: 'A record I handed off is denied and sent back',
};

/** Repeats of one kind on one record for one recipient within this window update one notification. */
export const COALESCE_WINDOW_MINUTES = 10;
