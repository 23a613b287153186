import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type Client, type Res, uniqueEmail } from './harness.js';

/**
 * The cases of the tenant-isolation walk (isolation.test.ts), by route: for each, the id-bearing
 * fields it tries and the kind of id each takes, the request built from one id per field, the
 * owner's status, and for lists and filters how to tell that a response holds the owner's record.
 */
export type Kind =
  | 'org'
  | 'ghlMigration'
  | 'user'
  | 'member'
  | 'invitation'
  | 'contact'
  | 'contact2'
  | 'lead'
  | 'company'
  | 'company2'
  | 'opportunity'
  | 'closed'
  | 'card'
  | 'pipeline'
  | 'stage'
  | 'stage2'
  | 'task'
  | 'doneTask'
  | 'note'
  | 'notification'
  | 'view'
  | 'import'
  | 'queuedImport'
  | 'doneImport'
  | 'mapping'
  | 'merge'
  | 'tag'
  | 'fieldKey'
  | 'retiredField'
  | 'customObject'
  | 'customRecord'
  | 'freshObject'
  | 'retiredObject'
  | 'apiKey'
  | 'role'
  | 'team'
  | 'auditCursor'
  | 'guardIncident'
  | 'session'
  | 'webhook'
  | 'restHook'
  | 'webhookDelivery'
  | 'deadDelivery'
  | 'form'
  | 'peopleForm'
  | 'consented'
  | 'file'
  | 'eraseContact'
  | 'product'
  | 'priceList'
  | 'price'
  | 'quote'
  | 'warehouse'
  | 'acceptedQuote'
  | 'orderDeal'
  | 'orderLine'
  | 'order'
  | 'workflow'
  | 'freshWorkflow'
  | 'run'
  | 'waitingRun'
  | 'failedRun'
  | 'meetingType'
  | 'freshMeetingType'
  | 'booking'
  | 'freshBooking'
  | 'channel'
  | 'freshChannel'
  | 'smsChannel'
  | 'providerChannel'
  | 'conversation'
  | 'message'
  | 'report'
  | 'freshReport'
  | 'dashboard'
  | 'freshDashboard'
  | 'reportSchedule'
  | 'freshReportSchedule'
  | 'reportMail'
  | 'sequence'
  | 'freshContactWorkflow'
  | 'step'
  | 'enrollment'
  | 'suppression'
  | 'messageTemplate'
  | 'freshMessageTemplate'
  | 'metaPage'
  | 'metaDelivery'
  | 'metaLead'
  | 'broadcast'
  | 'handoff'
  | 'handoffRecord'
  | 'opsAlert'
  | 'failedJob'
  | 'marker';
export type Ids = Partial<Record<Kind, string>>;
export type Tenant = { name: 'A' | 'B'; client: Client; email: string; marker: string; ids: Ids };
export type Req = {
  url: string;
  body?: unknown;
  upload?: { object: string; query: string };
  /** A file attached through the files pipeline (multipart to `url`). */
  file?: { name: string; content: string };
};
export type Case = {
  /** Each id-bearing field of the route's schema (`path.id`, `body.ids[]`, `filter.owner_id`) and its kind. */
  fields: Record<string, Kind>;
  /** Kinds this case uses up or changes: made anew, for each tenant, for this case alone. */
  fresh?: Kind[];
  /** The request, from one id per field (and the tenant's other ids). */
  send: (v: Record<string, string>, ids: Ids) => Req;
  /** The owner's status; 200 unless said. */
  ok?: number;
  /**
   * A list or a filter: the other tenant's id answers 200 (or 404) without A's records, and
   * `holds` tells whether a response holds the owner's record (true for the owner's request).
   */
  holds?: (res: Res, v: Record<string, string>) => boolean;
};

