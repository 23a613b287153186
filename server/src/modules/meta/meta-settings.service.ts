import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { seal, unseal } from '../../platform/crypto/sealed.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import type {
  MetaPageCreateInput,
  MetaPageUpdateInput,
  MetaPageView,
  MetaSettingsUpdateInput,
  MetaSettingsView,
} from './meta.dto.js';
import { type MetaFormMapping, metaPages, metaSettings } from './meta.schema.js';
import { scheduleTokenCheck } from './meta-token-check.service.js';

/** Purpose labels the Meta secrets are sealed under (`platform/crypto/sealed.ts`). */
export const SEAL = {
  appSecret: 'meta-app-secret',
  pageToken: 'meta-page-token',
  capiToken: 'meta-capi-token',
};

type SettingsRow = typeof metaSettings.$inferSelect;
type PageRow = typeof metaPages.$inferSelect;

/** A public token that names its organization (the org id's hex, then 16 random bytes), as forms' are. */
const newEndpointToken = (orgId: string) =>
  `${orgId.replaceAll('-', '')}${randomBytes(16).toString('base64url')}`;

/** The question names a contact's lead form maps by default (Meta's standard questions). */
export const CONTACT_DEFAULT_MAPPING: Record<string, string> = {
  email: 'email',
  full_name: 'first_name',
  first_name: 'first_name',
  last_name: 'last_name',
  phone_number: 'phone',
};

/** Pseudo-questions every lead has: where it came from (issue 31: source META and the ad's ids). */
export const LEAD_ATTRIBUTES = [
  'source',
  'ad_id',
  'adset_id',
  'campaign_id',
  'form_id',
  'ad_name',
  'campaign_name',
];

/** The organization's settings row, made on first use with a fresh verify token and endpoint token. */
export async function settingsRowIn(scope: TenantScope): Promise<SettingsRow> {
  const orgId = scope.ctx.orgId;
  await scope.tx
    .insert(metaSettings)
    .values({
      orgId,
      verifyToken: randomBytes(18).toString('base64url'),
      endpointToken: newEndpointToken(orgId),
    })
    .onConflictDoNothing();
  const [row] = await scope.tx.select().from(metaSettings).where(eq(metaSettings.orgId, orgId));
  return row!;
}

export function settingsViewOf(services: Services, r: SettingsRow): MetaSettingsView {
  return {
    app_id: r.appId,
    app_secret_set: r.appSecretSealed !== null,
    verify_token: r.verifyToken,
    webhook_url: `${services.config.baseUrl}/api/v1/public/meta/webhook/${r.endpointToken}`,
    capi_dataset_id: r.capiDatasetId,
    capi_token_set: r.capiTokenSealed !== null,
    lead_event_source: r.leadEventSource,
    stage_mapping: r.stageMapping,
    updated_at: r.updatedAt,
  };
}

export const unsealed = (services: Services, purpose: string, sealed: string | null) =>
  sealed === null ? null : unseal(services.config.secret, purpose, sealed);

export async function getMetaSettings(services: Services, ctx: TenantContext): Promise<MetaSettingsView> {
  return withTenant(services.database, ctx, async (scope) =>
    settingsViewOf(services, await settingsRowIn(scope)),
  );
}

