import { CONTACT_DISPLAY, contactTitleSql } from './display-name.js';
import type { FieldDef, FieldStorage, FieldType, ObjectDef, SelectOption } from './registry.types.js';

type FieldSpec = Partial<Omit<FieldDef, 'key' | 'label' | 'type' | 'storage'>> & {
  column?: string;
  computed?: boolean;
};

let position = 0;
/** A standard field stored in a column named like its key (unless `column` says otherwise). */
function field(key: string, label: string, type: FieldType, spec: FieldSpec = {}): FieldDef {
  const { column, computed, ...rest } = spec;
  const storage: FieldStorage = computed ? { kind: 'computed' } : { kind: 'column', column: column ?? key };
  const textLike = ['text', 'long_text', 'email', 'phone', 'url'].includes(type);
  return {
    key,
    label,
    type,
    storage,
    required: false,
    unique: false,
    searchable: false,
    filterable: !computed && type !== 'long_text',
    sortable: !computed && !['tags', 'multi_select', 'long_text'].includes(type),
    readOnly: false,
    origin: 'standard',
    position: position++,
    retired: false,
    maxLength: textLike ? (type === 'long_text' ? 10_000 : type === 'url' ? 2_048 : 500) : undefined,
    ...rest,
  };
}

const systemFields = (): FieldDef[] => [
  field('created_at', 'Created', 'datetime', { readOnly: true }),
  field('updated_at', 'Updated', 'datetime', { readOnly: true }),
  field('created_by', 'Created by', 'user', { readOnly: true }),
  field('updated_by', 'Updated by', 'user', { readOnly: true }),
  field('archived_at', 'Archived', 'datetime', { readOnly: true }),
];

export const COMPANY_SIZES: SelectOption[] = [
  '1-10',
  '11-50',
  '51-200',
  '201-500',
  '501-1000',
  '1001-5000',
  '5001+',
].map((v) => ({ value: v, label: `${v} employees` }));

export const CONTACT_SOURCES: SelectOption[] = [
  ['manual', 'Manual'],
  ['import', 'Import'],
  ['form', 'Web form'],
  ['api', 'API'],
  ['workflow', 'Workflow'],
  ['referral', 'Referral'],
  ['event', 'Event'],
  ['other', 'Other'],
].map(([value, label]) => ({ value: value!, label: label! }));

export const LEAD_STATUSES: SelectOption[] = [
  ['new', 'New'],
  ['working', 'Working'],
  ['qualified', 'Qualified'],
  ['converted', 'Converted'],
  ['disqualified', 'Disqualified'],
].map(([value, label]) => ({ value: value!, label: label! }));