/** Routes that take no id and return nothing of a tenant beyond the caller's own, with the reason. */
export const NO_IDS: Record<string, string> = {
  'GET /api/openapi.json': 'the API document: public, no tenant data',
  'POST /api/v1/signup': 'creates a new organization; takes no id',
  'GET /api/v1/me': "the caller's own user and memberships; takes no id",
  'POST /api/v1/organizations': 'creates a new organization for the caller; takes no id',
  'POST /api/v1/password/forgot': 'public: takes an e-mail address, answers the same for every address',
  'POST /api/v1/password/reset': "public: takes a reset link's token (a secret, not an id)",
  'POST /api/v1/email/verify': "public: takes a verification link's token (a secret, not an id)",
  'POST /api/v1/me/email-verification': "sends the caller's own address a link; takes no id",
  'POST /api/v1/me/password': "changes the caller's own password; takes no id",
  'GET /api/v1/me/two-factor': "the caller's own two-factor state and their organization's rule; takes no id",
  'PUT /api/v1/security/two-factor-requirement':
    "sets the caller's own organization's two-factor rule (from the session); takes no id",
  // The duplicates list and its scan: their cursor is a rank and a key, not an id, and what they
  // read and queue is the caller's own organization's (the walk's marker check covers leaks).
  'GET /api/v1/contacts/duplicates': "the caller's organization's duplicate groups; takes no id",
  'GET /api/v1/companies/duplicates': "the caller's organization's duplicate groups; takes no id",
  'POST /api/v1/contacts/duplicates/scan': "queues a scan of the caller's own organization; takes no id",
  'POST /api/v1/companies/duplicates/scan': "queues a scan of the caller's own organization; takes no id",
  // The caller's own notifications in their current organization (recipient and tenant from the
  // session); the list and marking one read have cases below.
  'GET /api/v1/notifications/unread-count': "the caller's own unread count; takes no id",
  'POST /api/v1/notifications/read-all': "marks the caller's own notifications read; takes no id",
  'GET /api/v1/notifications/settings': "the caller's own settings; takes no id",
  'PUT /api/v1/notifications/settings': "changes the caller's own settings; takes no id",
  'GET /api/v1/notifications/stream': "the caller's own unread count as events; takes no id",
  'GET /api/v1/conversations/stream': "the caller's organization's inbox changes as events; takes no id",
  'GET /api/v1/guard/settings': "the caller's organization's guard budgets; takes no id",
  'PUT /api/v1/guard/settings': "sets the caller's organization's guard budgets (a role key, not an id)",
  // A download link's token is a signed capability (org, file, expiry), not an id: a token of
  // another organization is one that organization handed out (files.test.ts checks forged ones).
  'GET /api/v1/files/download/:token':
    'public: a signed, short-lived download token (a capability, not an id)',
  // The retention rules: the caller's own organization's rule of an object type (a path key).
  'GET /api/v1/retention-rules': "the caller's own organization's rules; takes no id",
  'PUT /api/v1/retention-rules/:object':
    "sets the caller's own organization's rule for an object type; takes no id",
  'DELETE /api/v1/retention-rules/:object': "removes the caller's own organization's rule; takes no id",
  'POST /api/v1/retention-rules/run': "applies the caller's own organization's rules; takes no id",
  // The home page (issue 20): the caller's own tasks, deals and views in their organization; the
  // walk's marker check covers leaks. Sample data is made in, and removed from, the caller's own.
  'GET /api/v1/home': "the caller's own home page in their organization; takes no id",
  'POST /api/v1/sample-data': "fills the caller's own organization with sample records; takes no id",
  'DELETE /api/v1/sample-data': "removes the caller's own organization's sample records; takes no id",
  'GET /api/v1/organization/settings':
    "the caller's own organization's settings (from the session); takes no id",
  'PATCH /api/v1/organization/settings': "changes the caller's own organization's settings; takes no id",
};
/** Routes that store a filter without running it, with the reason. */
export const FILTER_STORED: Record<string, string> = {
  'POST /api/v1/workflows':
    "a workflow's conditions are checked against the registry and run on its own tenant's records (RLS)",
  'PUT /api/v1/workflows/:id':
    "a workflow's conditions are checked against the registry and run on its own tenant's records (RLS)",
  'POST /api/v1/workflows/:id/test-run':
    "a draft definition's conditions, evaluated on the caller's own record",
  'POST /api/v1/workflows/:id/runs':
    "selects the workflow object's records of the caller's tenant; ids are tried through record_ids",
  'POST /api/v1/views': "a saved view's filter runs through the list routes, whose filter cases cover it",
  'PATCH /api/v1/views/:id':
    "a saved view's filter runs through the list routes, whose filter cases cover it",
};
/** A filter tree in a route's schema: its id fields are those of the route's object. */
export const FILTER = '(filter)';
/** The id fields each object's filter accepts (`filter.owner_id`...), from the registry. */
export const FILTER_IDS: Record<string, string[]> = {};
/** The custom object of the walk's world: the same key in both tenants, each its own (issue 21). */
export const WALK_OBJECT = 'walk_property';
export const objectOfRoute = (url: string) =>
  url.startsWith('/api/v1/records/:object')
    ? WALK_OBJECT
    : url.startsWith('/api/v1/pipelines/:id/board')
      ? 'opportunity'
      : url === '/api/v1/tasks'
        ? 'task'
        : RECORDS.find((r) => url.startsWith(`/api/v1/${r.collection}`))?.object;
/** Public routes whose id is a capability (the invitation link), tested on their own below. */
export const LINK_ROUTES = ['GET /api/v1/invitations/:id/preview', 'POST /api/v1/invitations/:id/accept'];

export const rowsOf = (res: Res) =>
  ((res.body as { data?: { id: string }[] } | undefined)?.data ?? []) as { id: string }[];
const listHolds = (kind: Kind) => (res: Res, v: Record<string, string>, ids?: Ids) =>
  rowsOf(res).some((r) => r.id === (v[kind] ?? ids?.[kind]));
const nonEmpty = (res: Res) => rowsOf(res).length > 0;
const csvRows = (res: Res) => res.text.split('\n').filter((l) => l.trim() !== '').length - 1;
export const NOWHERE = '00000000-0000-4000-8000-00000000beef';

