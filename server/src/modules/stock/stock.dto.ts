import { z } from 'zod';
import { DecimalInput } from '../products/product.dto.js';

export const WarehouseCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  is_default: z.boolean().optional().describe("Where orders reserve; the organization's first warehouse is"),
});
export type WarehouseCreateInput = z.infer<typeof WarehouseCreate>;

export const Warehouse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    is_default: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'Warehouse' });
export type WarehouseView = z.infer<typeof Warehouse>;

export const StockQuery = z.strictObject({
  product_id: z.uuid().optional(),
  warehouse_id: z.uuid().optional(),
});

export const StockLevel = z
  .object({
    warehouse_id: z.uuid(),
    product_id: z.uuid(),
    sku: z.string(),
    product: z.string(),
    on_hand: z.string(),
    reserved: z.string().describe('Promised to open orders'),
    available: z
      .string()
      .describe('on_hand − reserved (below zero only for a product that allows back-orders)'),
    backorders: z.boolean(),
    updated_at: z.string(),
  })
  .meta({ id: 'StockLevel' });
export type StockLevelView = z.infer<typeof StockLevel>;

export const StockAdjustment = z.strictObject({
  warehouse_id: z.uuid(),
  product_id: z.uuid(),
  change: DecimalInput.refine((v) => Number(v) !== 0, 'A change other than zero').describe(
    'Signed quantity added to (or, negative, taken from) the stock on hand',
  ),
  reason: z.string().trim().min(1).max(500).describe('Why: counted, damaged, received, returned'),
});
export type StockAdjustmentInput = z.infer<typeof StockAdjustment>;

export const MovementQuery = z.strictObject({
  product_id: z.uuid().optional(),
  warehouse_id: z.uuid().optional(),
  order_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const StockMovement = z
  .object({
    id: z.uuid(),
    warehouse_id: z.uuid(),
    product_id: z.uuid(),
    kind: z.enum(['adjustment', 'reservation', 'release', 'fulfilment']),
    on_hand_change: z.string(),
    reserved_change: z.string(),
    on_hand_after: z.string(),
    reserved_after: z.string(),
    order_id: z.uuid().nullable(),
    reason: z.string().nullable(),
    created_at: z.string(),
    created_by: z.uuid().nullable(),
  })
  .meta({ id: 'StockMovement' });