/** The standard objects' fields: real columns with constraints and indexes (DESIGN "The spine"). */
export const STANDARD_OBJECTS: Record<string, ObjectDef> = {
  contact: {
    key: 'contact',
    labelSingular: 'Contact',
    labelPlural: 'Contacts',
    table: 'contacts',
    indexedSearch: true,
    titleSql: contactTitleSql,
    defaultSort: { field: 'created_at', direction: 'desc' },
    display: CONTACT_DISPLAY,
    fields: [
      field('id', 'ID', 'uuid', { readOnly: true }),
      field('first_name', 'First name', 'text', {
        searchable: true,
        maxLength: 100,
        synonyms: ['firstname', 'givenname', 'first', 'forename'],
      }),
      field('last_name', 'Last name', 'text', {
        searchable: true,
        maxLength: 100,
        synonyms: ['lastname', 'surname', 'familyname', 'last'],
      }),
      {
        // One Name column for tables (first and last name, sorted as shown), as Twenty and HubSpot
        // show it; read-only, written through first_name and last_name.
        ...field('name', 'Name', 'text', {
          computed: true,
          readOnly: true,
          description: 'First and last name',
        }),
        sortable: true,
        madeOf: ['first_name', 'last_name'],
        storage: {
          kind: 'computed',
          sql: "nullif(concat_ws(' ', nullif({table}.first_name, ''), nullif({table}.last_name, '')), '')",
        },
      },
      field('job_title', 'Job title', 'text', {
        maxLength: 200,
        synonyms: ['jobtitle', 'position', 'jobrole'],
      }),
      field('email', 'E-mail', 'email', {
        searchable: true,
        unique: true,
        description: 'The primary e-mail',
        synonyms: ['email', 'emailaddress', 'mail', 'workemail', 'personalemail', 'emails', 'emailaddresses'],
      }),
      {
        ...field('emails', 'E-mails', 'email', { computed: true, description: 'All e-mails, one primary' }),
        storage: { kind: 'computed', sql: '{table}.emails' }, // selectable in lists and exports
      },
      field('phone', 'Phone', 'phone', {
        searchable: true,
        description: 'The primary phone, E.164',
        synonyms: [
          'phone',
          'phonenumber',
          'telephone',
          'tel',
          'mobile',
          'cell',
          'workphone',
          'phones',
          'phonenumbers',
        ],
      }),
      {
        ...field('phones', 'Phones', 'phone', {
          computed: true,
          description: 'All phones, normalized with the input kept',
        }),
        storage: { kind: 'computed', sql: '{table}.phones' }, // selectable in lists and exports
      },
      field('tags', 'Tags', 'tags', { synonyms: ['tags', 'tag', 'labels'] }),
      field('owner_id', 'Owner', 'user'),
      {
        ...field('companies', 'Companies', 'relation', { computed: true, relation: { object: 'company' } }),
        // Filter by company: linked to it (or not); see FieldStorage's idsSql.
        filterable: true,
        // Selectable in lists (the contacts table shows them): the linked companies, primary first.
        storage: {
          kind: 'computed',
          idsSql: `select cc.company_id from contact_companies cc
                    where cc.org_id = {table}.org_id and cc.contact_id = {table}.id`,
          sql: `select coalesce(json_agg(json_build_object('id', co.id, 'name', co.name, 'primary', cc.is_primary)
                   order by cc.is_primary desc, co.name), '[]'::json)
                  from contact_companies cc join companies co on co.org_id = cc.org_id and co.id = cc.company_id
                 where cc.org_id = {table}.org_id and cc.contact_id = {table}.id`,
        },
      },
      field('source', 'Source', 'select', { options: CONTACT_SOURCES, synonyms: ['source', 'leadsource'] }),
      field('lead_status', 'Lead status', 'select', {
        options: LEAD_STATUSES,
        description: 'Set when the contact is a lead',
        synonyms: ['leadstatus'],
      }),
      field('notes', 'Notes', 'long_text', {
        synonyms: ['notes', 'note', 'description', 'comments', 'comment'],
      }),
      ...systemFields(),
    ],
  },
  company: {
    key: 'company',
    labelSingular: 'Company',
    labelPlural: 'Companies',
    table: 'companies',
    indexedSearch: true,
    titleSql: (t) => `${t}.name`,
    defaultSort: { field: 'created_at', direction: 'desc' },
    display: {
      fields: ['name'],
      fallback: [],
      empty: 'Unnamed company',
      columns: ['name', 'domain', 'industry', 'size', 'tags', 'owner_id', 'created_at'],
    },
    fields: [
      field('id', 'ID', 'uuid', { readOnly: true }),
      field('name', 'Name', 'text', {
        required: true,
        searchable: true,
        maxLength: 200,
        synonyms: [
          'name',
          'company',
          'companyname',
          'account',
          'accountname',
          'organization',
          'organizationname',
          'organisation',
        ],
      }),
      field('domain', 'Domain', 'text', {
        searchable: true,
        maxLength: 253,
        synonyms: ['domain', 'domainname'],
      }),
      field('website', 'Website', 'url', { synonyms: ['website', 'url', 'web', 'homepage', 'site'] }),
      field('phone', 'Phone', 'phone', {
        searchable: true,
        synonyms: ['phone', 'phonenumber', 'telephone', 'tel'],
      }),
      field('address', 'Address', 'text', {
        computed: true,
        description: 'street, city, region, postal_code, country',
      }),
      field('industry', 'Industry', 'text', { maxLength: 100, synonyms: ['industry', 'sector', 'vertical'] }),
      field('size', 'Size', 'select', { options: COMPANY_SIZES, synonyms: ['size', 'companysize'] }),
      field('tags', 'Tags', 'tags', { synonyms: ['tags', 'tag', 'labels'] }),
      field('owner_id', 'Owner', 'user'),
      field('parent_id', 'Parent company', 'relation', { relation: { object: 'company' } }),
      field('notes', 'Notes', 'long_text', { synonyms: ['notes', 'description', 'comments'] }),
      ...systemFields(),
    ],
  },
};

