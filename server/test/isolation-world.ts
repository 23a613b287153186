import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { recordIntegration } from '../src/modules/ops/integration-health.service.js';
import type { SyncJobQueue } from '../src/platform/jobs/sync-job-queue.js';
import { type Ids, type Kind, type Tenant, WALK_OBJECT } from './isolation-cases.js';
import {
  addMember,
  PASSWORD,
  type Res,
  signUp,
  type TestApp,
  uniqueEmail,
  uploadCsv,
  uploadFile,
  waitForImport,
} from './kit/index.js';

/**
 * The records of a tenant for the isolation walk: `seed` signs up a tenant and makes one of each
 * kind; `make` makes one more of a kind (the fresh records a case uses up). Imports whose id is put
 * in `heldImports` stay queued (the test app delays their job).
 */
export function isolationWorld(t: TestApp, heldImports: Set<string>) {
  const walkJobsRun = new Set<string>();
  /** Makes one record (or a few related ones) of a kind in a tenant; returns the ids it made. */
  async function make(tn: Tenant, kind: Kind, ids: Ids = tn.ids): Promise<Ids> {
    const c = tn.client;
    const ok = (res: Res, what: string) => {
      if (res.status >= 300) throw new Error(`${tn.name}: making ${what} failed: ${res.status} ${res.text}`);
      return res.body as { id: string };
    };
    switch (kind) {
      case 'member':
        return { member: (await addMember(t, c, 'user')).userId };
      case 'invitation':
        return {
          invitation: ok(await c.post('/api/v1/invitations', { email: uniqueEmail(), role: 'user' }), kind)
            .id,
        };
      case 'company': {
        const company = ok(
          await c.post('/api/v1/companies', {
            name: `${tn.marker} Corp ${randomBytes(2).toString('hex')}`,
            owner_id: ids.user,
            tags: [`${tn.marker}-tag`],
          }),
          kind,
        );
        return { company: company.id };
      }
      case 'company2':
        return {
          company2: ok(
            await c.post('/api/v1/companies', {
              name: `${tn.marker} Sub ${randomBytes(2).toString('hex')}`,
              parent_id: ids.company,
              owner_id: ids.user,
            }),
            kind,
          ).id,
        };
      case 'contact':
      case 'contact2':
      case 'lead':
        return {
          [kind]: ok(
            await c.post('/api/v1/contacts', {
              first_name: tn.marker,
              last_name: kind,
              emails: [{ value: uniqueEmail(tn.marker.toLowerCase()) }],
              owner_id: ids.user,
              companies: [{ id: ids.company }],
              ...(kind === 'lead' ? { lead_status: 'new' } : {}),
            }),
            kind,
          ).id,
        };
      case 'opportunity':
      case 'closed':
      case 'card': {
        const opp = ok(
          await c.post('/api/v1/opportunities', {
            title: `${tn.marker} deal`,
            owner_id: ids.user,
            contact_id: ids.contact,
            company_id: ids.company,
            pipeline_id: ids.pipeline,
            stage_id: kind === 'card' ? ids.stage2 : ids.stage,
          }),
          kind,
        );
        if (kind === 'closed')
          ok(await c.post(`/api/v1/opportunities/${opp.id}/close`, { status: 'lost' }), 'close');
        return { [kind]: opp.id };
      }
      case 'pipeline': {
        const pipeline = ok(
          await c.post('/api/v1/pipelines', {
            name: `${tn.marker} ${randomBytes(3).toString('hex')}`,
            stages: [{ name: 'One' }, { name: 'Two' }],
          }),
          kind,
        ) as unknown as { id: string; stages: { id: string; kind: string }[] };
        const open = pipeline.stages.filter((s) => s.kind === 'open');
        return { pipeline: pipeline.id, stage: open[0]!.id, stage2: open[1]!.id };
      }
      case 'task':
        return {
          task: ok(
            await c.post('/api/v1/tasks', {
              title: `${tn.marker} task`,
              assignee_id: ids.user,
              link: { object: 'contact', id: ids.contact },
            }),
            kind,
          ).id,
        };
      case 'doneTask': {
        const done = ok(
          await c.post('/api/v1/tasks', {
            title: `${tn.marker} done task`,
            assignee_id: ids.user,
            link: { object: 'contact', id: ids.contact },
          }),
          kind,
        ).id;
        ok(await c.post(`/api/v1/tasks/${done}/complete`, {}), kind);
        return { doneTask: done };
      }
      case 'product':
        return {
          product: ok(
            await c.post('/api/v1/products', {
              sku: `${tn.marker}-${randomBytes(3).toString('hex')}`,
              name: `${tn.marker} product`,
              owner_id: ids.user,
            }),
            kind,
          ).id,
        };
      case 'priceList':
        return {
          priceList: ok(
            await c.post('/api/v1/price-lists', { name: `${tn.marker} euros`, currency: 'EUR' }),
            kind,
          ).id,
        };
      case 'price':
        return {
          price: ok(
            await c.post(`/api/v1/price-lists/${ids.priceList}/prices`, {
              product_id: ids.product,
              unit_price: '120.50',
            }),
            kind,
          ).id,
        };
      case 'quote':
        return {
          quote: ok(
            await c.post('/api/v1/quotes', {
              opportunity_id: ids.opportunity,
              title: `${tn.marker} quote`,
              recipient_email: 'walk-customer@example.com',
              lines: [{ product_id: ids.product, quantity: '2', unit_price: '120.50' }],
            }),
            kind,
          ).id,
        };
      case 'warehouse': {
        const warehouse = ok(
          await c.post('/api/v1/warehouses', {
            name: `${tn.marker} store ${randomBytes(2).toString('hex')}`,
          }),
          kind,
        ).id;
        ok(
          await c.post('/api/v1/stock/adjustments', {
            warehouse_id: warehouse,
            product_id: ids.product,
            change: '50',
            reason: 'walk stock',
          }),
          kind,
        );
        return { warehouse };
      }
      case 'acceptedQuote': {
        // A deal of its own (converting closes it won), quoted, sent and accepted online.
        const opp = ok(
          await c.post('/api/v1/opportunities', { title: `${tn.marker} order deal`, currency: 'EUR' }),
          kind,
        ).id;
        const quote = ok(
          await c.post('/api/v1/quotes', {
            opportunity_id: opp,
            price_list_id: ids.priceList,
            lines: [{ product_id: ids.product, quantity: '1', unit_price: '10' }],
          }),
          kind,
        ).id;
        const sent = ok(
          await c.post(`/api/v1/quotes/${quote}/send`, { to: 'walk-buyer@example.com' }),
          kind,
        ) as {
          id: string;
          public_url?: string;
        };
        const path = new URL(sent.public_url!).pathname;
        ok(await t.client().post(`${path}/accept`, { name: 'Walk Buyer' }), kind);
        ok(
          await c.put('/api/v1/exchange-rates', { currency: 'EUR', valid_on: '2020-01-01', rate: '1.1' }),
          kind,
        );
        return { acceptedQuote: quote, orderDeal: opp };
      }
      case 'order': {
        const made = await make(tn, 'acceptedQuote', ids);
        const order = ok(await c.post(`/api/v1/quotes/${made.acceptedQuote}/order`, {}), kind) as {
          id: string;
          lines?: { id: string }[];
        };
        return { order: order.id, orderLine: order.lines![0]!.id, orderDeal: made.orderDeal! };
      }
      case 'note':
        return {
          note: ok(
            await c.post('/api/v1/notes', {
              object: 'contact',
              id: ids.contact,
              body: `<p>${tn.marker} note</p>`,
            }),
            kind,
          ).id,
        };
      case 'notification': {
        // A notification of the tenant's admin: another member assigns them a task.
        const member = await addMember(t, c, 'user');
        const task = ok(
          await member.client.post('/api/v1/tasks', { title: `${tn.marker} for you`, assignee_id: ids.user }),
          kind,
        );
        await t.drain();
        const mine = await c.get('/api/v1/notifications?limit=100');
        const found = (mine.body as { data: { id: string; record: { id: string } }[] }).data.find(
          (n) => n.record.id === task.id,
        );
        if (!found) throw new Error(`${tn.name}: no notification for task ${task.id}: ${mine.text}`);
        return { notification: found.id };
      }
      case 'view':
        return {
          view: ok(
            await c.post('/api/v1/views', {
              object: 'contact',
              name: `${tn.marker} view`,
              visibility: 'shared',
            }),
            kind,
          ).id,
        };
      case 'import':
      case 'queuedImport':
      case 'doneImport': {
        const id = ok(
          (await uploadCsv(t, c, 'contact', 'walk.csv', `First Name,Notes\n${tn.marker},x\n`)) as Res,
          kind,
        ).id;
        if (kind === 'queuedImport') heldImports.add(id); // its job waits: the import stays queued
        if (kind !== 'import') ok(await c.post(`/api/v1/imports/${id}/start`), 'start');
        if (kind === 'doneImport') expect((await waitForImport(t, c, id, 30_000)).status).toBe('completed');
        return { [kind]: id };
      }
      case 'mapping':
        return {
          mapping: ok(
            await c.post('/api/v1/import-mappings', {
              name: `${tn.marker} ${randomBytes(3).toString('hex')}`,
              import_id: ids.import,
            }),
            kind,
          ).id,
        };
      case 'merge': {
        const [x, y] = [await make(tn, 'contact'), await make(tn, 'contact2')];
        const merged = await c.post('/api/v1/contacts/merge', {
          survivor_id: x.contact,
          merged_ids: [y.contact2],
        });
        if (merged.status !== 200)
          throw new Error(`${tn.name}: merge failed: ${merged.status} ${merged.text}`);
        return { merge: merged.body.merge_id };
      }
      case 'tag': {
        const tags = await c.get(`/api/v1/tags?q=${tn.marker.toLowerCase()}-tag`);
        return { tag: tags.body.data[0].id };
      }
      case 'fieldKey':
      case 'retiredField': {
        const field = ok(
          await c.post('/api/v1/objects/contact/fields', {
            label: `Secret ${tn.marker} ${randomBytes(3).toString('hex')}`,
            type: 'text',
          }),
          kind,
        );
        const key = (field as unknown as { key: string }).key;
        if (kind === 'retiredField')
          ok(await c.post(`/api/v1/objects/contact/fields/${key}/retire`), 'retire');
        return { [kind]: key };
      }
      case 'customObject': {
        // The same key in both tenants (each its own), with a relation field to companies.
        ok(
          await c.post('/api/v1/objects', {
            key: WALK_OBJECT,
            label_singular: 'Property',
            label_plural: 'Properties',
          }),
          kind,
        );
        ok(
          await c.post(`/api/v1/objects/${WALK_OBJECT}/fields`, {
            key: 'company',
            label: 'Company',
            type: 'relation',
            relation: { object: 'company' },
          }),
          'relation field',
        );
        // A many-to-many relation to contacts: its links are read and edited from both sides.
        ok(
          await c.post(`/api/v1/objects/${WALK_OBJECT}/fields`, {
            key: 'people',
            label: 'People',
            type: 'relation',
            relation: { object: 'contact', many: true },
          }),
          'many-to-many field',
        );
        // A status field: the object's board groups by it (issue 21).
        ok(
          await c.post(`/api/v1/objects/${WALK_OBJECT}/fields`, {
            key: 'phase',
            label: 'Phase',
            type: 'status',
            statuses: {
              statuses: [
                { value: 'open', label: 'Open' },
                { value: 'shut', label: 'Shut', kind: 'done' },
              ],
            },
          }),
          'status field',
        );
        return { customObject: WALK_OBJECT };
      }
      case 'customRecord':
        return {
          customRecord: ok(
            await c.post(`/api/v1/records/${WALK_OBJECT}`, {
              owner_id: ids.user,
              tags: [`${tn.marker}-tag`],
              custom: { name: `${tn.marker} property`, company: ids.company, people: [ids.contact] },
            }),
            kind,
          ).id,
        };
      case 'freshObject':
      case 'retiredObject': {
        const key = `walk_${tn.name.toLowerCase()}_${randomBytes(4).toString('hex')}`;
        ok(
          await c.post('/api/v1/objects', { key, label_singular: `${tn.marker} lot`, label_plural: 'Lots' }),
          kind,
        );
        if (kind === 'retiredObject') ok(await c.post(`/api/v1/objects/${key}/retire`), 'retire');
        return { [kind]: key };
      }
      case 'apiKey':
        return {
          apiKey: ok(await c.post('/api/v1/api-keys', { name: `${tn.marker} key` }), kind).id,
        };
      case 'role':
        return {
          role: ok(
            await c.post('/api/v1/roles', {
              key: `walk_${randomBytes(4).toString('hex')}`,
              name: `${tn.marker} role`,
              objects: { contact: { rights: ['read'], scope: 'own' } },
            }),
            kind,
          ).id,
        };
      case 'team': {
        // With the tenant's admin in it (the case that takes a member out takes them).
        const team = ok(
          await c.post('/api/v1/teams', { name: `${tn.marker} team ${randomBytes(2).toString('hex')}` }),
          kind,
        );
        if ((await c.put(`/api/v1/teams/${team.id}/members/${ids.user}`)).status !== 204)
          throw new Error(`${tn.name}: joining the team failed`);
        return { team: team.id };
      }
      case 'session': {
        // Another session of the tenant's admin (not the walk's own, which must stay signed in).
        const device = t.client();
        const signedIn = await device.post('/api/auth/sign-in/email', {
          email: tn.email,
          password: PASSWORD,
        });
        if (signedIn.status !== 200) throw new Error(`${tn.name}: sign-in failed: ${signedIn.text}`);
        const sessions = (await device.get('/api/v1/me/sessions')).body as {
          data: { id: string; current: boolean }[];
        };
        return { session: sessions.data.find((s) => s.current)!.id };
      }
      case 'guardIncident': {
        // A read-only API key reads more records than a tiny budget allows: the guard stops it
        // and opens an incident (the key is revoked; the budget goes back to its default).
        const budgets = (read: unknown) => ({ role: 'viewer', budgets: { read } });
        ok(await c.put('/api/v1/guard/settings', budgets({ warn: 1, block: 1, window_seconds: 60 })), kind);
        const { key } = ok(
          await c.post('/api/v1/api-keys', { name: `${tn.marker} guarded key`, read_only: true }),
          kind,
        ) as unknown as { key: string };
        const stopped = await c.get('/api/v1/contacts?limit=5', { authorization: `Bearer ${key}` });
        ok(await c.put('/api/v1/guard/settings', budgets(null)), kind);
        if (stopped.status !== 403)
          throw new Error(`${tn.name}: the guard did not stop the key: ${stopped.text}`);
        const open = await c.get('/api/v1/guard/incidents?status=open&limit=1');
        return { guardIncident: (ok(open, kind) as unknown as { data: { id: string }[] }).data[0]!.id };
      }
      case 'ghlMigration': {
        // A GoHighLevel migration (issue 33), stopped as a revoked token leaves it (its job not run).
        const id = ok(
          (await c.post('/api/v1/migrations/gohighlevel', {
            token: `pit-${tn.marker.replace(/[^A-Za-z0-9]/g, '')}`,
            location_id: 'walk',
            base_url: 'https://walk.invalid/',
          })) as Res,
          kind,
        ).id;
        await t.services.database.raw.query(
          "update ghl_migrations set status = 'stopped', error_code = 'token_revoked', error_message = 'walk' where id = $1",
          [id],
        );
        return { ghlMigration: id };
      }
      case 'webhook':
      case 'restHook': {
        const made =
          kind === 'webhook'
            ? await c.post('/api/v1/webhooks', {
                target_url: 'https://walk.invalid/hook',
                event_types: ['contact.created'],
                description: `${tn.marker} hook`,
              })
            : await c.post('/api/v1/hooks', {
                target_url: 'https://walk.invalid/zap',
                event: 'contact.created',
              });
        return { [kind]: ok(made, kind).id };
      }
      case 'webhookDelivery':
      case 'deadDelivery': {
        // A delivery of the tenant's webhook: a contact is created and the queue runs (the
        // receiver does not resolve, so its first attempt fails and it waits for a retry).
        ok(await c.post('/api/v1/contacts', { first_name: `${tn.marker} hooked` }), kind);
        await t.drain();
        const log = await c.get(`/api/v1/webhooks/${ids.webhook}/deliveries?limit=200`);
        const taken = new Set([ids.webhookDelivery, ids.deadDelivery]);
        const found = (log.body as { data: { id: string }[] }).data.find((d) => !taken.has(d.id));
        if (!found) throw new Error(`${tn.name}: no delivery: ${log.text}`);
        if (kind === 'deadDelivery')
          await t.services.database.raw.query(
            `update webhook_deliveries set status = 'dead', attempts = 8 where id = $1`,
            [found.id],
          );
        return { [kind]: found.id };
      }
      case 'form':
        return {
          form: ok(
            await c.post('/api/v1/forms', {
              name: `${tn.marker} form`,
              object: 'contact',
              fields: [{ key: 'first_name' }, { key: 'email', required: true }],
              consent: { text: 'Yes, newsletter', channel: 'email', purpose: 'newsletter' },
            }),
            kind,
          ).id,
        };
      case 'peopleForm':
        // A form of the walk's custom object offering one contact on its many-to-many field.
        return {
          peopleForm: ok(
            await c.post('/api/v1/forms', {
              name: `${tn.marker} people form`,
              object: WALK_OBJECT,
              fields: [{ key: 'name' }, { key: 'people', choices: [ids.contact] }],
            }),
            kind,
          ).id,
        };
      case 'consented': {
        // A contact who consented through the tenant's form (its ingest endpoint).
        const formView = (await c.get(`/api/v1/forms/${ids.form}`)).body as { ingest_url: string };
        const res = await t.app.inject({
          method: 'POST',
          url: new URL(formView.ingest_url).pathname,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ email: uniqueEmail('consent'), first_name: tn.marker, consent: true }),
        });
        if (res.statusCode !== 201) throw new Error(`${tn.name}: ingest failed: ${res.body}`);
        return { consented: (JSON.parse(res.body) as { record: { id: string } }).record.id };
      }
      case 'file': {
        const up = await uploadFile(
          t,
          c,
          { object: 'contact', id: ids.contact! },
          `${tn.marker}.txt`,
          `${tn.marker}\n`,
        );
        return { file: ok(up as Res, kind).id };
      }
      case 'eraseContact':
        return { eraseContact: (await make(tn, 'contact', ids)).contact };
      case 'auditCursor': {
        const page = await c.get('/api/v1/audit?limit=1');
        return { auditCursor: (page.body as { data: { id: string }[] }).data[0]!.id };
      }
      case 'report':
      case 'freshReport': {
        // Shared with the organization, grouping the tenant's deals by stage.
        const created = ok(
          await c.post('/api/v1/reports', {
            name: `${tn.marker} report`,
            spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }] },
            sharing: 'organization',
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'dashboard':
      case 'freshDashboard': {
        const created = ok(
          await c.post('/api/v1/dashboards', {
            name: `${tn.marker} dashboard`,
            sharing: 'organization',
            widgets: [{ id: 'w1', report_id: ids.report, x: 0, y: 0, w: 6, h: 4 }],
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'reportSchedule':
      case 'freshReportSchedule': {
        // The tenant's dashboard, weekly to its admin (and its report, monthly).
        if (kind === 'reportSchedule')
          ok(
            await c.post('/api/v1/report-schedules', {
              report_id: ids.report,
              frequency: 'monthly',
              time: '08:00',
              recipient_id: ids.user,
            }),
            kind,
          );
        const created = ok(
          await c.post('/api/v1/report-schedules', {
            dashboard_id: ids.dashboard,
            frequency: 'weekly',
            time: '08:00',
            recipient_id: ids.user,
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'reportMail': {
        // The schedule sent now: its message, with the PDF attached, in the tenant's outbox.
        ok(await c.post(`/api/v1/report-schedules/${ids.reportSchedule}/send`, {}), kind);
        const box = (await c.get('/api/v1/system-mail')).body as { data: { id: string; kind: string }[] };
        return { reportMail: box.data.find((m) => m.kind === 'report')!.id };
      }
      case 'workflow':
      case 'freshWorkflow': {
        // On opportunities, started by hand, waiting a day: a run stays open.
        const created = ok(
          await c.post('/api/v1/workflows', {
            name: `${tn.marker} workflow`,
            object: 'opportunity',
            definition: {
              trigger: { type: 'manual' },
              start: 'wait',
              reenrollment: 'always',
              steps: [{ id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' } }],
            },
          }),
          kind,
        );
        ok(await c.post(`/api/v1/workflows/${created.id}/activate`, {}), 'activate');
        return { [kind]: created.id };
      }
      case 'freshContactWorkflow': {
        // A draft on contacts (lock_version 1): what a definition's messaging steps need.
        const created = ok(
          await c.post('/api/v1/workflows', {
            name: `${tn.marker} contact workflow`,
            object: 'contact',
            definition: { trigger: { type: 'manual' }, start: null, steps: [] },
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'run':
      case 'waitingRun': {
        const started = ok(
          await c.post(`/api/v1/workflows/${ids.workflow}/runs`, { record_ids: [ids.opportunity] }),
          kind,
        );
        await t.drain();
        return { [kind]: (started as unknown as { data: { run_id: string }[] }).data[0]!.run_id };
      }
      case 'failedRun': {
        const failing = ok(
          await c.post('/api/v1/workflows', {
            name: `${tn.marker} failing`,
            object: 'opportunity',
            definition: {
              trigger: { type: 'manual' },
              start: 'bad',
              reenrollment: 'always',
              steps: [{ id: 'bad', type: 'update_field', field: 'amount', value: 'not a number' }],
            },
          }),
          kind,
        );
        ok(await c.post(`/api/v1/workflows/${failing.id}/activate`, {}), 'activate');
        const started = ok(
          await c.post(`/api/v1/workflows/${failing.id}/runs`, { record_ids: [ids.opportunity] }),
          kind,
        );
        await t.drain();
        return { failedRun: (started as unknown as { data: { run_id: string }[] }).data[0]!.run_id };
      }
      case 'channel':
      case 'freshChannel': {
        // The built-in local mailbox: what it sends lands in the organization's outbox.
        const created = ok(
          await c.post('/api/v1/channels', {
            kind: 'local',
            name: `${tn.marker} box`,
            address: 'box@walk.test',
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'smsChannel': {
        const created = ok(
          await c.post('/api/v1/channels', {
            kind: 'sms',
            name: `${tn.marker} sms`,
            address: '+14155550100',
            twilio: { account_sid: 'ACwalk', auth_token: 'walk-token' },
          }),
          kind,
        );
        return { smsChannel: created.id };
      }
      case 'providerChannel': {
        const created = ok(
          await c.post('/api/v1/channels', {
            kind: 'email',
            name: `${tn.marker} postmark`,
            address: 'pm@walk.test',
            provider: { name: 'postmark', api_key: 'walk-key', webhook_key: 'walk-hook' },
          }),
          kind,
        );
        return { providerChannel: created.id };
      }
      case 'conversation': {
        // A message composed to the tenant's contact opens a conversation with them holding it.
        const contact = (await c.get(`/api/v1/contacts/${ids.contact}`)).body as {
          emails: { value: string }[];
        };
        const sent = ok(
          await c.post('/api/v1/messages', {
            channel_id: ids.channel,
            to: contact.emails[0]!.value,
            subject: tn.marker,
            text: `${tn.marker} hello`,
          }),
          kind,
        ) as unknown as { id: string; conversation_id: string };
        await t.drain();
        return { conversation: sent.conversation_id, message: sent.id };
      }
      case 'sequence': {
        const created = ok(
          await c.post('/api/v1/sequences', {
            name: `${tn.marker} sequence`,
            channel_id: ids.channel,
            steps: [
              { type: 'WAIT', days: 30 },
              { type: 'TASK', subject: 'Follow up' },
            ],
          }),
          kind,
        );
        return { sequence: created.id };
      }
      case 'enrollment': {
        // A fresh contact enrolled in the tenant's sequence (one active enrollment per contact).
        const contact = ok(
          await c.post('/api/v1/contacts', {
            first_name: tn.marker,
            last_name: 'enrolled',
            owner_id: ids.user,
          }),
          kind,
        );
        ok(
          await c.post(`/api/v1/sequences/${ids.sequence}/enrollments`, { contact_ids: [contact.id] }),
          kind,
        );
        const page = (await c.get(`/api/v1/sequences/${ids.sequence}/enrollments?status=active&limit=200`))
          .body as { data: { id: string; contact: { id: string } }[] };
        return { enrollment: page.data.find((e) => e.contact.id === contact.id)!.id };
      }
      case 'step': {
        const seq = (await c.get(`/api/v1/sequences/${ids.sequence}`)).body as {
          steps: { id: string; type: string }[];
        };
        return { step: seq.steps.find((s) => s.type === 'TASK')!.id };
      }
      case 'handoff':
      case 'handoffRecord': {
        // A record entering a status owned by a role the admin does not hold waits in that role's
        // queue (issue 21): the role, the object and its status field are made once per tenant.
        const object = 'walk_case';
        if ((await c.get(`/api/v1/objects/${object}`)).status === 404) {
          ok(
            await c.post('/api/v1/roles', {
              key: 'walk_owner',
              name: 'Walk owners',
              default_access: { rights: ['create', 'read', 'update'], scope: 'all' },
            }),
            kind,
          );
          ok(
            await c.post('/api/v1/objects', {
              key: object,
              label_singular: 'Walk case',
              label_plural: 'Walk cases',
            }),
            kind,
          );
          ok(
            await c.post(`/api/v1/objects/${object}/fields`, {
              label: 'Stage',
              type: 'status',
              statuses: {
                statuses: [
                  { value: 'open', label: 'Open' },
                  { value: 'owned', label: 'Owned', owner_role: 'walk_owner' },
                ],
              },
            }),
            kind,
          );
        }
        const record = ok(
          await c.post(`/api/v1/records/${object}`, { custom: { name: `${tn.marker} case`, stage: 'open' } }),
          kind,
        );
        ok(await c.patch(`/api/v1/records/${object}/${record.id}`, { custom: { stage: 'owned' } }), kind);
        const list = (await c.get(`/api/v1/records/${object}/${record.id}/handoffs`)).body as {
          data: { id: string }[];
        };
        if (!list.data?.[0]) throw new Error(`${tn.name}: no hand-off opened`);
        return { handoff: list.data[0].id, handoffRecord: record.id };
      }
      case 'broadcast': {
        const created = ok(
          await c.post('/api/v1/broadcasts', {
            name: `${tn.marker} broadcast`,
            channel_id: ids.channel,
            subject: 'Walk',
            body: 'Hello',
            // Selects nobody: sending it is a 422 segment_empty, so the walk never sends.
            segment: { filter: { field: 'first_name', op: 'eq', value: `${tn.marker} nobody` } },
          }),
          kind,
        );
        return { broadcast: created.id };
      }
      case 'messageTemplate':
      case 'freshMessageTemplate':
        return {
          [kind]: ok(
            await c.post('/api/v1/message-templates', {
              name: `${tn.marker} ${kind} ${randomBytes(3).toString('hex')}`,
              body: 'Hello {{first_name}}',
            }),
            kind,
          ).id,
        };
      case 'suppression':
        return {
          suppression: ok(
            await c.post('/api/v1/suppressions', {
              channel_kind: 'email',
              address: `${tn.marker.toLowerCase()}-${randomBytes(3).toString('hex')}@walk.test`,
            }),
            kind,
          ).id,
        };
      case 'meetingType':
      case 'freshMeetingType': {
        // The admin hosts it, available every day around the clock (UTC).
        const all = Object.fromEntries(
          ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '00:00', end: '24:00' }]]),
        );
        ok(await c.put('/api/v1/me/availability', { time_zone: 'UTC', weekly: all }), 'availability');
        const created = ok(
          await c.post('/api/v1/meeting-types', {
            name: `${tn.marker} meeting`,
            duration_minutes: 15,
            assignment: 'single',
            host_ids: [ids.user],
          }),
          kind,
        );
        return { [kind]: created.id };
      }
      case 'booking':
      case 'freshBooking': {
        const type = (await c.get(`/api/v1/meeting-types/${ids.meetingType}`)).body as { token: string };
        const slots = (await t.client().get(`/api/v1/public/booking/${type.token}/slots?days=3`)).body as {
          days: { slots: { start: string }[] }[];
        };
        // The slots offered leave out the booked ones: the first is free.
        const slot = slots.days.flatMap((d) => d.slots)[0]!;
        const booked = ok(
          await t.client().post(`/api/v1/public/booking/${type.token}`, {
            start: slot.start,
            name: `${tn.marker} Visitor`,
            email: uniqueEmail('visitor'),
          }),
          kind,
        );
        return { [kind]: booked.id };
      }
      case 'metaPage': {
        const created = ok(
          await c.post('/api/v1/meta/pages', {
            page_id: `${Date.now()}${Math.floor(Math.random() * 1000)}`,
            name: `${tn.marker} page`,
            access_token: 'walk-page-token',
          }),
          kind,
        );
        return { metaPage: created.id };
      }
      case 'metaDelivery':
      case 'metaLead': {
        // A signed delivery for a page nobody listens to: its lead is kept, ignored (no fetch).
        const secret = `walk-secret-${tn.name}`;
        const settings = ok(
          await c.patch('/api/v1/meta/settings', { app_secret: secret }),
          kind,
        ) as unknown as {
          webhook_url: string;
        };
        const leadgenId = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
        const body = JSON.stringify({
          object: 'page',
          entry: [
            {
              id: '1',
              time: 1,
              changes: [{ field: 'leadgen', value: { leadgen_id: leadgenId, page_id: '1' } }],
            },
          ],
        });
        const res = await t.app.inject({
          method: 'POST',
          url: new URL(settings.webhook_url).pathname,
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          },
          payload: body,
        });
        if (res.statusCode !== 200) throw new Error(`${tn.name}: meta delivery failed: ${res.body}`);
        const leads = (await c.get('/api/v1/meta/leads?limit=200')).body as {
          data: { id: string; leadgen_id: string; delivery_id: string }[];
        };
        const lead = leads.data.find((l) => l.leadgen_id === leadgenId)!;
        return kind === 'metaLead' ? { metaLead: lead.id } : { metaDelivery: lead.delivery_id };
      }
      case 'opsAlert': {
        // An integration of the tenant's that failed: its alert (issue 30).
        const ref = randomBytes(8).toString('hex');
        await recordIntegration(t.services, ids.org!, { kind: 'webhook', ref, name: 'walk', ok: false });
        const { rows } = await t.services.database.raw.query<{ id: string }>(
          `select id from ops_alerts where org_id = $1 and fingerprint = $2`,
          [ids.org, `integration:webhook:${ref}:failing`],
        );
        return { opsAlert: rows[0]!.id };
      }
      case 'failedJob': {
        // A job of the tenant's that failed on every try (the ops console's retry, issue 30); it
        // fails on its first run only, so a retried one runs through at the next drain.
        t.services.jobs.define<{ key: string }>({ name: 'walk.fails', retryLimit: 0 }, async ({ data }) => {
          if (walkJobsRun.has(data.key)) return;
          walkJobsRun.add(data.key);
          throw new Error('walk job fails');
        });
        // Run here, not by a drain: the other tenant's makers drain side by side and must not meet it.
        await (t.services.jobs as SyncJobQueue).runNow('walk.fails', {
          org_id: ids.org,
          key: randomBytes(8).toString('hex'),
        });
        const failed = await t.services.jobs.failedJobs(ids.org!, 1);
        return { failedJob: failed[0]!.id };
      }
      default:
        throw new Error(`no maker for ${kind}`);
    }
  }

  const WORLD_ORDER: Kind[] = [
    'company',
    'company2',
    'contact',
    'contact2',
    'lead',
    'pipeline',
    'opportunity',
    'closed',
    'card',
    'member',
    'invitation',
    'task',
    'doneTask',
    'notification',
    'note',
    'view',
    'import',
    'mapping',
    'merge',
    'tag',
    'fieldKey',
    'customObject',
    'customRecord',
    'file',
    'apiKey',
    'role',
    'team',
    'session',
    'guardIncident',
    'webhook',
    'restHook',
    'ghlMigration',
    'webhookDelivery',
    'form',
    'peopleForm',
    'consented',
    'auditCursor',
    'product',
    'priceList',
    'price',
    'quote',
    'warehouse',
    'acceptedQuote',
    'order',
    'workflow',
    'run',
    'meetingType',
    'booking',
    'channel',
    'smsChannel',
    'providerChannel',
    'conversation',
    'report',
    'dashboard',
    'reportSchedule',
    'reportMail',
    'sequence',
    'step',
    'enrollment',
    'suppression',
    'messageTemplate',
    'metaPage',
    'metaDelivery',
    'metaLead',
    'broadcast',
    'handoff',
    'opsAlert',
    'failedJob',
  ];

  async function seed(name: 'A' | 'B'): Promise<Tenant> {
    const admin = await signUp(t, `Tenant ${name}`);
    const tn: Tenant = {
      name,
      client: admin.client,
      email: admin.email,
      marker: `Walk${name}${randomBytes(3).toString('hex')}`,
      ids: { org: admin.orgId, user: admin.userId },
    };
    tn.ids.marker = tn.marker;
    // The walk sends the other tenant's ids to every route: hundreds of 404s in minutes, which
    // the guard would (rightly) stop an admin for. Its budget for refusals is raised here.
    const walkBudget = { warn: 100_000, block: 100_000, window_seconds: 600 };
    const raised = await admin.client.put('/api/v1/guard/settings', {
      role: 'admin',
      budgets: { denied: walkBudget },
    });
    if (raised.status !== 200) throw new Error(`${name}: guard settings failed: ${raised.text}`);
    for (const kind of WORLD_ORDER) Object.assign(tn.ids, await make(tn, kind));
    return tn;
  }
  return { make, seed };
}
