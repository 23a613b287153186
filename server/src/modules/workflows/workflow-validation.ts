import type { TenantScope } from '../../db/tenant.js';
import { assertMember } from '../../platform/access/membership.js';
import { AppError, type FieldError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { OutboundError } from '../../platform/net/outbound-http.js';
import { compileFilter } from '../../platform/query/query.filter.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { isZone } from '../../platform/time/sending-window.js';
import { stageNamesIn } from '../pipelines/stage-names.service.js';
import { checkOutboundTarget } from '../webhooks/webhook.service.js';
import { type Definition, type Step, successorsOf, type Trigger } from './workflow.definition.js';
import { registeredAction } from './workflow-actions.js';
import { isValidCron } from './workflow-schedule.js';
import { templateVariables } from './workflow-templates.js';

const TRIGGER_OBJECTS: Partial<Record<Trigger['type'], string>> = {
  stage_changed: 'opportunity',
  opportunity_won: 'opportunity',
  opportunity_lost: 'opportunity',
  task_overdue: 'task',
  message_received: 'contact',
};

/** The SSRF guard's check of a `call_webhook` URL at save time (the outgoing webhooks' rule). */
export const urlCheck = (services: Services) => (url: string) => {
  checkOutboundTarget(services, url);
};

/** Who may read a field in a condition: the author's field rights (every field, until field-level profiles exist). */
export type FieldReadable = (field: FieldDef) => boolean;

const WRITABLE = (f: FieldDef) => !f.readOnly && !f.retired && f.storage.kind !== 'computed';

/**
 * Checks a definition against the tenant's registry before it is saved: the graph (ids unique,
 * every successor known, at most one step before each, no cycle), the trigger fits the object,
 * every condition compiles with the query language on fields the author may read, every field an
 * action writes exists and is writable, every template variable exists, members exist, and the
 * workflow cannot trigger itself (`record_updated` on a field it writes, `record_created` of the
 * object it creates). `activating` also requires a start and every step reachable from it.
 * @throws AppError 422 `invalid_workflow` (or 400 `invalid_query` for a condition) with every
 *   problem under `errors`, each with its path under `body.definition`
 */
export async function validateDefinition(
  scope: TenantScope,
  object: ObjectDef,
  definition: Definition,
  options: {
    activating: boolean;
    readable?: FieldReadable;
    /** Checks a `call_webhook` URL without connecting (the SSRF guard). @throws OutboundError */
    checkUrl: (url: string) => void;
  },
): Promise<void> {
  const problems: FieldError[] = [];
  const at = (path: string) => `body.definition${path}`;
  const fail = (path: string, message: string, code = 'invalid_workflow') =>
    problems.push({ path: at(path), code, message });
  const readable = options.readable ?? (() => true);
  const steps = definition.steps;
  const byId = new Map<string, { step: Step; index: number }>();
  steps.forEach((step, index) => {
    if (byId.has(step.id)) fail(`.steps[${index}].id`, `Two steps have the id "${step.id}"`);
    byId.set(step.id, { step, index });
  });

  // The graph: a tree from `start`.
  const parents = new Map<string, string>();
  steps.forEach((step, index) => {
    for (const [branch, ids] of Object.entries(successorsOf(step)))
      ids.forEach((id, i) => {
        if (!byId.has(id)) fail(`.steps[${index}].${branch}[${i}]`, `No step has the id "${id}"`);
        else if (id === step.id || parents.has(id))
          fail(`.steps[${index}].${branch}[${i}]`, `Step "${id}" already has a step before it`);
        else parents.set(id, step.id);
      });
  });
  if (definition.start !== null && !byId.has(definition.start))
    fail('.start', `No step has the id "${definition.start}"`);
  if (definition.start !== null && parents.has(definition.start))
    fail('.start', 'The first step cannot have a step before it');
  const reachable = new Set<string>();
  const walk = (id: string) => {
    if (reachable.has(id) || !byId.has(id)) return;
    reachable.add(id);
    for (const ids of Object.values(successorsOf(byId.get(id)!.step))) ids.forEach(walk);
  };
  if (definition.start) walk(definition.start);
  if (options.activating) {
    if (definition.start === null || steps.length === 0) fail('.start', 'Add a first step before activating');
    steps.forEach((step, index) => {
      if (!reachable.has(step.id))
        fail(`.steps[${index}]`, `Step "${step.id}" is not connected to the first step`);
    });
  }

  // The trigger.
  const trigger = definition.trigger;
  const needed = TRIGGER_OBJECTS[trigger.type];
  if (needed && object.key !== needed)
    fail('.trigger.type', `A ${trigger.type} trigger runs on ${needed} records, not ${object.labelPlural}`);
  const hasField = (def: ObjectDef, key: string) =>
    def.fields.find((f) => f.key === key && !f.retired && readable(f));
  if ((trigger.type === 'tag_added' || trigger.type === 'tag_removed') && !hasField(object, 'tags'))
    fail('.trigger.type', `${object.labelPlural} have no tags`);
  if (trigger.type === 'record_updated')
    trigger.fields?.forEach((key, i) => {
      if (!hasField(object, key))
        fail(`.trigger.fields[${i}]`, `Unknown field "${key}" on ${object.labelPlural}`);
    });
  if (trigger.type === 'date_reached') {
    const field = hasField(object, trigger.field);
    if (!field) fail('.trigger.field', `Unknown field "${trigger.field}" on ${object.labelPlural}`);
    else if (field.type !== 'date' && field.type !== 'datetime')
      fail('.trigger.field', `"${trigger.field}" is not a date or date-time field`);
  }
  if (trigger.type === 'form_submitted' && trigger.form_id) {
    const { rows } = await scope.conn.query(`select 1 from forms where org_id = $1 and id = $2`, [
      scope.ctx.orgId,
      trigger.form_id,
    ]);
    if (rows.length === 0)
      problems.push({
        path: at('.trigger.form_id'),
        code: 'reference_not_found',
        message: 'No form of this organization has this id',
      });
  }
  if (trigger.type === 'inbound_webhook') {
    const field = hasField(object, trigger.match.field);
    if (!field)
      fail('.trigger.match.field', `Unknown field "${trigger.match.field}" on ${object.labelPlural}`);
    else if (!field.filterable)
      fail('.trigger.match.field', `${field.label} cannot be used to find ${object.labelPlural}`);
    for (const key of Object.keys(trigger.values ?? {})) {
      const f = hasField(object, key);
      if (!f || !WRITABLE(f))
        fail(`.trigger.values.${key}`, `Unknown field "${key}" on ${object.labelPlural}`);
    }
  }
  if (trigger.type === 'schedule' && !isValidCron(trigger.cron, trigger.timezone))
    fail('.trigger.cron', 'Not a valid five-field cron expression (or time zone)');
  const condition = (node: unknown, path: string) => {
    try {
      compileFilter(
        node,
        { object, table: 'r', readable, clock: { now: new Date(), timeZone: 'UTC' } },
        at(path),
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      problems.push({ path: error.path ?? at(path), code: error.code, message: error.message });
    }
  };
  if (trigger.conditions !== undefined) condition(trigger.conditions, '.trigger.conditions');

  // The steps.
  const variables = (text: string | undefined, path: string) => {
    if (text === undefined) return;
    for (const name of templateVariables(text)) {
      const [root, key, ...rest] = name.split('.');
      const known =
        (root === 'workflow' && key === 'name' && rest.length === 0) ||
        (root === 'trigger' && key !== undefined && trigger.type === 'inbound_webhook') ||
        (root === 'record' && key !== undefined && rest.length === 0 && hasField(object, key));
      if (!known) fail(path, `Unknown template variable {{${name}}}`, 'unknown_template_variable');
    }
  };
  const writes = new Set<string>();
  for (const [index, step] of steps.entries()) {
    const p = `.steps[${index}]`;
    switch (step.type) {
      case 'add_tag':
      case 'remove_tag':
        if (!hasField(object, 'tags')) fail(`${p}.type`, `${object.labelPlural} have no tags`);
        writes.add('tags');
        break;
      case 'update_field': {
        const field = hasField(object, step.field);
        if (!field) fail(`${p}.field`, `Unknown field "${step.field}" on ${object.labelPlural}`);
        else if (!WRITABLE(field)) fail(`${p}.field`, `${field.label} cannot be changed by a workflow`);
        if (typeof step.value === 'string') variables(step.value, `${p}.value`);
        writes.add(step.field);
        break;
      }
      case 'move_stage':
        if (object.key !== 'opportunity') fail(`${p}.type`, 'Only opportunities move between stages');
        if ((await stageNamesIn(scope, [step.stage_id])).length === 0)
          problems.push({
            path: at(`${p}.stage_id`),
            code: 'reference_not_found',
            message: 'No stage of this organization has this id',
          });
        writes.add('stage_id');
        break;
      case 'assign_owner':
        if (!hasField(object, 'owner_id')) fail(`${p}.type`, `${object.labelPlural} have no owner`);
        if (step.mode === 'fixed' && !step.user_id) fail(`${p}.user_id`, 'Choose the member to assign');
        if (step.mode === 'round_robin' && !step.user_ids?.length)
          fail(`${p}.user_ids`, 'Choose the members to rotate');
        for (const [i, id] of [step.user_id, ...(step.user_ids ?? [])].filter(Boolean).entries())
          await memberCheck(
            scope,
            id!,
            at(`${p}.${step.mode === 'fixed' ? 'user_id' : `user_ids[${i}]`}`),
            problems,
          );
        writes.add('owner_id');
        break;
      case 'create_task':
        variables(step.title, `${p}.title`);
        variables(step.description, `${p}.description`);
        if (step.assignee !== 'owner') await memberCheck(scope, step.assignee, at(`${p}.assignee`), problems);
        break;
      case 'notify':
        variables(step.message, `${p}.message`);
        if (step.user !== 'owner') await memberCheck(scope, step.user, at(`${p}.user`), problems);
        break;
      case 'send_email': {
        variables(step.subject, `${p}.subject`);
        variables(step.body, `${p}.body`);
        const to = step.to ?? (hasField(object, 'email') ? 'email' : undefined);
        const field = to ? hasField(object, to) : undefined;
        if (field?.type !== 'email')
          fail(`${p}.to`, `Name a field of ${object.labelPlural} holding an e-mail address`);
        break;
      }
      case 'create_record': {
        const target = await objectDef(scope.tx, scope.ctx.orgId, step.object).catch(() => undefined);
        if (!target || target.activity) {
          fail(`${p}.object`, `Unknown object "${step.object}"`);
          break;
        }
        for (const [key, value] of Object.entries(step.values)) {
          const field = hasField(target, key);
          if (!field || !WRITABLE(field))
            fail(`${p}.values.${key}`, `Unknown field "${key}" on ${target.labelPlural}`);
          if (typeof value === 'string') variables(value, `${p}.values.${key}`);
        }
        if (trigger.type === 'record_created' && target.key === object.key)
          fail(
            `${p}.object`,
            'This workflow would trigger itself: it creates the records that start it',
            'self_triggering',
          );
        break;
      }
      case 'send_sms': {
        variables(step.body, `${p}.body`);
        const field = hasField(object, step.to ?? 'phone');
        if (field?.type !== 'phone')
          fail(`${p}.to`, `Name a field of ${object.labelPlural} holding a phone number`);
        break;
      }
      case 'enroll_in_sequence':
      case 'remove_from_sequence':
        if (object.key !== 'contact') fail(`${p}.type`, 'Only contacts are enrolled in sequences');
        break;
      case 'call_webhook':
        try {
          options.checkUrl(step.url);
        } catch (error) {
          if (!(error instanceof OutboundError)) throw error;
          problems.push({ path: at(`${p}.url`), code: error.code, message: error.message });
        }
        for (const [key, text] of Object.entries(step.data ?? {})) variables(text, `${p}.data.${key}`);
        break;
      case 'wait':
        if (
          [step.duration, step.until, step.time_of_day, step.business_hours].filter((x) => x !== undefined)
            .length !== 1
        )
          fail(p, 'A wait takes one of duration, until, time_of_day or business_hours');
        if (step.timezone !== undefined && !isZone(step.timezone))
          fail(`${p}.timezone`, `${step.timezone} is not an IANA time zone (e.g. Europe/Paris)`);
        if (step.business_hours && step.business_hours.start >= step.business_hours.end)
          fail(`${p}.business_hours.end`, 'Business hours end after they start');
        break;
      case 'wait_condition':
        condition(step.condition, `${p}.condition`);
        break;
      case 'if_else':
        condition(step.condition, `${p}.condition`);
        break;
      case 'exit':
        break;
    }
  }
  for (const [index, step] of steps.entries()) {
    const check = registeredAction(step.type)?.validate;
    if (!check) continue;
    for (const problem of await check(scope, step, object))
      problems.push({ ...problem, path: at(`.steps[${index}]${problem.path}`) });
  }
  if (trigger.type === 'record_updated') {
    const watched = trigger.fields?.length ? trigger.fields : [...writes];
    const loop = watched.find((f) => writes.has(f));
    if (loop)
      fail(
        '.trigger',
        `This workflow would trigger itself: it changes ${loop}, which starts it; narrow the trigger's fields`,
        'self_triggering',
      );
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    const status = problems.every((p) => p.code === 'invalid_query') ? 400 : 422;
    throw new AppError(status, first.code === 'invalid_query' ? 'invalid_query' : first.code, first.message, {
      path: first.path,
      errors: problems,
    });
  }
}

async function memberCheck(scope: TenantScope, id: string, path: string, problems: FieldError[]) {
  try {
    await assertMember(scope, id, path);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    problems.push({ path, code: error.code, message: error.message });
  }
}
