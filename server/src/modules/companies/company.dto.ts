import { z } from 'zod';
import { COMPANY_SIZES } from '../../platform/registry/standard-objects.js';

const Address = z.strictObject({
  street: z.string().trim().max(200).optional(),
  city: z.string().trim().max(100).optional(),
  region: z.string().trim().max(100).optional(),
  postal_code: z.string().trim().max(20).optional(),
  country: z.string().trim().max(100).optional(),
});

const companyFields = {
  domain: z
    .string()
    .trim()
    .max(253)
    .nullable()
    .optional()
    .describe('e.g. acme.com; derived from the website when absent'),
  website: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable()
    .optional(),
  phone: z.string().trim().max(64).nullable().optional().describe('Normalized to E.164'),
  address: Address.optional(),
  industry: z.string().trim().max(100).nullable().optional(),
  size: z
    .enum(COMPANY_SIZES.map((s) => s.value) as [string, ...string[]])
    .nullable()
    .optional(),
  tags: z.array(z.string().trim().min(1).max(64)).max(100).optional(),
  owner_id: z.uuid().nullable().optional(),
  parent_id: z.uuid().nullable().optional().describe('The parent company (this one is its subsidiary)'),
  notes: z.string().max(10_000).nullable().optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
};

export const CompanyCreate = z
  .strictObject({ name: z.string().trim().min(1).max(200), ...companyFields })
  .meta({ id: 'CompanyCreate' });
export const CompanyUpdate = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional(), ...companyFields })
  .meta({ id: 'CompanyUpdate' });
export type CompanyCreateInput = z.infer<typeof CompanyCreate>;
export type CompanyUpdateInput = z.infer<typeof CompanyUpdate>;

export const Company = z
  .object({
    id: z.uuid(),
    name: z.string(),
    domain: z.string().nullable(),
    website: z.string().nullable(),
    phone: z.string().nullable(),
    address: z.record(z.string(), z.string()),
    industry: z.string().nullable(),
    size: z.string().nullable(),
    tags: z.array(z.string()),
    owner_id: z.uuid().nullable(),
    parent_id: z.uuid().nullable().describe('The parent company'),
    notes: z.string().nullable(),
    custom: z.record(z.string(), z.unknown()),
    contact_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'Company' });
export type CompanyView = z.infer<typeof Company>;
