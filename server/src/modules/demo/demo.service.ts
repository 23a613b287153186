import { randomBytes } from 'node:crypto';
import type { Faker } from '@faker-js/faker';
import type { TenantContext } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { createCompany } from '../companies/company.service.js';
import { createContact } from '../contacts/contact.service.js';
import { createNote } from '../notes/note.service.js';
import { createOpportunity } from '../opportunities/opportunity.service.js';
import { closeOpportunity } from '../opportunities/opportunity-moves.service.js';
import { createOrganization } from '../organizations/organization.service.js';
import { createPipeline, listPipelines } from '../pipelines/pipeline.service.js';
import { createTask } from '../tasks/task.service.js';

export type DemoSize = {
  companies: number;
  contacts: number;
  opportunities: number;
  tasks: number;
  notes: number;
};
/** About what a small sales team has after a year: the "living CRM". */
export const DEMO_SIZE: DemoSize = {
  companies: 300,
  contacts: 2000,
  opportunities: 500,
  tasks: 300,
  notes: 300,
};

const INDUSTRIES = [
  'Software',
  'Manufacturing',
  'Healthcare',
  'Retail',
  'Finance',
  'Logistics',
  'Education',
  'Energy',
  'Media',
];
const SIZES = ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001+'];
const TAGS = ['vip', 'newsletter', 'partner', 'prospect', 'customer', 'churn-risk', 'event-2026', 'referral'];
const SOURCES = ['manual', 'import', 'form', 'referral', 'event'] as const;

export type DemoResult = {
  organizationId: string;
  organizationName: string;
  email: string;
  password: string;
  counts: DemoSize;
};

/**
 * Creates a demo organization filled with generated, realistic data (deterministic for a seed,
 * with @faker-js/faker): companies, contacts linked to them, two pipelines with opportunities
 * spread over the stages (some won or lost), tasks and notes. Everything goes through the same
 * services as the API, so events, timelines and validation are real. Prints nothing.
 */
export async function createDemoOrganization(
  services: Services,
  options: { seed?: number; size?: DemoSize; email?: string } = {},
): Promise<DemoResult> {
  const seed = options.seed ?? 2026;
  const size = options.size ?? DEMO_SIZE;
  const faker = await newFaker();
  faker.seed(seed);
  const email = (options.email ?? `demo+${randomBytes(3).toString('hex')}@cairn.example`).toLowerCase();
  const password = `${randomBytes(9).toString('base64url')}aA1!`;
  const signUp = await services.auth.api.signUpEmail({ body: { name: 'Demo Admin', email, password } });
  const org = await createOrganization(services, signUp.user.id, 'Demo Company (generated)');
  const userCtx: TenantContext = { orgId: org.id, actor: { type: 'user', id: signUp.user.id } };

  await fillDemoData(services, userCtx, { seed, size, faker });
  return { organizationId: org.id, organizationName: org.name, email, password, counts: size };
}

/**
 * A faker with the English locale. Loaded on first use: the package (every locale) is about 17 MB
 * of heap that a server which never makes demo data should not carry, nor V8 let grow fourfold
 * before a full collection (bench/import.bench.ts).
 */
async function newFaker(): Promise<Faker> {
  const { en, Faker } = await import('@faker-js/faker');
  return new Faker({ locale: [en] });
}

/** What `fillDemoData` made, by object (`company`, `contact`, `pipeline`, `opportunity`, `task`, `note`). */
export type DemoRecords = Record<
  'company' | 'contact' | 'pipeline' | 'opportunity' | 'task' | 'note',
  string[]
>;

export const emptyDemoRecords = (): DemoRecords => ({
  company: [],
  contact: [],
  pipeline: [],
  opportunity: [],
  task: [],
  note: [],
});

/**
 * Fills the organization of `ctx` (a member as actor) with generated records through the API's
 * services: companies, contacts linked to them, a renewals pipeline (named `renewalsName`) beside
 * the default one with opportunities over the stages (some won or lost), tasks assigned to the
 * actor, due from a week ago to three weeks ahead, and notes. Deterministic for a seed.
 * @returns the ids of everything it made, by object
 */