STANDARD_OBJECTS.opportunity = {
  key: 'opportunity',
  labelSingular: 'Opportunity',
  labelPlural: 'Opportunities',
  table: 'opportunities',
  titleSql: (t) => `${t}.title`,
  defaultSort: { field: 'created_at', direction: 'desc' },
  display: {
    fields: ['title'],
    fallback: [],
    empty: 'Untitled opportunity',
    columns: ['title', 'amount', 'currency', 'expected_close_date', 'status', 'owner_id', 'created_at'],
  },
  fields: [
    field('id', 'ID', 'uuid', { readOnly: true }),
    field('title', 'Title', 'text', {
      required: true,
      searchable: true,
      maxLength: 200,
      synonyms: ['title', 'name', 'opportunityname', 'dealname', 'opportunity', 'deal', 'subject'],
    }),
    field('amount', 'Amount', 'number', {
      description: 'Decimal amount in currency',
      derivedKeys: ['sums', 'total', 'weighted', 'unconverted'],
      synonyms: ['amount', 'value', 'closevalue', 'dealvalue', 'revenue', 'dealamount'],
    }),
    field('currency', 'Currency', 'text', { maxLength: 3, synonyms: ['currency', 'currencycode'] }),
    field('expected_close_date', 'Expected close', 'date', {
      synonyms: ['closedate', 'expectedclosedate', 'closingdate', 'expectedclose'],
    }),
    field('owner_id', 'Owner', 'user'),
    field('contact_id', 'Contact', 'relation', { relation: { object: 'contact' } }),
    field('company_id', 'Company', 'relation', { relation: { object: 'company' } }),
    field('pipeline_id', 'Pipeline', 'uuid'),
    field('stage_id', 'Stage', 'uuid'),
    field('status', 'Status', 'select', {
      readOnly: true,
      options: ['open', 'won', 'lost', 'abandoned'].map((v) => ({
        value: v,
        label: v[0]!.toUpperCase() + v.slice(1),
      })),
    }),
    field('close_reason', 'Close reason', 'text', { readOnly: true }),
    field('forecast_category', 'Forecast category', 'select', {
      options: [
        { value: 'pipeline', label: 'Pipeline' },
        { value: 'best_case', label: 'Best case' },
        { value: 'commit', label: 'Commit' },
        { value: 'closed', label: 'Closed' },
        { value: 'omitted', label: 'Omitted' },
      ],
    }),
    field('closed_at', 'Closed', 'datetime', { readOnly: true }),
    field('stage_entered_at', 'In stage since', 'datetime', { readOnly: true }),
    field('source', 'Source', 'select', {
      options: ['manual', 'form', 'workflow', 'import', 'api'].map((v) => ({ value: v, label: v })),
    }),
    field('tags', 'Tags', 'tags', { synonyms: ['tags', 'tag', 'labels'] }),
    ...systemFields(),
  ],
};

STANDARD_OBJECTS.product = {
  key: 'product',
  labelSingular: 'Product',
  labelPlural: 'Products',
  table: 'products',
  indexedSearch: true,
  titleSql: (t) => `${t}.name`,
  defaultSort: { field: 'created_at', direction: 'desc' },
  display: {
    fields: ['name'],
    fallback: ['sku'],
    empty: 'Unnamed product',
    columns: ['sku', 'name', 'unit', 'tax_rate', 'active', 'created_at'],
  },
  fields: [
    field('id', 'ID', 'uuid', { readOnly: true }),
    field('sku', 'SKU', 'text', {
      unique: true,
      searchable: true,
      maxLength: 64,
      description: 'Unique in the organization; made from the name when not given',
      synonyms: ['sku', 'productcode', 'code', 'itemcode', 'partnumber', 'article'],
    }),
    field('name', 'Name', 'text', {
      required: true,
      searchable: true,
      maxLength: 200,
      synonyms: ['name', 'product', 'productname', 'item', 'itemname'],
    }),
    field('description', 'Description', 'long_text', { synonyms: ['description', 'details'] }),
    field('unit', 'Unit', 'text', { maxLength: 32, synonyms: ['unit', 'uom', 'unitofmeasure'] }),
    field('fractional', 'Fractional quantities', 'boolean', {
      description: 'Whether a line may hold a fractional quantity (hours: yes; licences: no)',
    }),
    field('backorders', 'Back-orders', 'boolean', {
      description: 'Whether orders may reserve more than a warehouse holds (stock below zero)',
    }),
    field('active', 'Active', 'boolean', { synonyms: ['active', 'enabled'] }),
    field('tax_rate', 'Tax rate %', 'number', { synonyms: ['taxrate', 'tax', 'vat', 'vatrate'] }),
    field('tags', 'Tags', 'tags', { synonyms: ['tags', 'tag', 'labels', 'series', 'category'] }),
    field('owner_id', 'Owner', 'user'),
    ...systemFields(),
  ],
};

