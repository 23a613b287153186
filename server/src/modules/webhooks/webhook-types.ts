/**
 * Triggers that stand for several catalogued event types. `opportunity.stage_changed` (the name
 * automation tools and issue 31 use) is every change of an opportunity's stage: a move between open
 * stages, a close (won or lost) and a reopen. A delivery's body is still the event's own envelope,
 * whose `type` says which of them happened.
 */
export const TRIGGER_ALIASES: Record<string, { summary: string; types: string[] }> = {
  'opportunity.stage_changed': {
    summary:
      "An opportunity's stage changed: it moved to another open stage, was closed as won or lost, or was reopened (the body is that event, `opportunity.moved`, `opportunity.closed` or `opportunity.reopened`)",
    types: ['opportunity.moved', 'opportunity.closed', 'opportunity.reopened'],
  },
};

/** Whether a subscription to `subscribed` (types, aliases or `*`) wants an event of `type`. */
export function wants(subscribed: readonly string[], type: string): boolean {
  return subscribed.some((s) => s === '*' || s === type || TRIGGER_ALIASES[s]?.types.includes(type));
}

/** The object an event type is about: `opportunity.stage_changed` -> `opportunity`. */
export const objectOfType = (type: string) => type.slice(0, Math.max(0, type.indexOf('.')));
