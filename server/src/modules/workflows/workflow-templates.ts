/**
 * Templates of action texts: `{{record.first_name}}`, `{{workflow.name}}`. A variable is checked
 * when the workflow is saved (`workflow-validation.ts`); at run time a value that is missing
 * renders as an empty string.
 */
const VARIABLE = /\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g;

/** The variable names a template uses, in order: `record.first_name`. */
export function templateVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]!);
}

/**
 * What a template's variables are read from: the record as the query language returns it, and
 * for an inbound webhook's run the posted body (`{{trigger.contact.email}}`, any depth).
 */
export type TemplateContext = {
  record: Record<string, unknown>;
  workflow: { name: string };
  trigger?: unknown;
};

/** The value at a dotted path (`contact.email`, `items.0.sku`) in a JSON value; undefined when absent. */
export function valueAt(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

const asText = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(asText).join(', ');
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    return asText(v.value ?? v.e164 ?? v.amount ?? JSON.stringify(value));
  }
  return String(value);
};

/** `text` with each variable replaced by its value in `context`. */
export function renderTemplate(text: string, context: TemplateContext): string {
  const withTrigger = text.replace(VARIABLE, (whole, name: string) =>
    name.startsWith('trigger.') ? asText(valueAt(context.trigger, name.slice(8))) : whole,
  );
  return renderVariables(withTrigger, { record: context.record, workflow: context.workflow });
}

/**
 * `text` with each `{{root.key}}` replaced by `roots[root][key]` (a record's custom values under
 * `custom` count too); an unknown root or key renders as an empty string. Sequences (issue 25)
 * render `{{contact.first_name}}` and `{{sender.name}}` with it.
 */
export function renderVariables(text: string, roots: Record<string, Record<string, unknown>>): string {
  return text.replace(VARIABLE, (_, name: string) => {
    const [root, key] = name.split('.');
    const record = root ? roots[root] : undefined;
    if (!record || !key) return '';
    const custom = (record.custom ?? {}) as Record<string, unknown>;
    return asText(key in record ? record[key] : custom[key]);
  });
}
