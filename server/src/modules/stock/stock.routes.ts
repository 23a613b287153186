import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  MovementQuery,
  StockAdjustment,
  StockLevel,
  StockMovement,
  StockQuery,
  Warehouse,
  WarehouseCreate,
} from './stock.dto.js';
import { adjustStock, createWarehouse, listMovements, listStock, listWarehouses } from './stock.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['stock'];

/** Warehouses, stock per product per warehouse, adjustments and the stock ledger (issue 29). */
export function registerStockRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/warehouses',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listWarehouses',
        summary: 'Warehouses, the default (where orders reserve) first',
        response: { 200: z.object({ data: z.array(Warehouse) }), ...errors },
      },
    },
    async (req) => ({ data: await listWarehouses(services, req.tenant) }),
  );
  app.post(
    '/warehouses',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createWarehouse',
        summary: 'Add a warehouse (admins); the first is the default',
        body: WarehouseCreate,
        response: { 201: Warehouse, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createWarehouse(services, req.tenant, req.body)),
  );
  app.get(
    '/stock',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listStock',
        summary: 'Stock per product per warehouse: on hand, reserved by open orders, available',
        querystring: StockQuery,
        response: { 200: z.object({ data: z.array(StockLevel) }), ...errors },
      },
    },
    async (req) => ({ data: await listStock(services, req.tenant, req.query) }),
  );
  app.post(
    '/stock/adjustments',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'adjustStock',
        summary:
          "Adjust a product's stock on hand in a warehouse, with a reason; 409 `insufficient_stock` when it would leave less than is reserved (unless the product allows back-orders)",
        body: StockAdjustment,
        response: { 200: StockLevel, ...errors },
      },
    },
    async (req) => adjustStock(services, req.tenant, req.body),
  );
  app.get(
    '/stock/movements',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listStockMovements',
        summary: 'The stock ledger, newest first: every adjustment, reservation, release and fulfilment',
        querystring: MovementQuery,
        response: { 200: z.object({ data: z.array(StockMovement) }), ...errors },
      },
    },
    async (req) => ({ data: await listMovements(services, req.tenant, req.query) }),
  );
}
