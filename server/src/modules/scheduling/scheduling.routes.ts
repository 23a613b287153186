import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { STATUS_TITLES } from '../../platform/errors/app-error.js';
import { PROBLEM_CONTENT_TYPE, Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  connectCalendar,
  defineCalendarPollQueue,
  disconnectCalendar,
  getCalendar,
  syncMyCalendar,
} from './caldav.service.js';
import {
  Availability,
  AvailabilityInput,
  Booking,
  BookingCreate,
  Calendar,
  CalendarConnect,
  MeetingType,
  MeetingTypeCreate,
  MeetingTypeUpdate,
  PublicBooking,
  PublicPage,
  Reschedule,
  Slots,
  SlotsQuery,
} from './scheduling.dto.js';
import {
  archiveMeetingType,
  cancelBooking,
  cancelManagedBooking,
  createBooking,
  createMeetingType,
  getManagedBooking,
  getMeetingType,
  getMyAvailability,
  getPublicPage,
  getPublicSlots,
  listBookings,
  listMeetingTypes,
  putMyAvailability,
  rescheduleManagedBooking,
  SlotTakenError,
  updateMeetingType,
} from './scheduling.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['scheduling'];
const Id = z.strictObject({ id: z.uuid() });
const Token = z.strictObject({ token: z.string().min(1).max(200) });

/** The 409 of a slot that just went: a problem with the page's fresh slots. */
export const SlotTakenProblem = Problem.extend({ slots: Slots }).meta({ id: 'SlotTakenProblem' });
/** The 409 as the OpenAPI document shows it: problem+json, with `slots`. */
const slotTaken = {
  description: "The slot was just taken (`slot_taken`): the page's fresh `slots` are in the problem",
  content: { 'application/problem+json': { schema: SlotTakenProblem } },
} as unknown as typeof Problem;

/** Sends a SlotTakenError as problem+json with `slots`; other errors go the usual way. */
async function withSlotProblem<T>(req: FastifyRequest, reply: FastifyReply, fn: () => Promise<T>) {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof SlotTakenError)) throw error;
    return reply
      .code(409)
      .type(PROBLEM_CONTENT_TYPE)
      .serializer(JSON.stringify)
      .send({
        type: `urn:cairn:problem:${error.code}`,
        title: STATUS_TITLES[409],
        status: 409,
        code: error.code,
        detail: error.message,
        path: error.path,
        instance: req.url.split('?')[0],
        trace_id: String(req.id),
        slots: error.slots,
      });
  }
}

/** Members' side: their availability, the organization's meeting types, bookings. */
export function registerSchedulingRoutes(app: ApiApp, services: Services): void {
  defineCalendarPollQueue(services);

  app.get(
    '/me/calendar',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'getMyCalendar',
        summary: "The caller's CalDAV calendar: its busy times read at the last poll and the last error",
        response: { 200: Calendar, ...errors },
      },
    },
    async (req) => getCalendar(services, req.tenant),
  );

  app.put(
    '/me/calendar',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'connectMyCalendar',
        summary:
          'Connect a CalDAV calendar (the password is kept sealed): its busy times block slots, bookings are written to it, and events moved or deleted there come back at each poll',
        body: CalendarConnect,
        response: { 200: Calendar, 422: Problem, ...errors },
      },
    },
    async (req) => connectCalendar(services, req.tenant, req.body),
  );

  app.post(
    '/me/calendar/sync',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'syncMyCalendar',
        summary: "Poll the caller's calendar now (it is polled every 5 minutes anyway)",
        response: { 200: Calendar, ...errors },
      },
    },
    async (req) => syncMyCalendar(services, req.tenant),
  );

  app.delete(
    '/me/calendar',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'disconnectMyCalendar',
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await disconnectCalendar(services, req.tenant);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/availability',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'getMyAvailability',
        summary: "The caller's working hours, buffers, notice, daily cap and date overrides",
        response: { 200: Availability, ...errors },
      },
    },
    async (req) => getMyAvailability(services, req.tenant),
  );

  app.put(
    '/me/availability',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'putMyAvailability',
        summary: "Sets the caller's availability (all of it), in the time zone given",
        body: AvailabilityInput,
        response: { 200: Availability, ...errors },
      },
    },
    async (req) => putMyAvailability(services, req.tenant, req.body),
  );

  app.post(
    '/meeting-types',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'createMeetingType',
        summary: 'A meeting type and its public booking page, for one member or a team',
        body: MeetingTypeCreate,
        response: { 201: MeetingType, 422: Problem, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(await createMeetingType(services, req.tenant, req.body)),
  );

  app.get(
    '/meeting-types',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'listMeetingTypes',
        summary: "The organization's meeting types, newest first (archived ones included)",
        response: { 200: z.object({ data: z.array(MeetingType) }), ...errors },
      },
    },
    async (req) => ({ data: await listMeetingTypes(services, req.tenant) }),
  );

  app.get(
    '/meeting-types/:id',
    {
      config: { access: 'member' },
      schema: { tags, operationId: 'getMeetingType', params: Id, response: { 200: MeetingType, ...errors } },
    },
    async (req) => getMeetingType(services, req.tenant, req.params.id),
  );

  app.patch(
    '/meeting-types/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateMeetingType',
        params: Id,
        body: MeetingTypeUpdate,
        response: { 200: MeetingType, 422: Problem, ...errors },
      },
    },
    async (req) => updateMeetingType(services, req.tenant, req.params.id, req.body),
  );

  app.delete(
    '/meeting-types/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'archiveMeetingType',
        summary: 'Archive a meeting type: its page answers 404; its bookings stay',
        params: Id,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await archiveMeetingType(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/bookings',
    {
      config: { access: 'member' },
      schema: {
        tags,
        operationId: 'listBookings',
        summary:
          'Bookings ending after `from` (default: a day ago), soonest first; `mine`: where the caller hosts',
        querystring: z.strictObject({
          from: z.iso.datetime({ offset: true }).optional(),
          mine: z
            .enum(['true', 'false'])
            .default('true')
            .transform((v) => v === 'true'),
        }),
        response: { 200: z.object({ data: z.array(Booking) }), ...errors },
      },
    },
    async (req) => ({ data: await listBookings(services, req.tenant, req.query) }),
  );

  app.post(
    '/bookings/:id/cancel',
    {
      config: { access: 'records:write', rights: 'none' },
      schema: {
        tags,
        operationId: 'cancelBooking',
        summary: 'Cancel a booking: its time is free again; the visitor and hosts get the cancellation',
        params: Id,
        response: { 200: Booking, 409: Problem, ...errors },
      },
    },
    async (req) => cancelBooking(services, req.tenant, req.params.id),
  );
}

