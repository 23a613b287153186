import type { TemplateDefIn } from '../template.types.js';
import { US_STATE_OPTIONS } from './us-states.js';

/**
 * "Surrogacy agency": Cases worked from a new inquiry through screening, matching, pregnancy and
 * delivery, Intended Parents with their own statuses, and the intake team handing screened cases
 * to the case managers (the statuses from Matching on are owned by the case-manager role).
 */
const CASE_STAGES = [
  { value: 'new_inquiry', label: 'New inquiry', color: '#64748b' },
  { value: 'intake', label: 'Intake', color: '#0ea5e9' },
  { value: 'screening', label: 'Screening', color: '#6366f1' },
  { value: 'case_review', label: 'Case review', color: '#8b5cf6', owner_role: 'case_manager' },
  { value: 'matching', label: 'Matching', color: '#d946ef', owner_role: 'case_manager' },
  { value: 'legal', label: 'Legal & contracts', color: '#f59e0b', owner_role: 'case_manager' },
  { value: 'medical', label: 'Medical & transfer', color: '#f97316', owner_role: 'case_manager' },
  { value: 'pregnancy', label: 'Pregnancy', color: '#ec4899', owner_role: 'case_manager' },
  {
    value: 'delivered',
    label: 'Delivered',
    color: '#16a34a',
    kind: 'done' as const,
    owner_role: 'case_manager',
  },
  { value: 'closed', label: 'Closed', color: '#94a3b8', kind: 'cancelled' as const, reason_required: true },
];
const ORDER = CASE_STAGES.map((s) => s.value).filter((v) => v !== 'closed');
// Forward one stage at a time, back one stage (with a reason), and closing from any open stage.
const CASE_MOVES = [
  ...ORDER.slice(1).map((to, i) => ({ from: ORDER[i]!, to })),
  ...ORDER.slice(1, -1).map((from, i) => ({ from, to: ORDER[i]!, reason_required: true })),
  ...ORDER.slice(0, -1).map((from) => ({ from, to: 'closed' })),
  { from: 'closed', to: 'intake', reason_required: true },
];
const work = {
  rights: ['create', 'read', 'update'] as ('create' | 'read' | 'update')[],
  scope: 'all' as const,
};

export const surrogacyTemplate: TemplateDefIn = {
  key: 'surrogacy_agency',
  name: 'Surrogacy agency',
  description:
    'Cases from new inquiry through screening, matching, pregnancy and delivery; Intended Parents; intake and case-manager roles with a hand-off queue between them.',
  roles: [
    {
      key: 'intake',
      name: 'Intake',
      description: 'Answers inquiries and screens new cases',
      default_access: work,
    },
    {
      key: 'case_manager',
      name: 'Case managers',
      description: 'Take screened cases from intake and work them through matching to delivery',
      default_access: work,
    },
  ],
  objects: [
    {
      key: 'intended_parent',
      label_singular: 'Intended parent',
      label_plural: 'Intended parents',
      icon: 'users',
      numbering: { prefix: 'IP-', digits: 5 },
      fields: [
        {
          label: 'Status',
          key: 'status',
          type: 'status',
          required: false,
          statuses: {
            statuses: [
              { value: 'inquiry', label: 'Inquiry' },
              { value: 'consultation', label: 'Consultation' },
              { value: 'signed', label: 'Signed' },
              { value: 'matched', label: 'Matched' },
              { value: 'journey_complete', label: 'Journey complete', kind: 'done' },
              { value: 'withdrawn', label: 'Withdrawn', kind: 'cancelled', reason_required: true },
            ],
          },
        },
        { label: 'E-mail', key: 'email', type: 'email', required: false },
        { label: 'Phone', key: 'phone', type: 'phone', required: false },
        { label: 'State', key: 'state', type: 'select', required: false, options: US_STATE_OPTIONS },
        { label: 'Country', key: 'country', type: 'text', required: false },
      ],
    },
    {
      key: 'case',
      label_singular: 'Case',
      label_plural: 'Cases',
      icon: 'briefcase',
      numbering: { prefix: 'CASE-', digits: 5 },
      fields: [
        {
          label: 'Stage',
          key: 'stage',
          type: 'status',
          required: false,
          statuses: { statuses: CASE_STAGES, transitions: CASE_MOVES, initial: 'new_inquiry' },
        },
        { label: 'Surrogate phone', key: 'phone', type: 'phone', required: false },
        { label: 'Surrogate e-mail', key: 'email', type: 'email', required: false },
        { label: 'State', key: 'state', type: 'select', required: false, options: US_STATE_OPTIONS },
        {
          label: 'Intended parent',
          key: 'intended_parent',
          type: 'relation',
          required: false,
          relation: { object: 'intended_parent' },
        },
        {
          label: 'Contact',
          key: 'contact',
          type: 'relation',
          required: false,
          relation: { object: 'contact' },
        },
        { label: 'Due date', key: 'due_date', type: 'date', required: false },
        { label: 'Notes from intake', key: 'intake_notes', type: 'long_text', required: false },
      ],
    },
  ],
  queues: [{ role: 'case_manager', assignment: 'least_open' }],
  views: [
    {
      object: 'case',
      name: 'Open cases by stage',
      query: {
        filter: { field: 'stage', op: 'nin', value: ['delivered', 'closed'] },
        sort: [{ field: 'created_at', direction: 'asc' }],
      },
      columns: ['number', 'name', 'stage', 'state', 'owner_id'],
    },
    {
      object: 'case',
      name: 'In intake',
      query: { filter: { field: 'stage', op: 'in', value: ['new_inquiry', 'intake', 'screening'] } },
      columns: ['number', 'name', 'stage', 'phone', 'state'],
    },
    {
      object: 'intended_parent',
      name: 'Active intended parents',
      query: { filter: { field: 'status', op: 'nin', value: ['journey_complete', 'withdrawn'] } },
      columns: ['number', 'name', 'status', 'email', 'phone', 'state'],
    },
  ],
};