/** Changes the Meta settings; secrets given are sealed, `null` removes one, absent keeps it. */
export async function updateMetaSettings(
  services: Services,
  ctx: TenantContext,
  input: MetaSettingsUpdateInput,
): Promise<MetaSettingsView> {
  const sealOrNull = (purpose: string, v: string | null | undefined) =>
    v === undefined ? undefined : v === null ? null : seal(services.config.secret, purpose, v);
  return withTenant(services.database, ctx, async (scope) => {
    await settingsRowIn(scope);
    const set: Partial<typeof metaSettings.$inferInsert> = {
      ...(input.app_id !== undefined ? { appId: input.app_id } : {}),
      ...(input.app_secret !== undefined
        ? { appSecretSealed: sealOrNull(SEAL.appSecret, input.app_secret) }
        : {}),
      ...(input.capi_dataset_id !== undefined ? { capiDatasetId: input.capi_dataset_id } : {}),
      ...(input.capi_access_token !== undefined
        ? { capiTokenSealed: sealOrNull(SEAL.capiToken, input.capi_access_token) }
        : {}),
      ...(input.lead_event_source !== undefined ? { leadEventSource: input.lead_event_source } : {}),
      ...(input.stage_mapping !== undefined ? { stageMapping: input.stage_mapping } : {}),
    };
    // `{}` changes nothing, not even the time of the last change.
    if (Object.keys(set).length === 0) return settingsViewOf(services, await settingsRowIn(scope));
    const [row] = await scope.tx
      .update(metaSettings)
      .set({ ...set, updatedAt: sql`clock_timestamp()` })
      .where(eq(metaSettings.orgId, ctx.orgId))
      .returning();
    return settingsViewOf(services, row!);
  });
}

