import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { listExchangeRates, setExchangeRate } from './exchange-rate.service.js';
import {
  ExchangeRate,
  ExchangeRateSet,
  Order,
  OrderConvert,
  OrderFulfil,
  OrderListQuery,
  OrderSummary,
} from './order.dto.js';
import { convertQuote, getOrder, listOrders } from './order.service.js';
import { cancelOrder, fulfilOrder } from './order-fulfilment.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.uuid() });
const tags = ['orders'];

/** Orders made from accepted quotes, their delivery and cancellation; exchange rates (issue 29). */
export function registerOrderRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/quotes/:id/order',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'convertQuoteToOrder',
        summary:
          "Convert an accepted quote to an order (lines copied, products reserved, the deal closed won with the order's total in the organization's currency); converting again answers the same order (200)",
        params: IdParams,
        body: OrderConvert,
        response: { 200: Order, 201: Order, ...errors },
      },
    },
    async (req, reply) => {
      const { order, created } = await convertQuote(services, req.tenant, req.params.id, req.body ?? {});
      return reply.code(created ? 201 : 200).send(order);
    },
  );
  app.get(
    '/orders',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listOrders',
        summary: 'Orders, newest first (of a status, of a deal)',
        querystring: OrderListQuery,
        response: { 200: z.object({ data: z.array(OrderSummary) }), ...errors },
      },
    },
    async (req) => ({ data: await listOrders(services, req.tenant, req.query) }),
  );
  app.get(
    '/orders/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getOrder',
        summary: 'An order with its lines and what of them was delivered',
        params: IdParams,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => getOrder(services, req.tenant, req.params.id),
  );
  app.post(
    '/orders/:id/fulfil',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'fulfilOrder',
        summary:
          'Record a delivery (lines and quantities; none: everything left): stock leaves the warehouse; 400 `over_fulfilment` for more than a line has left',
        params: IdParams,
        body: OrderFulfil,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => fulfilOrder(services, req.tenant, req.params.id, req.body ?? {}),
  );
  app.post(
    '/orders/:id/cancel',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'cancelOrder',
        summary: 'Cancel an open or partly fulfilled order: what it still reserves is released',
        params: IdParams,
        response: { 200: Order, ...errors },
      },
    },
    async (req) => cancelOrder(services, req.tenant, req.params.id),
  );
  app.get(
    '/exchange-rates',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listExchangeRates',
        summary: "Dated exchange rates into the organization's currency",
        response: { 200: z.object({ data: z.array(ExchangeRate) }), ...errors },
      },
    },
    async (req) => ({ data: await listExchangeRates(services, req.tenant) }),
  );
  app.put(
    '/exchange-rates',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'setExchangeRate',
        summary: "Set a currency's rate into the organization's currency from a day on (admins)",
        body: ExchangeRateSet,
        response: { 200: ExchangeRate, ...errors },
      },
    },
    async (req) => setExchangeRate(services, req.tenant, req.body),
  );
}