/** The public side (no session, rate-limited per IP as every anonymous request): page, slots, booking. */
export function registerPublicBookingRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/public/booking/:token',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'getPublicBookingPage',
        summary: 'A booking page: the meeting, its hosts and questions (public)',
        params: Token,
        response: { 200: PublicPage, 400: Problem, 404: Problem },
      },
    },
    async (req) => getPublicPage(services, req.params.token),
  );

  app.get(
    '/public/booking/:token/slots',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'getPublicBookingSlots',
        summary: "A booking page's free slots, grouped by the visitor's dates in `time_zone` (public)",
        params: Token,
        querystring: SlotsQuery,
        response: { 200: Slots, 400: Problem, 404: Problem },
      },
    },
    async (req) => getPublicSlots(services, req.params.token, req.query),
  );

  app.post(
    '/public/booking/:token',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'createPublicBooking',
        summary:
          'Book a slot (public): the contact is found by e-mail or created, the meeting logged on its timeline, and the visitor and hosts get an iCalendar invitation. 409 `slot_taken` carries fresh `slots`.',
        params: Token,
        body: BookingCreate,
        response: { 201: PublicBooking, 409: slotTaken, 422: Problem, 400: Problem, 404: Problem },
      },
    },
    async (req, reply) =>
      withSlotProblem(req, reply, async () =>
        reply.code(201).send(await createBooking(services, req.params.token, req.body)),
      ),
  );

  app.get(
    '/public/bookings/:token',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'getPublicBooking',
        summary: 'A booking, by the secret of its reschedule and cancel link (public)',
        params: Token,
        response: { 200: PublicBooking, 400: Problem, 404: Problem },
      },
    },
    async (req) => getManagedBooking(services, req.params.token),
  );

  app.post(
    '/public/bookings/:token/cancel',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'cancelPublicBooking',
        summary: 'The visitor cancels (public, by the link sent)',
        params: Token,
        response: { 200: PublicBooking, 400: Problem, 404: Problem, 409: Problem },
      },
    },
    async (req) => cancelManagedBooking(services, req.params.token),
  );

  app.post(
    '/public/bookings/:token/reschedule',
    {
      config: { access: 'public' },
      schema: {
        tags,
        operationId: 'reschedulePublicBooking',
        summary: 'The visitor moves the booking to another free slot (public, by the link sent)',
        params: Token,
        body: Reschedule,
        response: { 200: PublicBooking, 400: Problem, 404: Problem, 409: slotTaken, 422: Problem },
      },
    },
    async (req, reply) =>
      withSlotProblem(req, reply, async () => rescheduleManagedBooking(services, req.params.token, req.body)),
  );
}
