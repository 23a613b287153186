import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { assertTimeZone } from '../tasks/due-window.util.js';
import { Home, HomeQuery, RecentViewCreate, SampleDataResult } from './home.dto.js';
import { homeOf, recordRecentView } from './home.service.js';
import { loadSampleData, removeSampleData } from './sample-data.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem };
const tags = ['home'];

/**
 * The home page (the landing page after sign-in) under `/home`, the caller's recently viewed
 * records (`/me/recent-views`), and the organization's sample data (`/sample-data`, admins):
 * load it once, remove it in one call. The caller is the session's user (an API key's issuer).
 */
export function registerHomeRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/home',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getHome',
        tags,
        summary:
          'My tasks overdue and due today, my open deals by stage, recent activity, my recently viewed records and the getting-started steps, in one call',
        querystring: HomeQuery,
        response: { 200: Home, ...errors },
      },
    },
    async (req) => {
      assertTimeZone(req.query.tz, 'querystring.tz');
      return homeOf(services, req.tenant, req.principal!.userId, req.query.tz);
    },
  );
  app.post(
    '/me/recent-views',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'recordRecentView',
        tags,
        summary: 'Note that I opened a record (the home page lists my latest 10)',
        body: RecentViewCreate,
        response: { 204: z.null().describe('Noted'), ...errors },
      },
    },
    async (req, reply) => {
      await recordRecentView(services, req.tenant, req.principal!.userId, req.body);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/sample-data',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'loadSampleData',
        tags,
        summary: 'Fill the organization with sample companies, contacts, deals, tasks and notes (once)',
        response: { 201: SampleDataResult, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await loadSampleData(services, req.tenant)),
  );
  app.delete(
    '/sample-data',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'removeSampleData',
        tags,
        summary: 'Remove the sample data: every sample record still there, and nothing else',
        response: { 200: SampleDataResult, ...errors },
      },
    },
    async (req) => removeSampleData(services, req.tenant),
  );
}
