import { maxLengthOf } from '../../platform/registry/field-values.js';
import type { FieldDef, ObjectDef, SelectOption } from '../../platform/registry/registry.types.js';
import { TASK_PRIORITIES } from '../tasks/task-bulk.service.js';
import type { ColumnMapping } from './import.schema.js';

/** The objects a file can be imported into. */
export const IMPORT_OBJECTS = ['contact', 'company', 'opportunity', 'task', 'note'] as const;
export type ImportObject = (typeof IMPORT_OBJECTS)[number];

/**
 * How a cell is read: `text` (trimmed, length-checked), `email`, `phone` (E.164), `number`,
 * `currency` (an amount with an optional ISO code or symbol: `parseMoney`),
 * `date` (YYYY-MM-DD, M/D/YYYY, D.M.YYYY), `datetime`, `boolean`, `select` / `multi_select`
 * (option value or label, case-insensitive), `tags` (split on `;` or `,`), `url`, and
 * `reference` (a name, e-mail or external id resolved against existing records while importing).
 */
export type TargetKind =
  | 'text'
  | 'email'
  | 'phone'
  | 'number'
  | 'currency'
  | 'date'
  | 'datetime'
  | 'boolean'
  | 'select'
  | 'multi_select'
  | 'tags'
  | 'url'
  | 'reference';

/** A field a column can fill. Custom fields are `custom.<key>`. */
export type ImportTarget = {
  key: string;
  label: string;
  kind: TargetKind;
  /** Several columns may fill it (e-mails, phones, tags). */
  multiple: boolean;
  required: boolean;
  maxLength?: number | undefined;
  options?: SelectOption[] | undefined;
  /** For references: what is looked up and by what. */
  reference?: { object: string; by: string } | undefined;
  description?: string | undefined;
  /** Header names (normalized) that suggest this target. */
  synonyms: string[];
};

const t = (
  key: string,
  label: string,
  kind: TargetKind,
  synonyms: string[],
  extra: Partial<ImportTarget> = {},
): ImportTarget => ({ key, label, kind, multiple: false, required: false, synonyms, ...extra });

const EXTERNAL_ID = (object: string, synonyms: string[]) =>
  t('external_id', 'External id', 'text', ['externalid', 'id', 'recordid', 'sourceid', ...synonyms], {
    maxLength: 200,
    description: `This ${object}'s id in the system the file comes from: later files refer to it`,
  });
const OWNER = (synonyms: string[]) =>
  t('owner', 'Owner', 'reference', ['owner', 'ownername', 'owneremail', 'assignedto', ...synonyms], {
    reference: { object: 'member', by: 'name or e-mail' },
    description:
      "A member's name or e-mail; an unknown one is reported on the row and the importer becomes the owner",
  });

/** What a task or note is about: the first of these that is filled and found. */
const LINKS = [
  t('contact', 'Contact', 'reference', ['contact', 'contactemail', 'contactname', 'who', 'person'], {
    reference: { object: 'contact', by: 'external id, e-mail or name' },
  }),
  t('company', 'Company', 'reference', ['company', 'companyname', 'account', 'accountname'], {
    reference: { object: 'company', by: 'external id or name' },
  }),
  t('opportunity', 'Opportunity', 'reference', ['opportunity', 'deal', 'opportunityid', 'dealid', 'what'], {
    reference: { object: 'opportunity', by: 'external id or title' },
  }),
];

