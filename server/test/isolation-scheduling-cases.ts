import { CASES, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for scheduling (issue 33): availability and the calendar are the
// caller's own; meeting types, their hosts and bookings are the tenant's. The public booking
// routes take a page's or a booking's token (a secret carrying its organization, not an id).

const allDay = Object.fromEntries(
  ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '00:00', end: '24:00' }]]),
);

CASES['GET /api/v1/me/availability'] = [{ fields: {}, send: () => ({ url: '/api/v1/me/availability' }) }];
CASES['PUT /api/v1/me/availability'] = [
  {
    fields: {},
    send: () => ({ url: '/api/v1/me/availability', body: { time_zone: 'UTC', weekly: allDay } }),
  },
];
for (const key of [
  'GET /api/v1/me/calendar',
  'PUT /api/v1/me/calendar',
  'DELETE /api/v1/me/calendar',
  'POST /api/v1/me/calendar/sync',
])
  NO_IDS[key] = "the caller's own CalDAV calendar: no ids";
for (const key of [
  'GET /api/v1/public/booking/:token',
  'GET /api/v1/public/booking/:token/slots',
  'POST /api/v1/public/booking/:token',
])
  NO_IDS[key] = "public: takes a booking page's token (a secret, not an id)";
for (const key of [
  'GET /api/v1/public/bookings/:token',
  'POST /api/v1/public/bookings/:token/cancel',
  'POST /api/v1/public/bookings/:token/reschedule',
])
  NO_IDS[key] = "public: takes a booking's manage token (a secret, not an id)";

CASES['GET /api/v1/meeting-types'] = [
  { fields: {}, send: () => ({ url: '/api/v1/meeting-types' }), holds: (r) => holdsOwn(r, 'meetingType') },
];
CASES['POST /api/v1/meeting-types'] = [
  {
    fields: { 'body.host_ids[]': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/meeting-types',
      body: { name: 'Walk', duration_minutes: 30, assignment: 'single', host_ids: [v['body.host_ids[]']] },
    }),
  },
];
CASES['GET /api/v1/meeting-types/:id'] = [
  { fields: { 'path.id': 'meetingType' }, send: (v) => ({ url: `/api/v1/meeting-types/${v['path.id']}` }) },
];
CASES['PATCH /api/v1/meeting-types/:id'] = [
  {
    fields: { 'path.id': 'freshMeetingType', 'body.host_ids[]': 'user' },
    fresh: ['freshMeetingType'],
    send: (v) => ({
      url: `/api/v1/meeting-types/${v['path.id']}`,
      body: { name: 'Walked', host_ids: [v['body.host_ids[]']] },
    }),
  },
];
CASES['DELETE /api/v1/meeting-types/:id'] = [
  {
    fields: { 'path.id': 'freshMeetingType' },
    fresh: ['freshMeetingType'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/meeting-types/${v['path.id']}` }),
  },
];
CASES['GET /api/v1/bookings'] = [
  { fields: {}, send: () => ({ url: '/api/v1/bookings' }), holds: (r) => holdsOwn(r, 'booking') },
];
CASES['POST /api/v1/bookings/:id/cancel'] = [
  {
    fields: { 'path.id': 'freshBooking' },
    fresh: ['freshBooking'],
    send: (v) => ({ url: `/api/v1/bookings/${v['path.id']}/cancel`, body: {} }),
  },
];
