import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { ExchangeRate, ExchangeRateSet } from './exchange-rate.dto.js';
import { listExchangeRates, setExchangeRate } from './exchange-rate.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['orders'];

/**
 * Dated exchange rates into the organization's currency (issue 29), set by admins and read by
 * orders (a deal closed at an order's total) and the board's converted totals (issue 20).
 */
export function registerExchangeRateRoutes(app: ApiApp, services: Services): void {
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
