import { z } from 'zod';
import { emailSchema } from '../../platform/registry/email.js';
import { CONTACT_SOURCES, LEAD_STATUSES } from '../../platform/registry/standard-objects.js';

const Name = z.string().trim().max(100);
const TagName = z.string().trim().min(1).max(64);

export const ContactEmailInput = z.strictObject({
  value: emailSchema(),
  primary: z.boolean().optional(),
  label: z.string().max(40).optional(),
});
export const ContactPhoneInput = z.strictObject({
  number: z.string().trim().min(1).max(64).describe('As typed; normalized to E.164 (default region US)'),
  primary: z.boolean().optional(),
  label: z.string().max(40).optional(),
});
export const CompanyLinkInput = z.strictObject({ id: z.uuid(), primary: z.boolean().optional() });

const contactFields = {
  first_name: Name.nullable().optional(),
  last_name: Name.nullable().optional(),
  job_title: z.string().trim().max(200).nullable().optional().describe('The role at work: "Head of Sales"'),
  emails: z
    .array(ContactEmailInput)
    .max(20)
    .optional()
    .describe('All e-mails; the first is primary unless one says so'),
  phones: z.array(ContactPhoneInput).max(20).optional(),
  tags: z.array(TagName).max(100).optional(),
  owner_id: z.uuid().nullable().optional().describe('A member of the organization'),
  companies: z.array(CompanyLinkInput).max(50).optional().describe('Linked companies; at most one primary'),
  source: z
    .enum(CONTACT_SOURCES.map((s) => s.value) as [string, ...string[]])
    .nullable()
    .optional(),
  lead_status: z
    .enum(LEAD_STATUSES.map((s) => s.value) as [string, ...string[]])
    .nullable()
    .optional()
    .describe('Set to make the contact a lead'),
  notes: z.string().max(10_000).nullable().optional(),
  custom: z.record(z.string(), z.unknown()).optional().describe('Values of custom fields, by key'),
};

export const ContactCreate = z.strictObject(contactFields).meta({ id: 'ContactCreate' });
export const ContactUpdate = z.strictObject(contactFields).meta({ id: 'ContactUpdate' });
export type ContactCreateInput = z.infer<typeof ContactCreate>;
export type ContactUpdateInput = z.infer<typeof ContactUpdate>;

export const Contact = z
  .object({
    id: z.uuid(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    job_title: z.string().nullable(),
    email: z.string().nullable().describe('The primary e-mail'),
    emails: z.array(z.object({ value: z.string(), primary: z.boolean(), label: z.string().optional() })),
    phone: z.string().nullable().describe('The primary phone, E.164'),
    phones: z.array(
      z.object({
        e164: z.string().nullable(),
        raw: z.string(),
        primary: z.boolean(),
        label: z.string().optional(),
      }),
    ),
    tags: z.array(z.string()),
    owner_id: z.uuid().nullable(),
    companies: z.array(z.object({ id: z.uuid(), name: z.string(), primary: z.boolean() })),
    source: z.string().nullable(),
    lead_status: z.string().nullable(),
    notes: z.string().nullable(),
    custom: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'Contact' });
export type ContactView = z.infer<typeof Contact>;
