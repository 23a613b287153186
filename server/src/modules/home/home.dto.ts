import { z } from 'zod';
import { Task } from '../tasks/task.dto.js';
import { TimelineEntry } from '../timeline/timeline.service.js';

/** The objects whose records the home page lists as recently viewed. */
export const VIEWED_OBJECTS = ['contact', 'company', 'opportunity'] as const;

export const HomeQuery = z.strictObject({
  tz: z.string().max(64).default('UTC').describe('IANA time zone "today" is counted in (e.g. Europe/Paris)'),
});

const DueGroup = z.object({
  count: z.number().int().describe('How many tasks the group holds'),
  tasks: z.array(Task).describe('The first of them, soonest due first (at most 5)'),
});

const CurrencyTotal = z
  .object({
    currency: z.string().nullable().describe('ISO 4217; null for deals without a currency'),
    amount: z.string().describe('Sum of the amounts, a decimal string'),
    weighted: z.string().describe("Sum weighted by the stage's win probability, a decimal string"),
  })
  .meta({ id: 'CurrencyTotal' });

const StageSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  probability: z.number().int(),
  count: z.number().int(),
  totals: z.array(CurrencyTotal).describe('One sum per currency: never a sum across currencies'),
});

const PipelineSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  count: z.number().int(),
  totals: z.array(CurrencyTotal),
  stages: z.array(StageSummary).describe('Stages holding at least one of my open deals, in board order'),
});

export const RecentView = z
  .object({
    object: z.enum(VIEWED_OBJECTS),
    id: z.uuid(),
    title: z.string(),
    viewed_at: z.string(),
  })
  .meta({ id: 'RecentView' });

export const GETTING_STARTED_STEPS = ['import_contacts', 'create_pipeline', 'invite_teammate'] as const;

export const Home = z
  .object({
    tz: z.string(),
    tasks: z.object({ overdue: DueGroup, today: DueGroup }).describe('My open tasks, overdue and due today'),
    deals: z
      .object({ count: z.number().int(), pipelines: z.array(PipelineSummary) })
      .describe('My open deals'),
    activity: z.array(TimelineEntry).describe("The organization's latest events, newest first (20)"),
    recent: z.array(RecentView).describe('Records I opened lately, the latest first (10)'),
    getting_started: z.object({
      steps: z.array(z.object({ key: z.enum(GETTING_STARTED_STEPS), done: z.boolean() })),
      sample_data: z.object({
        loaded: z.boolean(),
        records: z.number().int().describe('How many sample records remain'),
      }),
    }),
  })
  .meta({ id: 'Home' });
export type HomeView = z.infer<typeof Home>;

export const RecentViewCreate = z
  .strictObject({ object: z.enum(VIEWED_OBJECTS), id: z.uuid() })
  .meta({ id: 'RecentViewCreate' });

export const SampleDataResult = z
  .object({ records: z.number().int().describe('How many records were made (load) or removed (remove)') })
  .meta({ id: 'SampleDataResult' });
