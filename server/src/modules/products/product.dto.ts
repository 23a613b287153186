import { z } from 'zod';

/** A decimal as a string or number: `12.5`, `"0.0001"`; at most 12 digits before the point, 6 after. */
export const DecimalInput = z.union([z.number(), z.string().trim().max(40)]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v;
  if (!/^-?\d{1,12}(\.\d{1,6})?$/.test(s)) {
    ctx.addIssue({
      code: 'custom',
      message: 'A decimal number, at most 12 digits before the point and 6 after',
    });
    return z.NEVER;
  }
  return s;
});

const TaxRate = DecimalInput.refine((v) => Number(v) >= 0 && Number(v) <= 100, 'Between 0 and 100 (percent)');

const productFields = {
  description: z.string().max(10_000).nullable().optional(),
  unit: z.string().trim().min(1).max(32).optional().describe('What one of it is called: unit, hour, kg'),
  fractional: z.boolean().optional().describe('Whether a line may hold a fractional quantity'),
  backorders: z
    .boolean()
    .optional()
    .describe('Whether orders may reserve more than a warehouse holds (its stock may go below zero)'),
  active: z.boolean().optional(),
  tax_rate: TaxRate.nullable().optional().describe('Percent: 20 is 20 %'),
  tags: z.array(z.string().trim().min(1).max(64)).max(100).optional(),
  owner_id: z.uuid().nullable().optional(),
  custom: z.record(z.string(), z.unknown()).optional(),
};

const Sku = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}._\-/ ]+$/u, 'Letters, digits, spaces and . _ - /');

export const ProductCreate = z.strictObject({
  sku: Sku.optional().describe('Default: made from the name, `GTX Pro` -> `GTX-PRO`'),
  name: z.string().trim().min(1).max(200),
  ...productFields,
});
export const ProductUpdate = z.strictObject({
  sku: Sku.optional(),
  name: z.string().trim().min(1).max(200).optional(),
  ...productFields,
});
export type ProductCreateInput = z.infer<typeof ProductCreate>;
export type ProductUpdateInput = z.infer<typeof ProductUpdate>;

export const Product = z
  .object({
    id: z.uuid(),
    sku: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    unit: z.string(),
    fractional: z.boolean(),
    backorders: z.boolean(),
    active: z.boolean(),
    tax_rate: z.string().nullable().describe('Percent, as a decimal string'),
    tags: z.array(z.string()),
    owner_id: z.uuid().nullable(),
    custom: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'Product' });
export type ProductView = z.infer<typeof Product>;
