/** The `data.changes` of an `<object>.updated` event: each changed field with before and after. */
export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

/**
 * Compares two views of a record on `keys` (by value, so arrays and objects compare by content)
 * and returns the fields that changed. Empty when nothing did.
 */
export function changesBetween<T extends Record<string, unknown>>(
  before: T,
  after: T,
  keys: readonly (keyof T & string)[],
): FieldChanges {
  const changes: FieldChanges = {};
  for (const key of keys) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes[key] = { before: before[key], after: after[key] };
  }
  return changes;
}