/** The cases, by route. Filter cases of list routes are added from the registry in beforeAll. */
export const CASES: Record<string, Case[]> = {
  'PUT /api/v1/me/active-organization': [
    {
      fields: { 'body.organization_id': 'org' },
      ok: 204,
      send: (v) => ({
        url: '/api/v1/me/active-organization',
        body: { organization_id: v['body.organization_id'] },
      }),
    },
  ],
  'GET /api/v1/members': [
    {
      fields: {},
      send: () => ({ url: '/api/v1/members' }),
      holds: (r) => memberIds(r).includes(currentOwner?.ids.member ?? 'none'),
    },
  ],
  'PATCH /api/v1/members/:userId': [
    {
      fields: { 'path.userId': 'member' },
      fresh: ['member'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/members/${v['path.userId']}`, body: { role: 'viewer' } }),
    },
  ],
  'DELETE /api/v1/members/:userId': [
    {
      fields: { 'path.userId': 'member' },
      fresh: ['member'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/members/${v['path.userId']}` }),
    },
  ],
  'GET /api/v1/invitations': [
    { fields: {}, send: () => ({ url: '/api/v1/invitations' }), holds: (r) => holdsOwn(r, 'invitation') },
  ],
  'POST /api/v1/invitations': [
    {
      fields: {},
      ok: 201,
      send: () => ({ url: '/api/v1/invitations', body: { email: uniqueEmail('walk'), role: 'user' } }),
    },
  ],
  'DELETE /api/v1/invitations/:id': [
    {
      fields: { 'path.id': 'invitation' },
      fresh: ['invitation'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/invitations/${v['path.id']}` }),
    },
  ],
  'GET /api/v1/audit': [
    {
      // The actor filter and the cursor (an entry's id) of the audit log; the owner's page holds
      // its admin's entries older than the cursor.
      fields: { 'query.actor': 'user', 'query.cursor': 'auditCursor' },
      send: (v) => ({ url: `/api/v1/audit?actor=${v['query.actor']}&cursor=${v['query.cursor']}` }),
      holds: (r) =>
        rowsOf(r).some(
          (e) => (e as unknown as { actor: { id: string } }).actor.id === currentOwner?.ids.user,
        ),
    },
  ],
  'GET /api/v1/audit/export': [
    {
      fields: { 'query.actor': 'user' },
      send: (v) => ({ url: `/api/v1/audit/export?actor=${v['query.actor']}` }),
      holds: (r) => r.text.includes(`,${currentOwner?.ids.user},`),
    },
  ],
  'GET /api/v1/system-mail': [
    {
      fields: {},
      send: () => ({ url: '/api/v1/system-mail' }),
      // The outbox keeps the invitation e-mail of the tenant's invitation.
      holds: (r) => r.text.includes(`/accept-invitation/${currentOwner?.ids.invitation}`),
    },
  ],
  'GET /api/v1/me/sessions': [
    {
      fields: {},
      send: () => ({ url: '/api/v1/me/sessions' }),
      holds: (r) => holdsOwn(r, 'session'),
    },
  ],
  'DELETE /api/v1/me/sessions/:id': [
    {
      fields: { 'path.id': 'session' },
      fresh: ['session'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/me/sessions/${v['path.id']}` }),
    },
  ],
  'DELETE /api/v1/members/:userId/sessions': [
    {
      fields: { 'path.userId': 'member' },
      fresh: ['member'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/members/${v['path.userId']}/sessions` }),
    },
  ],
  'GET /api/v1/guard/incidents': [
    {
      // The cursor is an upper bound on incident ids (UUIDv7, time-ordered): the tenant's newest
      // audit entry, written after its incident, so the owner's page holds its incident.
      fields: { 'query.cursor': 'auditCursor' },
      send: (v) => ({ url: `/api/v1/guard/incidents?cursor=${v['query.cursor']}` }),
      holds: (r) => holdsOwn(r, 'guardIncident'),
    },
  ],
  'GET /api/v1/guard/incidents/:id': [
    {
      fields: { 'path.id': 'guardIncident' },
      send: (v) => ({ url: `/api/v1/guard/incidents/${v['path.id']}` }),
    },
  ],
  'POST /api/v1/guard/incidents/:id/resolve': [
    {
      fields: { 'path.id': 'guardIncident' },
      fresh: ['guardIncident'],
      send: (v) => ({
        url: `/api/v1/guard/incidents/${v['path.id']}/resolve`,
        body: { action: 'keep_locked', note: 'walk' },
      }),
    },
  ],
  'GET /api/v1/api-keys': [
    { fields: {}, send: () => ({ url: '/api/v1/api-keys' }), holds: (r) => holdsOwn(r, 'apiKey') },
  ],
  'POST /api/v1/api-keys': [
    {
      fields: {},
      ok: 201,
      send: () => ({ url: '/api/v1/api-keys', body: { name: 'Walk key', read_only: true } }),
    },
  ],
  'DELETE /api/v1/api-keys/:id': [
    {
      fields: { 'path.id': 'apiKey' },
      fresh: ['apiKey'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/api-keys/${v['path.id']}` }),
    },
  ],
  'PATCH /api/v1/tags/:id': [
    {
      fields: { 'path.id': 'tag' },
      send: (v) => ({
        url: `/api/v1/tags/${v['path.id']}`,
        body: { name: `tag-${randomBytes(3).toString('hex')}` },
      }),
    },
  ],
  'GET /api/v1/tags': [
    { fields: {}, send: () => ({ url: '/api/v1/tags' }), holds: (r) => holdsOwn(r, 'tag') },
  ],
  'GET /api/v1/objects': [
    { fields: {}, send: () => ({ url: '/api/v1/objects' }), holds: (r) => hasFieldKey(r) },
  ],
  'GET /api/v1/objects/:object': [
    { fields: {}, send: () => ({ url: '/api/v1/objects/contact' }), holds: (r) => hasFieldKey(r) },
  ],
  'POST /api/v1/objects/:object/fields': [
    {
      fields: {},
      ok: 201,
      send: () => ({
        url: '/api/v1/objects/contact/fields',
        body: { label: `Walk ${randomBytes(3).toString('hex')}`, type: 'text' },
      }),
    },
  ],
  'PATCH /api/v1/objects/:object/fields/:key': [
    {
      fields: { 'path.key': 'fieldKey' },
      send: (v) => ({
        url: `/api/v1/objects/contact/fields/${v['path.key']}`,
        body: { label: 'Relabelled' },
      }),
    },
  ],
  'POST /api/v1/objects/:object/fields/:key/retire': [
    {
      fields: { 'path.key': 'fieldKey' },
      fresh: ['fieldKey'],
      send: (v) => ({ url: `/api/v1/objects/contact/fields/${v['path.key']}/retire` }),
    },
  ],
  'POST /api/v1/objects/:object/fields/:key/unretire': [
    {
      fields: { 'path.key': 'retiredField' },
      fresh: ['retiredField'],
      send: (v) => ({ url: `/api/v1/objects/contact/fields/${v['path.key']}/unretire` }),
    },
  ],
  'DELETE /api/v1/objects/:object/fields/:key': [
    {
      fields: { 'path.key': 'retiredField' },
      fresh: ['retiredField'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/objects/contact/fields/${v['path.key']}` }),
    },
  ],
  'GET /api/v1/views': [
    { fields: {}, send: () => ({ url: '/api/v1/views?object=contact' }), holds: (r) => holdsOwn(r, 'view') },
  ],
  'POST /api/v1/views': [
    {
      fields: {},
      ok: 201,
      send: () => ({
        url: '/api/v1/views',
        body: { object: 'contact', name: 'Walk view', visibility: 'shared' },
      }),
    },
  ],
  'PATCH /api/v1/views/:id': [
    {
      fields: { 'path.id': 'view' },
      send: (v) => ({ url: `/api/v1/views/${v['path.id']}`, body: { name: 'Renamed view' } }),
    },
  ],
  'DELETE /api/v1/views/:id': [
    {
      fields: { 'path.id': 'view' },
      fresh: ['view'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/views/${v['path.id']}` }),
    },
  ],
  'GET /api/v1/pipelines': [
    { fields: {}, send: () => ({ url: '/api/v1/pipelines' }), holds: (r) => holdsOwn(r, 'pipeline') },
  ],
  'POST /api/v1/pipelines': [
    {
      fields: {},
      ok: 201,
      send: () => ({ url: '/api/v1/pipelines', body: { name: `Walk ${randomBytes(3).toString('hex')}` } }),
    },
  ],
  'GET /api/v1/pipelines/:id': [
    { fields: { 'path.id': 'pipeline' }, send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}` }) },
  ],
  'PATCH /api/v1/pipelines/:id': [
    {
      fields: { 'path.id': 'pipeline' },
      send: (v) => ({
        url: `/api/v1/pipelines/${v['path.id']}`,
        body: { name: `Renamed ${randomBytes(3).toString('hex')}` },
      }),
    },
  ],
  'DELETE /api/v1/pipelines/:id': [
    {
      fields: { 'path.id': 'pipeline' },
      fresh: ['pipeline'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}` }),
    },
  ],
  'POST /api/v1/pipelines/:id/stages': [
    {
      fields: { 'path.id': 'pipeline' },
      fresh: ['pipeline'],
      ok: 201,
      send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}/stages`, body: { name: 'Walk stage' } }),
    },
  ],
  'PATCH /api/v1/pipelines/:id/stages/:stageId': [
    {
      fields: { 'path.id': 'pipeline', 'path.stageId': 'stage' },
      send: (v) => ({
        url: `/api/v1/pipelines/${v['path.id']}/stages/${v['path.stageId']}`,
        body: { probability: 30 },
      }),
    },
  ],
  'PUT /api/v1/pipelines/:id/stages/order': [
    {
      fields: { 'path.id': 'pipeline', 'body.stage_ids[]': 'stage' },
      fresh: ['pipeline'],
      send: (v, ids) => ({
        url: `/api/v1/pipelines/${v['path.id']}/stages/order`,
        body: { stage_ids: [ids.stage2, v['body.stage_ids[]']] },
      }),
    },
  ],
  'DELETE /api/v1/pipelines/:id/stages/:stageId': [
    {
      fields: { 'path.id': 'pipeline', 'path.stageId': 'stage', 'query.move_to': 'stage2' },
      fresh: ['pipeline', 'opportunity'],
      send: (v) => ({
        url: `/api/v1/pipelines/${v['path.id']}/stages/${v['path.stageId']}?move_to=${v['query.move_to']}`,
      }),
    },
  ],
  'POST /api/v1/opportunities/:id/move': [
    {
      fields: { 'path.id': 'opportunity', 'body.stage_id': 'stage2', 'body.after_id': 'card' },
      fresh: ['opportunity'],
      send: (v) => ({
        url: `/api/v1/opportunities/${v['path.id']}/move`,
        body: { stage_id: v['body.stage_id'], after_id: v['body.after_id'] },
      }),
    },
  ],
  'POST /api/v1/opportunities/:id/close': [
    {
      fields: { 'path.id': 'opportunity' },
      fresh: ['opportunity'],
      send: (v) => ({ url: `/api/v1/opportunities/${v['path.id']}/close`, body: { status: 'lost' } }),
    },
  ],
  'POST /api/v1/opportunities/:id/reopen': [
    {
      fields: { 'path.id': 'closed', 'body.stage_id': 'stage2' },
      fresh: ['closed'],
      send: (v) => ({
        url: `/api/v1/opportunities/${v['path.id']}/reopen`,
        body: { stage_id: v['body.stage_id'] },
      }),
    },
  ],
  'POST /api/v1/contacts/:id/convert': [
    {
      fields: {
        'path.id': 'lead',
        'body.opportunity.pipeline_id': 'pipeline',
        'body.opportunity.stage_id': 'stage',
        'body.company.id': 'company',
      },
      fresh: ['lead'],
      send: (v) => ({
        url: `/api/v1/contacts/${v['path.id']}/convert`,
        body: {
          opportunity: {
            pipeline_id: v['body.opportunity.pipeline_id'],
            stage_id: v['body.opportunity.stage_id'],
          },
          company: { id: v['body.company.id'] },
        },
      }),
    },
  ],
  'GET /api/v1/opportunities/:id/history': [
    {
      fields: { 'path.id': 'opportunity' },
      send: (v) => ({ url: `/api/v1/opportunities/${v['path.id']}/history` }),
    },
  ],
  'GET /api/v1/pipelines/:id/board': [
    { fields: { 'path.id': 'pipeline' }, send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}/board` }) },
  ],
  'GET /api/v1/pipelines/:id/board/:stageId': [
    {
      fields: { 'path.id': 'pipeline', 'path.stageId': 'stage' },
      send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}/board/${v['path.stageId']}` }),
    },
  ],
  'GET /api/v1/pipelines/:id/report': [
    {
      fields: { 'path.id': 'pipeline', 'query.owner_id': 'user' },
      send: (v) => ({ url: `/api/v1/pipelines/${v['path.id']}/report?owner_id=${v['query.owner_id']}` }),
      holds: (r) => /"count":[1-9]/.test(r.text),
    },
  ],
  'POST /api/v1/tasks': [
    {
      fields: { 'body.assignee_id': 'user', 'body.link.id': 'contact' },
      ok: 201,
      send: (v) => ({
        url: '/api/v1/tasks',
        body: {
          title: 'Walk task',
          assignee_id: v['body.assignee_id'],
          link: { object: 'contact', id: v['body.link.id'] },
        },
      }),
    },
  ],
  'POST /api/v1/me/recent-views': [
    {
      fields: { 'body.id': 'contact' },
      ok: 204,
      send: (v) => ({ url: '/api/v1/me/recent-views', body: { object: 'contact', id: v['body.id'] } }),
    },
  ],
  'GET /api/v1/tasks': [
    {
      fields: { 'query.assignee': 'user', 'query.linked_id': 'contact' },
      send: (v) => ({
        url: `/api/v1/tasks?assignee=${v['query.assignee']}&linked_object=contact&linked_id=${v['query.linked_id']}`,
      }),
      holds: (r) => holdsOwn(r, 'task'),
    },
  ],
  'GET /api/v1/tasks/groups': [
    {
      fields: { 'query.assignee': 'user' },
      send: (v) => ({ url: `/api/v1/tasks/groups?assignee=${v['query.assignee']}` }),
      holds: (r) => JSON.stringify(r.body).includes(currentOwner?.ids.task ?? 'none'),
    },
  ],
  'GET /api/v1/tasks/:id': [
    { fields: { 'path.id': 'task' }, send: (v) => ({ url: `/api/v1/tasks/${v['path.id']}` }) },
  ],
  'PATCH /api/v1/tasks/:id': [
    {
      fields: { 'path.id': 'task', 'body.assignee_id': 'member', 'body.link.id': 'company' },
      fresh: ['task'],
      send: (v) => ({
        url: `/api/v1/tasks/${v['path.id']}`,
        body: { assignee_id: v['body.assignee_id'], link: { object: 'company', id: v['body.link.id'] } },
      }),
    },
  ],
  'POST /api/v1/tasks/:id/complete': [
    {
      fields: { 'path.id': 'task' },
      fresh: ['task'],
      send: (v) => ({ url: `/api/v1/tasks/${v['path.id']}/complete` }),
    },
  ],
  'POST /api/v1/tasks/:id/reopen': [
    {
      fields: { 'path.id': 'task' },
      fresh: ['task'],
      send: (v) => ({ url: `/api/v1/tasks/${v['path.id']}/reopen` }),
    },
  ],
  'POST /api/v1/tasks/:id/restore': [
    {
      fields: { 'path.id': 'task' },
      fresh: ['task'],
      send: (v) => ({ url: `/api/v1/tasks/${v['path.id']}/restore` }),
    },
  ],
  'DELETE /api/v1/tasks/:id': [
    {
      fields: { 'path.id': 'task' },
      fresh: ['task'],
      send: (v) => ({ url: `/api/v1/tasks/${v['path.id']}` }),
    },
  ],
  'POST /api/v1/notes': [
    {
      fields: { 'body.id': 'contact', 'body.related[].id': 'company' },
      ok: 201,
      send: (v) => ({
        url: '/api/v1/notes',
        // A logged call on the contact and a related company (issue 20).
        body: {
          object: 'contact',
          id: v['body.id'],
          body: '<p>Walk</p>',
          kind: 'call',
          related: [{ object: 'company', id: v['body.related[].id'] }],
        },
      }),
    },
  ],
  'GET /api/v1/notes': [
    {
      fields: { 'query.id': 'contact' },
      send: (v) => ({ url: `/api/v1/notes?object=contact&id=${v['query.id']}` }),
      holds: (r) => holdsOwn(r, 'note'),
    },
  ],
  'GET /api/v1/notifications': [
    {
      fields: {},
      send: () => ({ url: '/api/v1/notifications?limit=100' }),
      holds: (r) => rowsOf(r).some((n) => n.id === (currentOwner?.ids.notification ?? 'none')),
    },
  ],
  'POST /api/v1/notifications/:id/read': [
    {
      fields: { 'path.id': 'notification' },
      send: (v) => ({ url: `/api/v1/notifications/${v['path.id']}/read` }),
    },
  ],
  'GET /api/v1/notes/:id': [
    { fields: { 'path.id': 'note' }, send: (v) => ({ url: `/api/v1/notes/${v['path.id']}` }) },
  ],
  'PATCH /api/v1/notes/:id': [
    {
      fields: { 'path.id': 'note' },
      send: (v) => ({ url: `/api/v1/notes/${v['path.id']}`, body: { body: '<p>Edited</p>' } }),
    },
  ],
  'DELETE /api/v1/notes/:id': [
    {
      fields: { 'path.id': 'note' },
      fresh: ['note'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/notes/${v['path.id']}` }),
    },
  ],
  'GET /api/v1/search': [
    {
      fields: { 'query.q': 'marker' },
      send: (v) => ({ url: `/api/v1/search?q=${v['query.q']}` }),
      holds: nonEmpty,
    },
  ],
  'GET /api/v1/imports': [
    { fields: {}, send: () => ({ url: '/api/v1/imports' }), holds: (r) => holdsOwn(r, 'import') },
  ],
  'POST /api/v1/imports': [
    {
      fields: { 'query.mapping_id': 'mapping' },
      ok: 201,
      send: (v) => ({
        url: '',
        upload: { object: 'contact', query: `&mapping_id=${v['query.mapping_id']}` },
      }),
    },
  ],
  'GET /api/v1/imports/:id': [
    { fields: { 'path.id': 'import' }, send: (v) => ({ url: `/api/v1/imports/${v['path.id']}` }) },
  ],
  'PATCH /api/v1/imports/:id': [
    {
      fields: { 'path.id': 'import', 'body.mapping_id': 'mapping' },
      fresh: ['import'],
      send: (v) => ({ url: `/api/v1/imports/${v['path.id']}`, body: { mapping_id: v['body.mapping_id'] } }),
    },
  ],
  'GET /api/v1/imports/:id/preview': [
    { fields: { 'path.id': 'import' }, send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/preview` }) },
  ],
  'POST /api/v1/imports/:id/columns/:index/field': [
    {
      fields: { 'path.id': 'import' },
      fresh: ['import'],
      send: (v) => ({
        url: `/api/v1/imports/${v['path.id']}/columns/1/field`,
        body: { type: 'text', label: `Col ${randomBytes(3).toString('hex')}` },
      }),
    },
  ],
  'POST /api/v1/imports/:id/start': [
    {
      fields: { 'path.id': 'import' },
      fresh: ['import'],
      send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/start` }),
    },
  ],
  'POST /api/v1/imports/:id/cancel': [
    {
      fields: { 'path.id': 'queuedImport' },
      fresh: ['queuedImport'],
      send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/cancel` }),
    },
  ],
  'POST /api/v1/imports/:id/revert': [
    {
      fields: { 'path.id': 'doneImport' },
      fresh: ['doneImport'],
      send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/revert` }),
    },
  ],
  'GET /api/v1/imports/:id/rows': [
    { fields: { 'path.id': 'import' }, send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/rows` }) },
  ],
  'GET /api/v1/imports/:id/errors.csv': [
    { fields: { 'path.id': 'import' }, send: (v) => ({ url: `/api/v1/imports/${v['path.id']}/errors.csv` }) },
  ],
  'GET /api/v1/import-mappings': [
    { fields: {}, send: () => ({ url: '/api/v1/import-mappings' }), holds: (r) => holdsOwn(r, 'mapping') },
  ],
  'POST /api/v1/import-mappings': [
    {
      fields: { 'body.import_id': 'import' },
      ok: 201,
      send: (v) => ({
        url: '/api/v1/import-mappings',
        body: { name: `Walk ${randomBytes(3).toString('hex')}`, import_id: v['body.import_id'] },
      }),
    },
  ],
  'GET /api/v1/import-mappings/:id': [
    { fields: { 'path.id': 'mapping' }, send: (v) => ({ url: `/api/v1/import-mappings/${v['path.id']}` }) },
  ],
  'DELETE /api/v1/import-mappings/:id': [
    {
      fields: { 'path.id': 'mapping' },
      fresh: ['mapping'],
      ok: 204,
      send: (v) => ({ url: `/api/v1/import-mappings/${v['path.id']}` }),
    },
  ],
  'POST /api/v1/merges/:id/undo': [
    {
      fields: { 'path.id': 'merge' },
      fresh: ['merge'],
      send: (v) => ({ url: `/api/v1/merges/${v['path.id']}/undo` }),
    },
  ],
  'GET /api/v1/companies/:id/contacts': [
    {
      fields: { 'path.id': 'company' },
      send: (v) => ({ url: `/api/v1/companies/${v['path.id']}/contacts` }),
      holds: (r) => holdsOwn(r, 'contact'),
    },
  ],
};

/** The record routes every object has, with the object's own kinds. */
export const RECORDS = [
  { object: 'contact', collection: 'contacts', kind: 'contact', other: 'contact2' },
  { object: 'company', collection: 'companies', kind: 'company', other: 'company2' },
  { object: 'opportunity', collection: 'opportunities', kind: 'opportunity', other: 'closed' },
  { object: 'product', collection: 'products', kind: 'product', other: 'product' },
] as const;
for (const { object, collection, kind, other } of RECORDS) {
  const base = `/api/v1/${collection}`;
  const p = (v: Record<string, string>) => `${base}/${v['path.id']}`;
  const refs = referenceBody(object);
  CASES[`POST ${base}`] = [
    { fields: refs.fields, ok: 201, send: (v) => ({ url: base, body: refs.body(v, 'Walk') }) },
  ];
  CASES[`GET ${base}/:id`] = [{ fields: { 'path.id': kind }, send: (v) => ({ url: p(v) }) }];
  const updateFields = Object.fromEntries(
    Object.entries(refs.fields).filter(([f]) => !['body.pipeline_id', 'body.stage_id'].includes(f)),
  );
  CASES[`PATCH ${base}/:id`] = [
    {
      fields: { 'path.id': kind, ...updateFields },
      fresh: [kind],
      send: (v) => ({ url: p(v), body: refs.body(v, 'Walked') }),
    },
  ];
  CASES[`POST ${base}/:id/archive`] = [
    { fields: { 'path.id': kind }, fresh: [kind], send: (v) => ({ url: `${p(v)}/archive` }) },
  ];
  CASES[`POST ${base}/:id/restore`] = [
    { fields: { 'path.id': kind }, fresh: [kind], send: (v) => ({ url: `${p(v)}/restore` }) },
  ];
  CASES[`DELETE ${base}/:id`] = [
    { fields: { 'path.id': kind }, fresh: [kind], ok: 204, send: (v) => ({ url: p(v) }) },
  ];
  CASES[`GET ${base}/:id/timeline`] = [
    { fields: { 'path.id': kind }, send: (v) => ({ url: `${p(v)}/timeline` }) },
  ];
  CASES[`POST ${base}/bulk`] = [
    {
      fields: { 'body.ids[]': kind, 'body.owner_id': 'user' },
      send: (v) => ({
        url: `${base}/bulk`,
        body: { ids: [v['body.ids[]']], action: 'assign_owner', owner_id: v['body.owner_id'] },
      }),
      holds: (r) => (r.body as { matched?: number } | undefined)?.matched === 1,
    },
  ];
  if (object === 'contact' || object === 'company') {
    CASES[`POST ${base}/duplicates/dismiss`] = [
      {
        fields: { 'body.ids[]': kind },
        fresh: [kind, other],
        send: (v, ids) => ({
          url: `${base}/duplicates/dismiss`,
          body: { ids: [v['body.ids[]'], ids[other]] },
        }),
      },
    ];
    CASES[`POST ${base}/merge`] = [
      {
        fields: { 'body.survivor_id': kind, 'body.merged_ids[]': other, 'body.values.*': other },
        fresh: [kind, other],
        send: (v) => ({
          url: `${base}/merge`,
          body: {
            survivor_id: v['body.survivor_id'],
            merged_ids: [v['body.merged_ids[]']],
            values: { notes: v['body.values.*'] },
          },
        }),
      },
    ];
  }
  // The list routes: no id of their own; filter cases for each id field are added in beforeAll.
  CASES[`GET ${base}`] = [{ fields: {}, send: () => ({ url: base }), holds: (r) => holdsOwn(r, kind) }];
  CASES[`POST ${base}/query`] = [
    {
      fields: {},
      send: () => ({ url: `${base}/query`, body: { limit: 200 } }),
      holds: (r) => holdsOwn(r, kind),
    },
  ];
  // The count: no id of its own (a number tells nothing of whose); its filter cases judge it.
  CASES[`GET ${base}/count`] = [{ fields: {}, send: () => ({ url: `${base}/count` }) }];
  CASES[`GET ${base}/export`] = [
    {
      fields: {},
      send: () => ({ url: `${base}/export` }),
      holds: (r) => r.text.includes(currentOwner?.ids[kind] ?? 'none'),
    },
  ];
}

/** The id-bearing body fields of a record's create and update. */
function referenceBody(object: string): {
  fields: Record<string, Kind>;
  body: (v: Record<string, string>, name: string) => unknown;
} {
  if (object === 'contact')
    return {
      fields: { 'body.owner_id': 'user', 'body.companies[].id': 'company' },
      body: (v, name) => ({
        first_name: name,
        owner_id: v['body.owner_id'],
        companies: [{ id: v['body.companies[].id'] }],
      }),
    };
  if (object === 'product')
    return {
      fields: { 'body.owner_id': 'user' },
      body: (v, name) => ({
        sku: `${name}-${randomBytes(4).toString('hex')}`,
        name,
        owner_id: v['body.owner_id'],
      }),
    };
  if (object === 'company')
    return {
      fields: { 'body.owner_id': 'user', 'body.parent_id': 'company2' },
      body: (v, name) => ({
        name: `${name} ${randomBytes(3).toString('hex')}`,
        owner_id: v['body.owner_id'],
        parent_id: v['body.parent_id'],
      }),
    };
  return {
    fields: {
      'body.owner_id': 'user',
      'body.contact_id': 'contact',
      'body.company_id': 'company',
      'body.pipeline_id': 'pipeline',
      'body.stage_id': 'stage',
    },
    body: (v, name) => ({
      title: name,
      owner_id: v['body.owner_id'],
      contact_id: v['body.contact_id'],
      company_id: v['body.company_id'],
      ...(v['body.pipeline_id'] ? { pipeline_id: v['body.pipeline_id'], stage_id: v['body.stage_id'] } : {}),
    }),
  };
}

/** The tenant whose request is being judged (for `holds`, which looks for that tenant's records). */
let currentOwner: Tenant | undefined;
/** Sets the tenant whose records `holds` looks for. */
export const judging = (tn: Tenant) => {
  currentOwner = tn;
};
/** The judged tenant's id of a kind. */
export const ownedId = (kind: Kind) => currentOwner?.ids[kind];
export const holdsOwn = (res: Res, kind: Kind) => listHolds(kind)(res, {}, currentOwner?.ids);
const memberIds = (res: Res) =>
  rowsOf(res).map((r) => (r as unknown as { user_id?: string; id: string }).user_id ?? r.id);
const hasFieldKey = (res: Res) => JSON.stringify(res.body).includes(`"${currentOwner?.ids.fieldKey}"`);

/** The id fields a list filter accepts for an object, from the registry, and the kind each takes. */
export async function addFilterCases(
  client: Client,
  object: { object: string; collection: string; kind: Kind; route?: string },
) {
  const res = await client.get(`/api/v1/objects/${object.object}`);
  const kindOfField: Record<string, Kind> = {
    id: object.kind,
    owner_id: 'user',
    created_by: 'user',
    updated_by: 'user',
    companies: 'company',
    parent_id: 'company',
    contact_id: 'contact',
    company_id: 'company',
    pipeline_id: 'pipeline',
    stage_id: 'stage',
    company: 'company', // the walk's custom object's relation field
    people: 'contact', // and its many-to-many relation to contacts
  };
  const idFields = (res.body.fields as { key: string; type: string; filterable: boolean }[]).filter(
    (f) => f.filterable && ['user', 'relation', 'uuid'].includes(f.type),
  );
  FILTER_IDS[object.object] = idFields.map((f) => `filter.${f.key}`);
  const base = `/api/v1/${object.collection}`;
  const route = object.route ?? base;
  const filter = (key: string, value: string) => ({ field: key, op: 'eq', value });
  for (const field of idFields) {
    const kind = kindOfField[field.key];
    expect(kind, `${object.object}.${field.key}: an id field a filter accepts; give it a kind`).toBeDefined();
    const f = `filter.${field.key}`;
    const q = (v: Record<string, string>) => encodeURIComponent(JSON.stringify(filter(field.key, v[f]!)));
    const fields = { [f]: kind! };
    CASES[`GET ${route}`]!.push({
      fields,
      send: (v) => ({ url: `${base}?filter=${q(v)}` }),
      holds: nonEmpty,
    });
    CASES[`POST ${route}/query`]!.push({
      fields,
      send: (v) => ({ url: `${base}/query`, body: { filter: filter(field.key, v[f]!) } }),
      holds: nonEmpty,
    });
    CASES[`GET ${route}/export`]!.push({
      fields,
      send: (v) => ({ url: `${base}/export?filter=${q(v)}` }),
      holds: (r) => csvRows(r) > 0,
    });
    CASES[`GET ${route}/count`]!.push({
      fields,
      send: (v) => ({ url: `${base}/count?filter=${q(v)}` }),
      holds: (r) => ((r.body as { count?: number } | undefined)?.count ?? 0) > 0,
    });
    CASES[`POST ${route}/bulk`]!.push({
      fields,
      send: (v) => ({
        url: `${base}/bulk`,
        body: { filter: filter(field.key, v[f]!), action: 'add_tags', tags: ['walked'] },
      }),
      holds: (r) => ((r.body as { matched?: number } | undefined)?.matched ?? 0) > 0,
    });
    if (object.object === WALK_OBJECT) {
      // The custom object's board takes the list's filter (issue 21).
      const total = (r: Res) =>
        ((r.body as { columns?: { count: number }[] }).columns ?? []).reduce((n, c) => n + c.count, 0);
      CASES[`GET ${route}/board`]!.push({
        fields,
        send: (v) => ({ url: `${base}/board?field=phase&filter=${q(v)}` }),
        holds: (r) => total(r) > 0,
      });
      CASES[`GET ${route}/board/column`]!.push({
        fields,
        send: (v) => ({ url: `${base}/board/column?field=phase&value=open&filter=${q(v)}` }),
        holds: (r) => ((r.body as { cards?: unknown[] }).cards ?? []).length > 0,
      });
    }
    if (object.object !== 'opportunity') continue;
    const board = (v: Record<string, string>) => `/api/v1/pipelines/${v['path.id']}/board`;
    CASES['GET /api/v1/pipelines/:id/board']!.push({
      fields: { 'path.id': 'pipeline', ...fields },
      send: (v) => ({ url: `${board(v)}?filter=${q(v)}` }),
      holds: (r) => ((r.body as { columns?: { count: number }[] }).columns ?? []).some((c) => c.count > 0),
    });
    CASES['GET /api/v1/pipelines/:id/board/:stageId']!.push({
      fields: { 'path.id': 'pipeline', 'path.stageId': 'stage', ...fields },
      send: (v) => ({ url: `${board(v)}/${v['path.stageId']}?filter=${q(v)}` }),
      holds: (r) => ((r.body as { cards?: unknown[] }).cards ?? []).length > 0,
    });
  }
  return idFields.length;
}

/**
 * The id fields `GET /api/v1/tasks`'s filter accepts (the registry's task; the tasks list takes
 * the query language like every list), each tried with the other tenant's id. The owner's open
 * task answers every filter but `completed_by`, which its done task answers.
 */
export async function addTaskFilterCases(client: Client) {
  const res = await client.get('/api/v1/objects/task');
  const kindOfField: Record<string, Kind> = {
    id: 'task',
    assignee_id: 'user',
    completed_by: 'user',
    created_by: 'user',
    updated_by: 'user',
    linked_id: 'contact',
  };
  const idFields = (res.body.fields as { key: string; type: string; filterable: boolean }[]).filter(
    (f) => f.filterable && ['user', 'relation', 'uuid'].includes(f.type),
  );
  FILTER_IDS.task = idFields.map((f) => `filter.${f.key}`);
  for (const field of idFields) {
    const kind = kindOfField[field.key];
    expect(kind, `task.${field.key}: an id field the tasks filter accepts; give it a kind`).toBeDefined();
    const f = `filter.${field.key}`;
    const q = (v: Record<string, string>) =>
      encodeURIComponent(JSON.stringify({ field: field.key, op: 'eq', value: v[f]! }));
    CASES['GET /api/v1/tasks']!.push({
      fields: { [f]: kind! },
      // Done tasks are listed only when asked for (the list's default is `status=open`).
      send: (v) => ({ url: `/api/v1/tasks?status=all&filter=${q(v)}` }),
      holds: (r) => holdsOwn(r, field.key === 'completed_by' ? 'doneTask' : 'task'),
    });
  }
  return idFields.length;
}