const STANDARD_TARGETS: Record<ImportObject, ImportTarget[]> = {
  contact: [
    t('first_name', 'First name', 'text', ['firstname', 'givenname', 'first', 'forename'], {
      maxLength: 100,
    }),
    t('last_name', 'Last name', 'text', ['lastname', 'surname', 'familyname', 'last'], { maxLength: 100 }),
    t('full_name', 'Full name (split)', 'text', ['name', 'fullname', 'contactname', 'contact', 'person'], {
      maxLength: 200,
      description: 'Split into first name (all but the last word) and last name',
    }),
    t(
      'email',
      'E-mail',
      'email',
      ['email', 'emailaddress', 'mail', 'workemail', 'personalemail', 'emails', 'emailaddresses'],
      { multiple: true, description: 'One or more per cell, separated by ; or ,: the first becomes primary' },
    ),
    t(
      'phone',
      'Phone',
      'phone',
      ['phone', 'phonenumber', 'telephone', 'tel', 'mobile', 'cell', 'workphone', 'phones', 'phonenumbers'],
      { multiple: true, description: 'One or more per cell, separated by ;: the first becomes primary' },
    ),
    t('tags', 'Tags', 'tags', ['tags', 'tag', 'labels'], { multiple: true }),
    OWNER(['leadowner', 'contactowner', 'salesagent', 'salesrep']),
    t(
      'company',
      'Company',
      'reference',
      ['company', 'companyname', 'account', 'accountname', 'organization', 'organisation', 'employer'],
      {
        reference: { object: 'company', by: 'external id or name' },
        description: 'Linked as primary company; created when no company has this name or external id',
      },
    ),
    t('source', 'Source', 'select', ['source', 'leadsource'], { options: undefined }),
    t('lead_status', 'Lead status', 'select', ['leadstatus'], { options: undefined }),
    t('notes', 'Notes', 'text', ['notes', 'note', 'description', 'comments', 'comment'], {
      maxLength: 10_000,
    }),
    EXTERNAL_ID('contact', ['contactid', 'customerid', 'userid', 'leadid', 'personid']),
  ],
  company: [
    t(
      'name',
      'Name',
      'text',
      [
        'name',
        'company',
        'companyname',
        'account',
        'accountname',
        'organization',
        'organizationname',
        'organisation',
      ],
      {
        maxLength: 200,
        required: true,
      },
    ),
    t('domain', 'Domain', 'text', ['domain', 'domainname'], { maxLength: 253 }),
    t('website', 'Website', 'url', ['website', 'url', 'web', 'homepage', 'site']),
    t('phone', 'Phone', 'phone', ['phone', 'phonenumber', 'telephone', 'tel']),
    t('industry', 'Industry', 'text', ['industry', 'sector', 'vertical'], { maxLength: 100 }),
    t('size', 'Size', 'select', ['size', 'companysize'], { options: undefined }),
    t('tags', 'Tags', 'tags', ['tags', 'tag', 'labels'], { multiple: true }),
    OWNER(['accountowner', 'companyowner']),
    t(
      'parent_company',
      'Parent company',
      'reference',
      ['parent', 'parentcompany', 'parentaccount', 'subsidiaryof', 'parentname'],
      {
        reference: { object: 'company', by: 'external id or name' },
        description: 'Resolved within the file too: a parent listed later in the file is found',
      },
    ),
    t('address.street', 'Street', 'text', ['street', 'address', 'streetaddress', 'address1'], {
      maxLength: 200,
    }),
    t('address.city', 'City', 'text', ['city', 'town'], { maxLength: 100 }),
    t('address.region', 'Region', 'text', ['region', 'state', 'province'], { maxLength: 100 }),
    t('address.postal_code', 'Postal code', 'text', ['postalcode', 'zip', 'zipcode', 'postcode'], {
      maxLength: 20,
    }),
    t('address.country', 'Country', 'text', ['country', 'officelocation', 'location'], { maxLength: 100 }),
    t('notes', 'Notes', 'text', ['notes', 'description', 'comments'], { maxLength: 10_000 }),
    EXTERNAL_ID('company', ['companyid', 'accountid', 'organizationid', 'orgid']),
  ],
  opportunity: [
    t(
      'title',
      'Title',
      'text',
      ['title', 'name', 'opportunityname', 'dealname', 'opportunity', 'deal', 'subject'],
      {
        maxLength: 200,
        description: 'When empty, the external id (or "Imported opportunity") is used',
      },
    ),
    t(
      'amount',
      'Amount',
      'currency',
      ['amount', 'value', 'closevalue', 'dealvalue', 'revenue', 'dealamount'],
      {
        description:
          'A number, or an amount with its currency (EUR 1,250.50, €1,250.50): a Currency column wins',
      },
    ),
    t('currency', 'Currency', 'text', ['currency', 'currencycode'], { maxLength: 3 }),
    t('expected_close_date', 'Expected close date', 'date', [
      'closedate',
      'expectedclosedate',
      'closingdate',
      'expectedclose',
    ]),
    OWNER(['salesagent', 'opportunityowner', 'dealowner', 'salesrep']),
    t(
      'company',
      'Company',
      'reference',
      ['company', 'companyname', 'account', 'accountname', 'organization'],
      {
        reference: { object: 'company', by: 'external id or name' },
        description: 'An unknown company is reported on the row (not created)',
      },
    ),
    t('contact', 'Contact', 'reference', ['contact', 'contactemail', 'contactname', 'person'], {
      reference: { object: 'contact', by: 'external id, e-mail or name' },
    }),
    t('pipeline', 'Pipeline', 'reference', ['pipeline', 'pipelinename'], {
      reference: { object: 'pipeline', by: 'name' },
      description: "Default: the import's pipeline option, else the default pipeline",
    }),
    t('stage', 'Stage', 'reference', ['stage', 'dealstage', 'opportunitystage', 'salesstage'], {
      reference: { object: 'stage', by: 'name' },
      description: 'A stage of the pipeline by name; unknown ones fail the row unless create_missing_stages',
    }),
    t('tags', 'Tags', 'tags', ['tags', 'tag', 'labels'], { multiple: true }),
    EXTERNAL_ID('opportunity', ['opportunityid', 'dealid']),
  ],
  task: [
    t('title', 'Title', 'text', ['title', 'subject', 'task', 'name', 'tasktitle'], {
      maxLength: 200,
      required: true,
    }),
    t('description', 'Description', 'text', ['description', 'details', 'notes', 'body', 'comments'], {
      maxLength: 5000,
    }),
    t('due_date', 'Due date', 'date', ['duedate', 'due', 'deadline', 'activitydate']),
    t('priority', 'Priority', 'select', ['priority'], {
      options: TASK_PRIORITIES.map((v) => ({
        value: v,
        label: v[0]!.toUpperCase() + v.slice(1),
      })),
    }),
    t('assignee', 'Assignee', 'reference', ['assignee', 'assignedto', 'owner', 'taskowner'], {
      reference: { object: 'member', by: 'name or e-mail' },
      description: 'An unknown one is reported on the row and the importer is assigned',
    }),
    ...LINKS,
    EXTERNAL_ID('task', ['taskid', 'activityid']),
  ],
  note: [
    t('body', 'Text', 'text', ['body', 'note', 'notes', 'text', 'content', 'comment', 'description'], {
      maxLength: 50_000,
      required: true,
      description: 'Plain text; line breaks become paragraphs',
    }),
    ...LINKS,
    EXTERNAL_ID('note', ['noteid']),
  ],
};

