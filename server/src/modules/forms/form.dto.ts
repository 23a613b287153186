import { z } from 'zod';

const FieldKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'a field key such as first_name');

export const FormFieldInput = z.strictObject({
  key: FieldKey.describe("A field of the form's object (GET /api/v1/forms/fields/{object})"),
  label: z.string().trim().min(1).max(200).optional().describe("Default: the field's label"),
  required: z.boolean().optional(),
  hidden: z
    .boolean()
    .optional()
    .describe("Not shown: taken from the page URL's query parameter of the same key, else `default`"),
  default: z.string().max(500).nullable().optional(),
  choices: z
    .array(z.uuid())
    .min(1)
    .max(100)
    .optional()
    .describe(
      'For a many-to-many relation field (required there, refused elsewhere): the records a visitor may pick, by id; the page shows them by name as a multi-select',
    ),
});

export const FormConsentInput = z.strictObject({
  text: z.string().trim().min(1).max(2000).describe('The words beside the checkbox, kept as the proof'),
  channel: z.enum(['email', 'sms', 'phone', 'any']).default('email'),
  purpose: z.string().trim().min(1).max(100).default('marketing'),
  required: z.boolean().default(false),
});

const formFields = {
  name: z.string().trim().min(1).max(200),
  fields: z.array(FormFieldInput).min(1).max(50),
  consent: FormConsentInput.nullable().optional(),
  owner_id: z
    .uuid()
    .nullable()
    .optional()
    .describe('The member told of each submission (in-app notification)'),
  ingest_mapping: z
    .record(z.string().min(1).max(100), FieldKey)
    .optional()
    .describe('For `POST /ingest/form/{ingest_token}`: incoming field name -> form field key'),
  submit_label: z.string().trim().min(1).max(60).optional(),
  success_message: z.string().trim().min(1).max(1000).optional(),
  min_fill_seconds: z.number().int().min(0).max(600).optional(),
  proof_of_work: z
    .boolean()
    .optional()
    .describe('The hosted page solves an ALTCHA proof of work before sending'),
};

export const FormCreate = z
  .strictObject({
    object: z.string().min(1).max(64).describe('contact, company, or a custom object key'),
    ...formFields,
  })
  .meta({ id: 'FormCreate' });
export type FormCreateInput = z.infer<typeof FormCreate>;

export const FormUpdate = z
  .strictObject({
    name: formFields.name.optional(),
    fields: formFields.fields.optional(),
    consent: formFields.consent,
    owner_id: formFields.owner_id,
    ingest_mapping: formFields.ingest_mapping,
    submit_label: formFields.submit_label,
    success_message: formFields.success_message,
    min_fill_seconds: formFields.min_fill_seconds,
    proof_of_work: formFields.proof_of_work,
  })
  .meta({ id: 'FormUpdate' });
export type FormUpdateInput = z.infer<typeof FormUpdate>;

export const Form = z
  .object({
    id: z.uuid(),
    name: z.string(),
    object: z.string(),
    fields: z.array(
      z.object({
        key: z.string(),
        label: z.string(),
        required: z.boolean(),
        hidden: z.boolean(),
        default: z.string().nullable().optional(),
        choices: z.array(z.uuid()).optional(),
      }),
    ),
    consent: z
      .object({ text: z.string(), channel: z.string(), purpose: z.string(), required: z.boolean() })
      .nullable(),
    owner_id: z.uuid().nullable(),
    ingest_mapping: z.record(z.string(), z.string()),
    submit_label: z.string(),
    success_message: z.string(),
    min_fill_seconds: z.number().int(),
    proof_of_work: z.boolean(),
    version: z.number().int(),
    page_url: z.string().describe('The hosted page'),
    embed_snippet: z.string().describe('HTML to paste into a page: an iframe of the hosted page'),
    ingest_url: z.string().describe('Where other tools POST their own forms (JSON or form-encoded)'),
    archived_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Form' });
export type FormView = z.infer<typeof Form>;

export const FieldChoice = z
  .object({
    key: z.string(),
    label: z.string(),
    type: z.string(),
    required: z.boolean().describe('The object requires it: a form must ask for it'),
    options: z.array(z.object({ value: z.string(), label: z.string() })).optional(),
    relation: z
      .object({ object: z.string(), many: z.boolean() })
      .optional()
      .describe('A many-to-many relation field: the object whose records the form offers (`choices`)'),
  })
  .meta({ id: 'FormFieldChoice' });

export const SubmissionAnswer = z
  .object({
    key: z.string().describe("The field's key"),
    label: z
      .string()
      .describe("The field's label on the form; the key for a field since removed from the form"),
    type: z
      .string()
      .nullable()
      .describe("The registry field's type (`select`, `boolean`...); null when the object no longer has it"),
    value: z.unknown().describe('The value as stored (as in `values`)'),
    text: z
      .string()
      .describe(
        "The value as an admin reads it: a choice's label (not its value), `Yes`/`No`, the names of the linked records",
      ),
    removed: z.boolean().describe('The field is no longer on the form'),
  })
  .meta({ id: 'FormSubmissionAnswer' });
export type SubmissionAnswerView = z.infer<typeof SubmissionAnswer>;

export const FormSubmission = z
  .object({
    id: z.uuid(),
    form_id: z.uuid(),
    form_version: z.number().int(),
    channel: z.enum(['page', 'ingest']),
    record: z.object({
      object: z.string(),
      id: z.uuid(),
      name: z
        .string()
        .nullable()
        .describe(
          "The record's name by its object's display rule (a contact: names, else e-mail); null once deleted",
        ),
      email: z
        .string()
        .nullable()
        .describe("A contact's primary e-mail, a custom object's first e-mail field; null for none"),
    }),
    created_record: z.boolean(),
    values: z.record(z.string(), z.unknown()).describe('The values by field key, as stored'),
    answers: z
      .array(SubmissionAnswer)
      .describe("The values under their fields' labels, in the form's order; fields since removed last"),
    source: z.record(z.string(), z.unknown()),
    consent_id: z.uuid().nullable(),
    consent: z
      .object({
        id: z.uuid(),
        channel: z.string(),
        purpose: z.string(),
        status: z.string().describe('`granted` or `withdrawn`'),
        text: z.string().describe('The words shown beside the checkbox'),
        at: z.string(),
      })
      .nullable()
      .describe('What was consented (the consent ledger entry); null without consent'),
    ip: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'FormSubmission' });
export type FormSubmissionView = z.infer<typeof FormSubmission>;

export const IngestResult = z
  .object({
    submission_id: z.uuid(),
    record: z.object({ object: z.string(), id: z.uuid() }),
    created: z.boolean().describe('false: an existing record matched by e-mail or phone'),
  })
  .meta({ id: 'FormIngestResult' });
