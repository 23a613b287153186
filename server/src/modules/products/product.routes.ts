import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import {
  PriceCreate,
  PriceList,
  PriceListCreate,
  PriceListUpdate,
  PriceLookup,
  PriceLookupQuery,
  ProductPrice,
} from './price-list.dto.js';
import * as lists from './price-list.service.js';
import { Product, ProductCreate, ProductUpdate } from './product.dto.js';
import * as products from './product.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.uuid() });

/** Products (the generic record routes) and price lists with their prices (issue 29). */
export function registerProductRoutes(app: ApiApp, services: Services): void {
  registerRecordRoutes(app, services, {
    object: 'product',
    collection: 'products',
    label: 'product',
    schemas: { view: Product, create: ProductCreate, update: ProductUpdate },
    service: {
      create: products.createProduct,
      get: products.getProduct,
      update: products.updateProduct,
      archive: products.archiveProduct,
      restore: products.restoreProduct,
      archiveMany: products.setProductsArchived,
      remove: products.deleteProduct,
    },
  });
  const tags = ['price-lists'];
  app.get(
    '/products/:id/price',
    {
      config: { access: 'records:read' },
      schema: {
        tags: ['products'],
        operationId: 'getProductPrice',
        summary:
          "A product's unit price on a list (default: the default list) for a quantity on a date: the highest tier at or below the quantity among the prices valid that day",
        params: IdParams,
        querystring: PriceLookupQuery,
        response: { 200: PriceLookup, ...errors },
      },
    },
    async (req) => lists.lookupPrice(services, req.tenant, req.params.id, req.query),
  );
  app.get(
    '/price-lists',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listPriceLists',
        summary: 'The price lists (one per currency, one the default)',
        response: { 200: z.object({ data: z.array(PriceList) }), ...errors },
      },
    },
    async (req) => ({ data: await lists.listPriceLists(services, req.tenant) }),
  );
  app.post(
    '/price-lists',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createPriceList',
        summary: 'Create a price list (admins): 409 `currency_taken` when the currency has one',
        body: PriceListCreate,
        response: { 201: PriceList, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await lists.createPriceList(services, req.tenant, req.body)),
  );
  app.patch(
    '/price-lists/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updatePriceList',
        summary: 'Rename a price list or make it the default (admins)',
        params: IdParams,
        body: PriceListUpdate,
        response: { 200: PriceList, ...errors },
      },
    },
    async (req) => lists.updatePriceList(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/price-lists/:id/prices',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listPriceListPrices',
        summary: "A price list's prices (of one product when `product_id` is given)",
        params: IdParams,
        querystring: z.strictObject({ product_id: z.uuid().optional() }),
        response: { 200: z.object({ data: z.array(ProductPrice) }), ...errors },
      },
    },
    async (req) => ({
      data: await lists.listPrices(services, req.tenant, req.params.id, req.query.product_id),
    }),
  );
  app.post(
    '/price-lists/:id/prices',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createProductPrice',
        summary:
          "Add a product's price to a list (admins): a tier from `min_quantity` up, valid between two dates",
        params: IdParams,
        body: PriceCreate,
        response: { 201: ProductPrice, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await lists.addPrice(services, req.tenant, req.params.id, req.body)),
  );
  app.delete(
    '/price-lists/:id/prices/:priceId',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'deleteProductPrice',
        summary: 'Remove a price from a list (admins); quotes keep the prices they copied',
        params: z.strictObject({ id: z.uuid(), priceId: z.uuid() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await lists.removePrice(services, req.tenant, req.params.id, req.params.priceId);
      return reply.code(204).send(null);
    },
  );
}