export function pageViewOf(r: PageRow): MetaPageView {
  return {
    id: r.id,
    page_id: r.pageId,
    name: r.name,
    object: r.object,
    field_mapping: r.fieldMapping,
    owner_id: r.ownerId,
    forms: r.formMappings,
    token: {
      status: r.tokenStatus as MetaPageView['token']['status'],
      expires_at: r.tokenExpiresAt,
      checked_at: r.tokenCheckedAt,
      hint: `••••${r.tokenLast4}`,
    },
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/**
 * The object a page's (or one lead form's) leads become (a contact, a company or a custom
 * object's record) and its mapping, checked against the registry. `at` is where the target sits
 * in the body (`body`, `body.forms.2`).
 * @throws 400 `unknown_object` at `<at>.object`, `unknown_field` at `<at>.field_mapping.<question>`
 */
async function checkTarget(
  scope: TenantScope,
  object: string,
  mapping: Record<string, string>,
  at = 'body',
): Promise<ObjectDef> {
  let def: ObjectDef;
  try {
    def = await objectDef(scope.tx, scope.ctx.orgId, object);
  } catch {
    throw badRequest(`${object} is not an object of this organization`, `${at}.object`, 'unknown_object');
  }
  if (def.key !== 'contact' && def.key !== 'company' && !def.custom)
    throw badRequest(`Leads cannot become ${def.labelPlural}`, `${at}.object`, 'unknown_object');
  for (const [question, field] of Object.entries(mapping))
    if (!def.fields.some((f) => f.key === field))
      throw badRequest(
        `${field} is not a field of ${def.labelPlural}`,
        `${at}.field_mapping.${question}`,
        'unknown_field',
      );
  return def;
}

/** @throws 400 `reference_not_found` at `<at>.owner_id` when the owner is not a member */
async function checkOwner(scope: TenantScope, ownerId: string | null | undefined, at = 'body') {
  if (!ownerId) return;
  const { rows } = await scope.conn.query(
    `select 1 from members where organization_id = $1 and user_id = $2`,
    [scope.ctx.orgId, ownerId],
  );
  if (rows.length === 0)
    throw badRequest('The owner is not a member', `${at}.owner_id`, 'reference_not_found');
}

/**
 * A page's lead forms mapped on their own, each checked as the page's target is (a contact form
 * with no mapping given gets the standard contact mapping).
 * @throws the 400s of `checkTarget` and `checkOwner` at `body.forms[i]`
 */
async function checkedForms(
  scope: TenantScope,
  forms: MetaPageCreateInput['forms'],
): Promise<MetaFormMapping[]> {
  const out: MetaFormMapping[] = [];
  for (const [i, f] of (forms ?? []).entries()) {
    const mapping =
      Object.keys(f.field_mapping).length === 0 && f.object === 'contact'
        ? CONTACT_DEFAULT_MAPPING
        : f.field_mapping;
    await checkTarget(scope, f.object, mapping, `body.forms[${i}]`);
    await checkOwner(scope, f.owner_id, `body.forms[${i}]`);
    out.push({
      form_id: f.form_id,
      name: f.name ?? null,
      object: f.object,
      field_mapping: mapping,
      owner_id: f.owner_id ?? null,
    });
  }
  return out;
}

export async function listMetaPages(services: Services, ctx: TenantContext): Promise<MetaPageView[]> {
  return withTenant(services.database, ctx, async ({ tx }) =>
    (
      await tx
        .select()
        .from(metaPages)
        .where(eq(metaPages.orgId, ctx.orgId))
        .orderBy(asc(metaPages.createdAt))
    ).map(pageViewOf),
  );
}

/** Listens to a page. @throws 409 `page_exists` when the organization already does; 400s of `checkTarget` */
export async function createMetaPage(
  services: Services,
  ctx: TenantContext,
  input: MetaPageCreateInput,
): Promise<MetaPageView> {
  return withTenant(services.database, ctx, async (scope) => {
    const mapping = input.field_mapping ?? (input.object === 'contact' ? CONTACT_DEFAULT_MAPPING : {});
    await checkTarget(scope, input.object, mapping);
    await checkOwner(scope, input.owner_id);
    const forms = await checkedForms(scope, input.forms);
    const [row] = await scope.tx
      .insert(metaPages)
      .values({
        orgId: ctx.orgId,
        pageId: input.page_id,
        name: input.name ?? null,
        tokenSealed: seal(services.config.secret, SEAL.pageToken, input.access_token),
        tokenLast4: input.access_token.slice(-4),
        object: input.object,
        fieldMapping: mapping,
        ownerId: input.owner_id ?? null,
        formMappings: forms,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`Page ${input.page_id} is already listened to`, 'body.page_id', 'page_exists');
    await scheduleTokenCheck(scope, services, 60);
    return pageViewOf(row);
  });
}

async function pageRowIn(scope: TenantScope, id: string): Promise<PageRow> {
  const [row] = await scope.tx
    .select()
    .from(metaPages)
    .where(and(eq(metaPages.orgId, scope.ctx.orgId), eq(metaPages.id, id)));
  if (!row) throw notFound('Meta page', id);
  return row;
}

export async function getMetaPage(services: Services, ctx: TenantContext, id: string): Promise<MetaPageView> {
  return withTenant(services.database, ctx, async (scope) => pageViewOf(await pageRowIn(scope, id)));
}

/** Changes a page: a new token is sealed and its check state reset. @throws 404, 400s of `checkTarget` */
export async function updateMetaPage(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: MetaPageUpdateInput,
): Promise<MetaPageView> {
  return withTenant(services.database, ctx, async (scope) => {
    const page = await pageRowIn(scope, id);
    const object = input.object ?? page.object;
    const mapping =
      input.field_mapping ?? (input.object && input.object !== page.object ? {} : page.fieldMapping);
    await checkTarget(scope, object, mapping);
    await checkOwner(scope, input.owner_id);
    const forms = input.forms === undefined ? undefined : await checkedForms(scope, input.forms);
    const [row] = await scope.tx
      .update(metaPages)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.owner_id !== undefined ? { ownerId: input.owner_id } : {}),
        ...(input.access_token !== undefined
          ? {
              tokenSealed: seal(services.config.secret, SEAL.pageToken, input.access_token),
              tokenLast4: input.access_token.slice(-4),
              tokenStatus: 'unknown',
              tokenExpiresAt: null,
              tokenCheckedAt: null,
            }
          : {}),
        object,
        fieldMapping: mapping,
        ...(forms !== undefined ? { formMappings: forms } : {}),
        updatedAt: sql`clock_timestamp()`,
      })
      .where(and(eq(metaPages.orgId, ctx.orgId), eq(metaPages.id, id)))
      .returning();
    return pageViewOf(row!);
  });
}

export async function deleteMetaPage(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    await pageRowIn(scope, id);
    await scope.tx.delete(metaPages).where(and(eq(metaPages.orgId, ctx.orgId), eq(metaPages.id, id)));
  });
}

/** @throws 409 `meta_not_configured` */
export const notConfigured = (what: string) => new AppError(409, 'meta_not_configured', what);
