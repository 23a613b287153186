import { z } from 'zod';
import { QuoteLine, QuoteLineInput } from './quote.dto.js';

const Money = z.string().describe('A decimal in the lines’ currency, with its minor unit’s decimals');

export const OpportunityLinesInput = z.strictObject({
  price_list_id: z
    .uuid()
    .nullable()
    .optional()
    .describe(
      "The list product lines are priced from; default: the deal's list, else the list in its currency, else the default",
    ),
  amount_from_lines: z
    .boolean()
    .optional()
    .describe(
      "Whether the deal's amount follows the lines' net total (kept on the deal; default: as it was)",
    ),
  lines: z.array(QuoteLineInput).max(1000).describe('Replaces every line'),
});
export type OpportunityLinesInput = z.infer<typeof OpportunityLinesInput>;

export const OpportunityLines = z
  .object({
    opportunity_id: z.uuid(),
    currency: z.string(),
    price_list_id: z.uuid().nullable(),
    amount_from_lines: z.boolean(),
    amount: z.number().nullable().describe("The deal's amount (its lines' net total when it follows them)"),
    lines: z.array(QuoteLine),
    subtotal: Money,
    discount_total: Money,
    net_total: Money,
    tax_total: Money,
    total: Money,
  })
  .meta({ id: 'OpportunityLines' });
export type OpportunityLinesView = z.infer<typeof OpportunityLines>;