export async function fillDemoData(
  services: Services,
  ctx: TenantContext,
  options: {
    seed?: number;
    size?: DemoSize;
    faker?: Faker;
    renewalsName?: string;
    /** Where the ids go as they are made (so a caller knows what was made when a step fails). */
    into?: DemoRecords;
  } = {},
): Promise<DemoRecords> {
  const size = options.size ?? DEMO_SIZE;
  const faker = options.faker ?? (await newFaker());
  if (!options.faker) faker.seed(options.seed ?? 2026);
  const userCtx = ctx;
  const made: DemoRecords = options.into ?? emptyDemoRecords();
  const companyIds = made.company;
  const contactIds = made.contact;
  for (let i = 0; i < size.companies; i++) {
    const name = faker.company.name();
    const company = await createCompany(services, userCtx, {
      name,
      website: `https://www.${faker.internet.domainWord()}-${i}.example`,
      industry: faker.helpers.arrayElement(INDUSTRIES),
      size: faker.helpers.arrayElement(SIZES),
      address: { city: faker.location.city(), country: faker.location.country() },
      tags: faker.helpers.arrayElements(TAGS, { min: 0, max: 2 }),
    });
    companyIds.push(company.id);
  }
  for (let i = 0; i < size.contacts; i++) {
    const first = faker.person.firstName();
    const last = faker.person.lastName();
    const contact = await createContact(services, userCtx, {
      first_name: first,
      last_name: last,
      emails: [
        {
          value: faker.internet.email({ firstName: first, lastName: `${last}${i}`, provider: 'example.com' }),
        },
      ],
      phones: [{ number: `+1 ${faker.helpers.replaceSymbols('2##-555-01##')}` }],
      tags: faker.helpers.arrayElements(TAGS, { min: 0, max: 3 }),
      source: faker.helpers.arrayElement(SOURCES),
      lead_status: faker.datatype.boolean({ probability: 0.2 })
        ? faker.helpers.arrayElement(['new', 'working', 'qualified'] as const)
        : null,
      companies:
        companyIds.length && faker.datatype.boolean({ probability: 0.85 })
          ? [{ id: faker.helpers.arrayElement(companyIds), primary: true }]
          : [],
    });
    contactIds.push(contact.id);
  }
  const [sales] = await listPipelines(services, ctx);
  const renewals = await createPipeline(services, userCtx, {
    name: options.renewalsName ?? 'Renewals',
    stages: [
      { name: 'Upcoming', probability: 30, kind: 'open' },
      { name: 'In talks', probability: 60, kind: 'open' },
      { name: 'Renewed', probability: 100, kind: 'won' },
      { name: 'Churned', probability: 0, kind: 'lost' },
    ],
  });
  made.pipeline.push(renewals.id);
  const opportunityIds = made.opportunity;
  for (let i = 0; i < size.opportunities; i++) {
    const pipeline = i % 4 === 0 ? renewals : sales!;
    const open = pipeline.stages.filter((s) => s.kind === 'open');
    const contactId = contactIds.length ? faker.helpers.arrayElement(contactIds) : undefined;
    const opportunity = await createOpportunity(services, userCtx, {
      title: `${faker.commerce.productAdjective()} ${faker.commerce.product()} ${pipeline === renewals ? 'renewal' : 'deal'}`,
      amount: faker.number.int({ min: 5, max: 500 }) * 100,
      currency: faker.helpers.weightedArrayElement([
        { value: 'USD', weight: 7 },
        { value: 'EUR', weight: 3 },
      ]),
      expected_close_date: faker.date.soon({ days: 120 }).toISOString().slice(0, 10),
      pipeline_id: pipeline.id,
      stage_id: faker.helpers.arrayElement(open).id,
      contact_id: contactId,
      company_id: companyIds.length ? faker.helpers.arrayElement(companyIds) : undefined,
      source: 'manual',
    });
    opportunityIds.push(opportunity.id);
    const fate = faker.number.int({ min: 0, max: 9 });
    if (fate === 0)
      await closeOpportunity(services, userCtx, opportunity.id, { status: 'won', reason: 'Demo' });
    if (fate === 1)
      await closeOpportunity(services, userCtx, opportunity.id, {
        status: 'lost',
        reason: faker.helpers.arrayElement(['Price', 'Timing', 'Competitor']),
      });
  }
  for (let i = 0; i < size.tasks; i++) {
    const due = faker.date.between({ from: Date.now() - 7 * 86_400_000, to: Date.now() + 21 * 86_400_000 });
    const task = await createTask(services, userCtx, {
      title:
        faker.helpers.arrayElement(['Call', 'Email', 'Send proposal to', 'Follow up with', 'Meet']) +
        ` ${faker.person.firstName()}`,
      due_at: due.toISOString(),
      priority: faker.helpers.arrayElement(['low', 'normal', 'high', 'urgent'] as const),
      link: opportunityIds.length
        ? { object: 'opportunity', id: faker.helpers.arrayElement(opportunityIds) }
        : null,
    });
    made.task.push(task.id);
  }
  for (let i = 0; i < size.notes && contactIds.length; i++) {
    const note = await createNote(services, userCtx, {
      object: 'contact',
      id: faker.helpers.arrayElement(contactIds),
      body: `<p>${faker.lorem.sentences({ min: 1, max: 3 })}</p>`,
    });
    made.note.push(note.id);
  }
  return made;
}
