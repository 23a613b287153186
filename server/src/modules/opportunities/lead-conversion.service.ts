import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { createCompanyIn, getCompany } from '../companies/company.service.js';
import { convertLeadIn, emitLeadConvertedIn, primaryCompanyOf } from '../contacts/contact-leads.service.js';
import { displayName } from '../contacts/contact-views.service.js';
import { createOpportunityIn } from './opportunity.service.js';

export const LeadConversion = z
  .strictObject({
    opportunity: z
      .strictObject({
        title: z.string().trim().min(1).max(200).optional().describe("Default: '<contact name> deal'"),
        amount: z.number().finite().min(0).max(1e15).optional(),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .optional(),
        pipeline_id: z.uuid().optional(),
        stage_id: z.uuid().optional(),
        expected_close_date: z.iso.date().optional(),
      })
      .default({}),
    company: z
      .union([z.strictObject({ id: z.uuid() }), z.strictObject({ name: z.string().trim().min(1).max(200) })])
      .optional()
      .describe("An existing company, or a new one by name; default: the contact's primary company"),
  })
  .meta({ id: 'LeadConversion' });

/**
 * Converts a lead in one transaction: creates (or picks) the company and links the contact to it,
 * creates the opportunity for the contact and company, and marks the lead converted. The history
 * stays on the contact, whose timeline shows the conversion.
 * @throws 404 unknown contact, 409 `not_a_lead` / `already_converted`, 422 unknown company
 */
export async function convertLead(
  services: Services,
  ctx: TenantContext,
  contactId: string,
  input: z.infer<typeof LeadConversion>,
) {
  if (input.company && 'id' in input.company) {
    await getCompany(services, ctx, input.company.id).catch(() => {
      throw new AppError(422, 'reference_not_found', 'No company with this id', { path: 'body.company.id' });
    });
  }
  return withTenant(services.database, ctx, async (scope) => {
    let companyId: string | null = null;
    if (input.company && 'name' in input.company) {
      companyId = (await createCompanyIn(scope, services, { name: input.company.name })).id;
    } else if (input.company) {
      companyId = input.company.id;
    } else {
      companyId = await primaryCompanyOf(scope, contactId);
    }
    const contact = await convertLeadIn(scope, contactId, companyId);
    const name = displayName(contact);
    const opportunity = await createOpportunityIn(scope, services, {
      title: input.opportunity.title ?? `${name} deal`,
      amount: input.opportunity.amount,
      currency: input.opportunity.currency,
      pipeline_id: input.opportunity.pipeline_id,
      stage_id: input.opportunity.stage_id,
      expected_close_date: input.opportunity.expected_close_date,
      contact_id: contactId,
      company_id: companyId,
      source: 'manual',
    });
    await emitLeadConvertedIn(scope, services, contact, opportunity, companyId);
    return { contact, opportunity };
  });
}