const KIND_OF: Record<FieldDef['type'], TargetKind> = {
  text: 'text',
  long_text: 'text',
  number: 'number',
  currency: 'currency',
  date: 'date',
  datetime: 'datetime',
  boolean: 'boolean',
  select: 'select',
  multi_select: 'multi_select',
  email: 'email',
  phone: 'phone',
  url: 'url',
  relation: 'text',
  user: 'reference',
  tags: 'tags',
  uuid: 'text',
};

/** Lower-case letters and digits only, a trailing number dropped: "E-mail 2" -> "email". */
export function normalizeHeader(header: string): string {
  return header
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
    .replace(/(?<=[a-z])\d+$/, '');
}

/**
 * Every field a column of a file can fill for `object`: its standard fields (with references
 * such as company or owner, looked up by name, e-mail or external id) and its active custom
 * fields as `custom.<key>`. Select options come from the registry.
 */
export function importTargets(object: ObjectDef): ImportTarget[] {
  const byKey = new Map(object.fields.map((f) => [f.key, f]));
  const standard = STANDARD_TARGETS[object.key as ImportObject] ?? [];
  const withOptions = standard.map((target) =>
    target.kind === 'select'
      ? { ...target, options: byKey.get(target.key)?.options ?? target.options }
      : target,
  );
  const custom = object.fields
    .filter((f) => f.origin === 'custom' && !f.retired && f.type !== 'relation')
    .map((f) =>
      t(`custom.${f.key}`, f.label, KIND_OF[f.type], [normalizeHeader(f.key), normalizeHeader(f.label)], {
        maxLength: maxLengthOf(f),
        options: f.options,
        required: f.required,
        multiple: f.type === 'multi_select',
        ...(f.type === 'user' ? { reference: { object: 'member', by: 'name or e-mail' } } : {}),
        description: f.description,
      }),
    );
  return [...withOptions, ...custom];
}

/**
 * Suggests a target for each header: exact key or label first, then custom fields, then
 * synonyms ("E-mail", "Phone Number", "Company Name", "Account"...). A single-valued target is
 * suggested for one column only (the first); multi-valued ones (e-mail, phone) for each.
 */
export function suggestMapping(headers: string[], targets: ImportTarget[]): ColumnMapping[] {
  const taken = new Set<string>();
  const ordered = [
    ...targets.filter((x) => x.key.startsWith('custom.')),
    ...targets.filter((x) => !x.key.startsWith('custom.')),
  ];
  return headers.map((header, index) => {
    const norm = normalizeHeader(header);
    const exact = header.trim().toLowerCase();
    // "Contact: First Name" (Salesforce reports) also tries its last part.
    const tail = normalizeHeader(header.split(/[:.]/).at(-1) ?? header);
    const free = (x: ImportTarget) => x.multiple || !taken.has(x.key);
    const match =
      targets.find((x) => (x.key === exact || x.label.toLowerCase() === exact) && free(x)) ??
      ordered.find((x) => x.synonyms.includes(norm) && free(x)) ??
      ordered.find((x) => x.synonyms.includes(tail) && free(x));
    const target = match && (match.multiple || !taken.has(match.key)) ? match.key : null;
    if (target) taken.add(target);
    return { index, header, target };
  });
}