/** How urgent a task is. */
export const TASK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
/** The records a task or a note can be about. */
export const LINKABLE_OBJECTS = ['contact', 'company', 'opportunity'] as const;

const capitalized = (values: readonly string[]): SelectOption[] =>
  values.map((v) => ({ value: v, label: v[0]!.toUpperCase() + v.slice(1) }));

STANDARD_OBJECTS.task = {
  key: 'task',
  labelSingular: 'Task',
  labelPlural: 'Tasks',
  table: 'tasks',
  activity: true,
  titleSql: (t) => `${t}.title`,
  // Soonest due first, undated last (ascending sorts put nulls last).
  defaultSort: { field: 'due_at', direction: 'asc' },
  display: {
    fields: ['title'],
    fallback: [],
    empty: 'Untitled task',
    columns: ['title', 'due_at', 'priority', 'status', 'assignee_id', 'linked_object', 'created_at'],
  },
  fields: [
    field('id', 'ID', 'uuid', { readOnly: true }),
    field('title', 'Title', 'text', {
      required: true,
      searchable: true,
      maxLength: 200,
      synonyms: ['title', 'subject', 'task', 'name', 'tasktitle'],
    }),
    field('description', 'Description', 'long_text', {
      searchable: true,
      maxLength: 5000,
      synonyms: ['description', 'details', 'notes', 'body', 'comments'],
    }),
    field('due_at', 'Due', 'datetime', { description: 'An all-day task: the start of its day in UTC' }),
    field('all_day', 'All day', 'boolean'),
    field('priority', 'Priority', 'select', {
      options: capitalized(TASK_PRIORITIES),
      synonyms: ['priority'],
    }),
    field('assignee_id', 'Assignee', 'user'),
    field('status', 'Status', 'select', { readOnly: true, options: capitalized(['open', 'done']) }),
    field('completed_at', 'Completed', 'datetime', { readOnly: true }),
    field('completed_by', 'Completed by', 'user', { readOnly: true }),
    field('linked_object', 'Linked object', 'select', { options: capitalized(LINKABLE_OBJECTS) }),
    field('linked_id', 'Linked record', 'uuid'),
    field('remind_at', 'Reminder', 'datetime'),
    field('reminder_sent_at', 'Reminder sent', 'datetime', { readOnly: true }),
    ...systemFields(),
  ],
};

STANDARD_OBJECTS.note = {
  key: 'note',
  labelSingular: 'Note',
  labelPlural: 'Notes',
  table: 'notes',
  activity: true,
  titleSql: (t) => `left(${t}.body_text, 80)`,
  defaultSort: { field: 'created_at', direction: 'desc' },
  display: {
    fields: ['body_text'],
    fallback: [],
    empty: 'Empty note',
    columns: ['body_text', 'linked_object', 'author_id', 'created_at'],
  },
  fields: [
    field('id', 'ID', 'uuid', { readOnly: true }),
    field('body_text', 'Text', 'long_text', {
      required: true,
      searchable: true,
      maxLength: 50_000,
      synonyms: ['body', 'note', 'notes', 'text', 'content', 'comment', 'description'],
    }),
    field('linked_object', 'Linked object', 'select', { options: capitalized(LINKABLE_OBJECTS) }),
    field('linked_id', 'Linked record', 'uuid'),
    field('author_id', 'Author', 'user', { readOnly: true }),
    field('created_at', 'Created', 'datetime', { readOnly: true }),
    field('updated_at', 'Updated', 'datetime', { readOnly: true }),
  ],
};

/** The objects that admins may add custom fields to (not tasks and notes: they have no `custom` column). */
export const CUSTOMIZABLE_OBJECTS = Object.values(STANDARD_OBJECTS)
  .filter((o) => !o.activity)
  .map((o) => o.key);
