import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { assertTimeZone } from './due-window.util.js';
import {
  Task,
  TaskCreate,
  TaskGroups,
  TaskGroupsQuery,
  TaskListQuery,
  TaskPage,
  TaskUpdate,
} from './task.dto.js';
import { createTask, getTask, transitionTask, updateTask } from './task.service.js';
import { defineDueQueue } from './task-due.service.js';
import { groupTasks, listTasks } from './task-list.service.js';
import { defineReminderQueue } from './task-reminder.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const tags = ['tasks'];

/**
 * Tasks under `/tasks`: create, read, update, complete / reopen, archive (DELETE) / restore, a
 * filtered keyset list, and the to-do groups (due now, overdue, today, ...) in the caller's time zone.
 * Reads need `records:read`, changes `records:write`. Another tenant's id is a 404.
 */
export function registerTaskRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/tasks',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'createTask',
        tags,
        summary: 'Create a task, optionally due, assigned, linked to a record, with a reminder',
        body: TaskCreate,
        response: { 201: Task, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createTask(services, req.tenant, req.body)),
  );
  app.get(
    '/tasks',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listTasks',
        tags,
        summary: 'List tasks (open by default), soonest due first, undated last; keyset-paginated',
        querystring: TaskListQuery,
        response: { 200: TaskPage, ...errors },
      },
    },
    async (req) => listTasks(services, req.tenant, req.query),
  );
  app.get(
    '/tasks/groups',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listTaskGroups',
        tags,
        summary:
          'Open tasks grouped as due now (reminder time passed), overdue, today, tomorrow, this week, later and undated (100 each)',
        querystring: TaskGroupsQuery,
        response: { 200: TaskGroups, ...errors },
      },
    },
    async (req) => {
      assertTimeZone(req.query.tz, 'querystring.tz');
      return groupTasks(services, req.tenant, req.query);
    },
  );
  app.get(
    '/tasks/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getTask',
        tags,
        summary: 'A task',
        params: IdParams,
        response: { 200: Task, ...errors },
      },
    },
    async (req) => getTask(services, req.tenant, req.params.id),
  );
  app.patch(
    '/tasks/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'updateTask',
        tags,
        summary: 'Update a task: given fields change, absent ones stay, null clears',
        params: IdParams,
        body: TaskUpdate,
        response: { 200: Task, ...errors },
      },
    },
    async (req) => updateTask(services, req.tenant, req.params.id, req.body),
  );
  const transitions = [
    ['post', '/tasks/:id/complete', 'complete', 'completeTask', 'Mark a task done'],
    ['post', '/tasks/:id/reopen', 'reopen', 'reopenTask', 'Mark a done task open again'],
    ['post', '/tasks/:id/restore', 'restore', 'restoreTask', 'Restore an archived task'],
    ['delete', '/tasks/:id', 'archive', 'archiveTask', 'Archive (soft-delete) a task; returns it'],
  ] as const;
  for (const [method, url, transition, operationId, summary] of transitions) {
    app[method](
      url,
      {
        config: { access: 'records:write' },
        schema: { operationId, tags, summary, params: IdParams, response: { 200: Task, ...errors } },
      },
      async (req) => transitionTask(services, req.tenant, req.params.id, transition),
    );
  }
}

/** Defines the task job queues (reminders: `task.reminder`; due and overdue: `task.due`) before the job queue starts. */
export function defineTaskJobs(services: Services): void {
  defineReminderQueue(services);
  defineDueQueue(services);
}
