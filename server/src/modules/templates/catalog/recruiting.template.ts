import type { TemplateDefIn } from '../template.types.js';

/** "Recruiting": positions to fill and candidates moving through interview stages. */
export const recruitingTemplate: TemplateDefIn = {
  key: 'recruiting',
  name: 'Recruiting',
  description: 'Positions to fill and candidates moving from application through interviews to an offer.',
  objects: [
    {
      key: 'position',
      label_singular: 'Position',
      label_plural: 'Positions',
      icon: 'briefcase',
      display_field: { key: 'title', label: 'Title', type: 'text' },
      fields: [
        {
          label: 'Status',
          key: 'status',
          type: 'status',
          statuses: {
            statuses: [
              { value: 'draft', label: 'Draft' },
              { value: 'open', label: 'Open' },
              { value: 'on_hold', label: 'On hold' },
              { value: 'filled', label: 'Filled', kind: 'done' },
              { value: 'cancelled', label: 'Cancelled', kind: 'cancelled' },
            ],
          },
        },
        { label: 'Department', key: 'department', type: 'text' },
        { label: 'Location', key: 'location', type: 'text' },
        {
          label: 'Employment type',
          key: 'employment_type',
          type: 'select',
          options: [
            { value: 'full_time', label: 'Full-time' },
            { value: 'part_time', label: 'Part-time' },
            { value: 'contract', label: 'Contract' },
          ],
        },
        { label: 'Hiring manager', key: 'hiring_manager', type: 'user' },
        { label: 'Company', key: 'company', type: 'relation', relation: { object: 'company' } },
      ],
    },
    {
      key: 'candidate',
      label_singular: 'Candidate',
      label_plural: 'Candidates',
      icon: 'user',
      fields: [
        {
          label: 'Stage',
          key: 'stage',
          type: 'status',
          statuses: {
            statuses: [
              { value: 'applied', label: 'Applied' },
              { value: 'screening', label: 'Phone screen' },
              { value: 'interview', label: 'Interview' },
              { value: 'final_interview', label: 'Final interview' },
              { value: 'offer', label: 'Offer' },
              { value: 'hired', label: 'Hired', kind: 'done' },
              { value: 'rejected', label: 'Rejected', kind: 'cancelled', reason_required: true },
              { value: 'withdrew', label: 'Withdrew', kind: 'cancelled' },
            ],
          },
        },
        { label: 'E-mail', key: 'email', type: 'email' },
        { label: 'Phone', key: 'phone', type: 'phone' },
        { label: 'Position', key: 'position', type: 'relation', relation: { object: 'position' } },
        { label: 'LinkedIn', key: 'linkedin', type: 'url' },
        {
          label: 'Source',
          key: 'source',
          type: 'select',
          options: [
            { value: 'referral', label: 'Referral' },
            { value: 'job_board', label: 'Job board' },
            { value: 'agency', label: 'Agency' },
            { value: 'direct', label: 'Direct' },
          ],
        },
        { label: 'Expected salary', key: 'expected_salary', type: 'currency' },
      ],
    },
  ],
  views: [
    {
      object: 'candidate',
      name: 'In interviews',
      query: { filter: { field: 'stage', op: 'in', value: ['interview', 'final_interview'] } },
      columns: ['name', 'stage', 'position', 'email'],
    },
    {
      object: 'position',
      name: 'Open positions',
      query: { filter: { field: 'status', op: 'eq', value: 'open' } },
      columns: ['title', 'department', 'location', 'hiring_manager'],
    },
  ],
};
