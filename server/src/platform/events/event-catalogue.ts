import { z } from 'zod';

/**
 * The event catalogue: every event type Cairn emits, each a literal name, a zod schema of its
 * `data`, the type inferred from it, a one-line summary and the timeline's words for it. Modules
 * register their own types (`registerEvents` in their `*.events.ts`), so the platform knows no
 * module; the timeline's wording and the event reference in the OpenAPI document (`webhooks`)
 * are read from here, and `emitEvent` is typed by it.
 *
 * The types come in through declaration merging (the one place an `interface` is needed): each
 * `*.events.ts` adds its definitions to `EventCatalogue` with
 * `declare module '.../event-catalogue.js' { interface EventCatalogue extends CatalogueOf<typeof x> {} }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the modules' declaration merging
export interface EventCatalogue {}

/** Every catalogued event type: `contact.created`, `member.role_changed`, ... */
export type EventType = keyof EventCatalogue & string;

/** What the timeline's words of one event are made from. */
export type WordingInput<D> = {
  /** Who did it, as a person reads it: "Ada Admin", "An import". */
  actor: string;
  /** The subject with its name: "contact Ada Lovelace". */
  what: string;
  data: D;
  /** The labels of these fields of the subject's object, in the object's order: "e-mails and tags". */
  fields(keys: readonly string[]): string;
};

export type EventDefinition<S extends z.ZodType = z.ZodType> = {
  /** What happened, for the event reference. */
  summary: string;
  /** The shape of the event's `data`. */
  data: S;
  /** The timeline's words: "Ada Admin archived contact Ada Lovelace". */
  describe(input: WordingInput<z.output<S>>): string;
};

/** The data types of a module's definitions, to merge into `EventCatalogue`. */
export type CatalogueOf<T extends Record<string, EventDefinition>> = {
  [K in keyof T]: z.input<T[K]['data']>;
};

const catalogue = new Map<string, EventDefinition>();

/**
 * Registers a module's event types with the catalogue (once, from the module's `*.events.ts`).
 * @throws when a type is registered twice with another definition
 */
export function registerEvents<T extends Record<string, EventDefinition>>(
  definitions: {
    [K in keyof T]: T[K];
  },
): T {
  for (const [type, definition] of Object.entries(definitions)) {
    if (!/^[a-z][a-z_]*\.[a-z][a-z_]*$/.test(type))
      throw new Error(`Event type ${type} is not <object>.<verb>`);
    const known = catalogue.get(type);
    if (known && known !== definition) throw new Error(`Event type ${type} is registered twice`);
    catalogue.set(type, definition);
  }
  return definitions;
}

/** A definition, typed: its schema's output is the data the wording gets. */
export const defineEvent = <S extends z.ZodType>(definition: EventDefinition<S>): EventDefinition<S> =>
  definition;

/** The definition of a type, or undefined when it is not catalogued (an event of an older version). */
export function eventDefinition(type: string): EventDefinition | undefined {
  return catalogue.get(type);
}

/** Every catalogued type with its definition, by name. */
export function eventCatalogue(): [string, EventDefinition][] {
  return [...catalogue.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** `type` as a catalogued type (one built at run time: `${object}.updated`). @throws when it is not */
export function catalogued(type: string): EventType {
  if (!catalogue.has(type)) throw new Error(`Event type ${type} is not in the event catalogue`);
  return type as EventType;
}

/**
 * Checks an event's data against its definition. @throws naming the type and the first bad path
 * when the type is not catalogued or the data does not fit
 */
export function assertEventData(type: string, data: unknown): void {
  const definition = catalogue.get(type);
  if (!definition) throw new Error(`Event type ${type} is not in the event catalogue`);
  const parsed = definition.data.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Event ${type}: data.${issue.path.join('.')}: ${issue.message}`);
  }
}

// Shapes several modules' events share.

/** `{before, after}` of each changed field: the `changes` of an `*.updated` event. */
export const FieldChangesSchema = z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() }));

/** A record's name as it was when the event happened (null when it had none). */
export const RecordName = z.string().nullable();

/** A record of some object: `{object, id}`. */
export const RecordRef = z.object({ object: z.string(), id: z.string() });
