import { auditSourceOf } from '../../platform/audit/audit.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  cancelOrganizationDeletion,
  getOrganizationDeletion,
  OrganizationDeletion,
  OrganizationDeletionRequest,
  scheduleOrganizationDeletion,
} from './organization-deletion.service.js';
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
  app.get(
    '/organization/deletion',
    {
      config: { access: 'member' },
      schema: {
        operationId: 'getOrganizationDeletion',
        tags,
        summary: 'Whether and when my organization is to be deleted',
        response: { 200: OrganizationDeletion, ...errors },
      },
    },
    async (req) => getOrganizationDeletion(services, req.tenant),
  );
  app.post(
    '/organization/deletion',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'scheduleOrganizationDeletion',
        tags,
        summary:
          'Delete my organization with all its data after the grace period (ORG_DELETION_GRACE_DAYS, 30 by default); admins may cancel until then',
        description:
          "`confirm` must be the organization's name (400 `confirmation_mismatch` otherwise). Asking again keeps the first date.",
        body: OrganizationDeletionRequest,
        response: { 200: OrganizationDeletion, ...errors },
      },
    },
    async (req) => scheduleOrganizationDeletion(services, req.tenant, req.body.confirm, auditSourceOf(req)),
  );
  app.delete(
    '/organization/deletion',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'cancelOrganizationDeletion',
        tags,
        summary: "Cancel my organization's scheduled deletion",
        response: { 200: OrganizationDeletion, ...errors },
      },
    },
    async (req) => cancelOrganizationDeletion(services, req.tenant, auditSourceOf(req)),
  );
}
