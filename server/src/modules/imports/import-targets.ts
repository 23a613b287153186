import { maxLengthOf } from '../../platform/registry/field-values.js';
import type { FieldDef, ObjectDef, SelectOption } from '../../platform/registry/registry.types.js';
import { CRM_EXPORT_SYNONYMS } from './crm-export-headers.js';
import type { ColumnMapping } from './import.schema.js';

/** The objects a file can be imported into. */
export const IMPORT_OBJECTS = ['contact', 'company', 'opportunity', 'task', 'note', 'product'] as const;
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
  /** One of several targets any of which will do (a task's contact, company or opportunity). */
  alternative?: boolean | undefined;
};

const t = (
  key: string,
  label: string,
  kind: TargetKind,
  synonyms: string[],
  extra: Partial<ImportTarget> = {},
): ImportTarget => ({ key, label, kind, multiple: false, required: false, synonyms, ...extra });

/**
 * A target that fills the registry field `key` of the object: its label, kind, length, options,
 * whether it is required and its header synonyms come from the registry; `extra` says what the
 * import does differently (several values per cell, a value read another way, a key of its own).
 */
const field =
  (key: string, extra: Partial<ImportTarget> = {}) =>
  (object: ObjectDef): ImportTarget => {
    const f = object.fields.find((x) => x.key === key);
    if (!f) throw new Error(`The registry's ${object.key} has no field ${key}`);
    const kind = extra.kind ?? KIND_OF[f.type];
    return t(key, f.label, kind, f.synonyms ?? [], {
      maxLength: kind === 'text' || kind === 'url' ? maxLengthOf(f) : undefined,
      options: f.options,
      required: f.required,
      multiple: f.type === 'tags' || f.type === 'multi_select',
      description: f.description,
      ...extra,
    });
  };
/** A target that is not a field of the object (a reference looked up while importing, a split name). */
type TargetSpec = ImportTarget | ((object: ObjectDef) => ImportTarget);

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
    alternative: true,
  }),
  t('company', 'Company', 'reference', ['company', 'companyname', 'account', 'accountname'], {
    reference: { object: 'company', by: 'external id or name' },
    alternative: true,
  }),
  t('opportunity', 'Opportunity', 'reference', ['opportunity', 'deal', 'opportunityid', 'dealid', 'what'], {
    reference: { object: 'opportunity', by: 'external id or title' },
    alternative: true,
  }),
];

/**
 * The targets of each object, in the order a header is matched against them: the registry's
 * fields (`field`) and what only an import has (references by name, external ids, a full name).
 */
