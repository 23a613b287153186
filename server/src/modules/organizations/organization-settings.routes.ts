import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  getOrganizationSettings,
  OrganizationSettings,
  OrganizationSettingsUpdate,
  updateOrganizationSettings,
} from './organization-settings.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['organizations'];

/**
 * The caller's organization's settings under `/organization/settings`: any member reads them
 * (the app formats phones and money with them), admins change them.
 */
export function registerOrganizationSettingsRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/organization/settings',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'getOrganizationSettings',
        tags,
        summary: "My organization's settings: name, default currency, time zone, country, fiscal year start",
        response: { 200: OrganizationSettings, ...errors },
      },
    },
    async (req) => getOrganizationSettings(services, req.tenant),
  );
  app.patch(
    '/organization/settings',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'updateOrganizationSettings',
        tags,
        summary: "Change my organization's settings: given fields change, absent ones stay",
        body: OrganizationSettingsUpdate,
        response: { 200: OrganizationSettings, ...errors },
      },
    },
    async (req) => updateOrganizationSettings(services, req.tenant, req.body),
  );
}
