import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';
import { NamedData } from '../../platform/events/record-events.js';

const StageData = z.object({ name: z.string(), stage: z.string() });

/** The pipeline events: a pipeline and its stages (settings; a deal's moves are `opportunity.*`). */
export const pipelineEvents = registerEvents({
  'pipeline.created': defineEvent({
    summary: 'A pipeline was created with its stages',
    data: z.object({ name: z.string(), stages: z.array(z.string()) }),
    describe: ({ actor, what }) => `${actor} created ${what}`,
  }),
  'pipeline.updated': defineEvent({
    summary: 'A pipeline was renamed or made the default',
    data: z.object({ name: z.string().optional(), is_default: z.boolean().optional() }),
    describe: ({ actor, what }) => `${actor} changed ${what}`,
  }),
  'pipeline.deleted': defineEvent({
    summary: 'An empty pipeline was deleted',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} deleted ${what}`,
  }),
  'pipeline.stage_added': defineEvent({
    summary: 'A stage was added to a pipeline',
    data: StageData,
    describe: ({ actor, what, data }) => `${actor} added the stage ${data.stage} to ${what}`,
  }),
  'pipeline.stage_updated': defineEvent({
    summary: 'A stage of a pipeline changed (`changes`: the fields given)',
    data: StageData.extend({ changes: z.record(z.string(), z.unknown()) }),
    describe: ({ actor, what, data }) => `${actor} changed the stage ${data.stage} of ${what}`,
  }),
  'pipeline.stages_reordered': defineEvent({
    summary: 'The stages of a pipeline were reordered',
    data: NamedData,
    describe: ({ actor, what }) => `${actor} reordered the stages of ${what}`,
  }),
  'pipeline.stage_deleted': defineEvent({
    summary: 'A stage was deleted; `moved` opportunities went to another stage',
    data: StageData.extend({ moved: z.number().int() }),
    describe: ({ actor, what, data }) => `${actor} deleted the stage ${data.stage} of ${what}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof pipelineEvents> {}
}