const STANDARD_TARGETS: Record<ImportObject, TargetSpec[]> = {
  contact: [
    field('first_name'),
    field('last_name'),
    t('full_name', 'Full name (split)', 'text', ['name', 'fullname', 'contactname', 'contact', 'person'], {
      maxLength: 200,
      description: 'Split into first name (all but the last word) and last name',
    }),
    field('email', {
      multiple: true,
      description: 'One or more per cell, separated by ; or ,: the first becomes primary',
    }),
    field('phone', {
      multiple: true,
      description: 'One or more per cell, separated by ;: the first becomes primary',
    }),
    field('tags'),
    OWNER(['leadowner', 'contactowner', 'salesagent', 'salesrep']),
    t(
      'company',
      'Company',
      'reference',
      [
        'company',
        'companyname',
        'account',
        'accountname',
        'organization',
        'organisation',
        'employer',
        'companies',
      ],
      {
        reference: { object: 'company', by: 'external id or name' },
        description:
          "Linked as primary company (a cell listing several, as Cairn's export does with `; `, links the first); an unknown one is reported on the row and not created",
      },
    ),
    field('source'),
    field('lead_status'),
    field('notes'),
    EXTERNAL_ID('contact', ['contactid', 'customerid', 'userid', 'leadid', 'personid']),
  ],
  company: [
    field('name'),
    field('domain'),
    field('website'),
    field('phone'),
    field('industry'),
    field('size'),
    field('tags'),
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
    field('notes'),
    EXTERNAL_ID('company', ['companyid', 'accountid', 'organizationid', 'orgid']),
  ],
  opportunity: [
    field('title', {
      required: false,
      description: 'When empty, the external id (or "Imported opportunity") is used',
    }),
    field('amount', {
      kind: 'currency',
      description:
        'A number, or an amount with its currency (EUR 1,250.50, €1,250.50): a Currency column wins',
    }),
    field('currency'),
    field('expected_close_date'),
    t(
      'closed_at',
      'Closed on (won or lost deals)',
      'datetime',
      ['closedat', 'closeddate', 'dateclosed', 'actualclosedate', 'wonlostdate'],
      {
        description:
          "When a won or lost deal closed: a date (YYYY-MM-DD, M/D/YYYY, D.M.YYYY) or date and time; left empty, the import's time. Ignored for open stages",
      },
    ),
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
    field('tags'),
    EXTERNAL_ID('opportunity', ['opportunityid', 'dealid']),
  ],
  product: [
    field('sku', {
      required: false,
      description: 'Default: made from the name (GTX Pro: GTX-PRO); a product of the same SKU is matched',
    }),
    field('name'),
    field('description'),
    field('unit'),
    field('fractional'),
    field('active'),
    field('tax_rate'),
    t(
      'list_price',
      'List price',
      'currency',
      ['price', 'listprice', 'salesprice', 'unitprice', 'msrp', 'baseprice'],
      {
        description:
          "The product's base price (from quantity 1) on the price list of the cell's currency, or the default list when it names none",
      },
    ),
    field('tags'),
    OWNER(['productowner']),
    EXTERNAL_ID('product', ['productid', 'itemid']),
  ],
  task: [
    field('title'),
    field('description'),
    t('due_date', 'Due date', 'date', ['duedate', 'due', 'deadline', 'activitydate']),
    field('priority'),
    t('assignee', 'Assignee', 'reference', ['assignee', 'assignedto', 'owner', 'taskowner'], {
      reference: { object: 'member', by: 'name or e-mail' },
      description: 'An unknown one is reported on the row and the importer is assigned',
    }),
    ...LINKS,
    EXTERNAL_ID('task', ['taskid', 'activityid']),
  ],
  note: [
    (object) => ({
      ...field('body_text')(object),
      key: 'body',
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
  status: 'select',
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
 * Every field a column of a file can fill for `object`: its standard fields as the registry
 * describes them (label, kind, length, options, header synonyms), what only an import fills
 * (references such as company or owner, looked up by name, e-mail or external id; external ids),
 * and its active custom fields as `custom.<key>`.
 */
export function importTargets(object: ObjectDef): ImportTarget[] {
  const standard = object.custom
    ? CUSTOM_OBJECT_TARGETS
    : (STANDARD_TARGETS[object.key as ImportObject] ?? []).map((spec) =>
        withCrmHeaders(object.key, typeof spec === 'function' ? spec(object) : spec),
      );
  // A custom object's relations are filled by the related record's name or id (`relationTarget`);
  // a standard object's custom relation fields are not imported.
  const custom = object.fields
    .filter((f) => f.origin === 'custom' && !f.retired && (f.type !== 'relation' || object.custom))
    .map((f) =>
      t(`custom.${f.key}`, f.label, KIND_OF[f.type], [normalizeHeader(f.key), normalizeHeader(f.label)], {
        maxLength: maxLengthOf(f),
        options: f.options,
        required: f.required,
        multiple: f.type === 'multi_select',
        ...(f.type === 'user' ? { reference: { object: 'member', by: 'name or e-mail' } } : {}),
        ...(f.type === 'relation' && f.relation ? relationTarget(f.relation.object, f.relation.many) : {}),
        description: f.description,
      }),
    );
  return [...standard, ...custom];
}

/** The target with the other CRMs' export headers for it appended to its synonyms (crm-export-headers.ts). */
function withCrmHeaders(object: string, target: ImportTarget): ImportTarget {
  const more = CRM_EXPORT_SYNONYMS[object as ImportObject]?.[target.key];
  return more ? { ...target, synonyms: [...new Set([...target.synonyms, ...more])] } : target;
}

/** Whether `object` is a custom object (any object an import takes that is not a standard one). */
export const isCustomObject = (object: string) => !(IMPORT_OBJECTS as readonly string[]).includes(object);

/**
 * A relation field's cell: the related record's name (its display field) or id, in this tenant;
 * a many-to-many relation's cell names several, separated by `;` ("Acme; Globex"), each looked up
 * the same way (one found nowhere is the row's problem, the others are linked).
 */
const relationTarget = (object: string, many?: boolean): Partial<ImportTarget> => ({
  kind: 'reference',
  maxLength: 200,
  reference: { object, by: many ? 'names or ids separated by ;' : 'name or id' },
  ...(many ? { multiple: true } : {}),
});

/** What a custom object's file fills besides its fields: the owner and tags of each record. */
const CUSTOM_OBJECT_TARGETS: ImportTarget[] = [
  OWNER(['recordowner']),
  t('tags', 'Tags', 'tags', ['tags', 'tag', 'labels'], { multiple: true }),
];

/** The prefixes other CRMs put before a field's name ("Account: Phone", "Deal - Owner"), per object. */
const PREFIXES: Record<string, string[]> = {
  contact: ['contact', 'person', 'lead', 'people'],
  company: ['account', 'company', 'organization', 'organisation', 'org', 'business'],
  opportunity: ['opportunity', 'deal'],
};
const objectOfPrefix = (prefix: string) =>
  Object.keys(PREFIXES).find((o) => PREFIXES[o]!.includes(prefix)) ?? null;

/**
 * Suggests a target for each header: exact key or label first, then custom fields, then
 * synonyms ("E-mail", "Phone Number", "Company Name", "Account"...). A single-valued target is
 * suggested for one column only (the first); multi-valued ones (e-mail, phone) for each. A
 * prefixed header ("Contact: Email" in a Salesforce report, "Deal - Title" in Pipedrive's export)
 * also tries its last part; when the prefix names another object than `object` ("Account: Phone"
 * in a contacts file), only that object's reference takes it (`company` for "Account: Account
 * Name"), never the record's own field.
 */
export function suggestMapping(headers: string[], targets: ImportTarget[], object?: string): ColumnMapping[] {
  const taken = new Set<string>();
  const ordered = [
    ...targets.filter((x) => x.key.startsWith('custom.')),
    ...targets.filter((x) => !x.key.startsWith('custom.')),
  ];
  return headers.map((header, index) => {
    const norm = normalizeHeader(header);
    const exact = header.trim().toLowerCase();
    const parts = header.split(/[:.]|\s-\s/);
    const tail = normalizeHeader(parts.at(-1) ?? header);
    const prefixObject = parts.length > 1 ? objectOfPrefix(normalizeHeader(parts[0]!)) : null;
    const foreign = object && prefixObject && prefixObject !== object ? prefixObject : null;
    const free = (x: ImportTarget) => x.multiple || !taken.has(x.key);
    const tailFits = (x: ImportTarget) => !foreign || x.reference?.object === foreign;
    const match =
      targets.find((x) => (x.key === exact || x.label.toLowerCase() === exact) && free(x)) ??
      ordered.find((x) => x.synonyms.includes(norm) && free(x)) ??
      ordered.find((x) => x.synonyms.includes(tail) && free(x) && tailFits(x));
    const target = match && (match.multiple || !taken.has(match.key)) ? match.key : null;
    if (target) taken.add(target);
    return { index, header, target };
  });
}
