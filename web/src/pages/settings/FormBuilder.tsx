import {
  Button,
  Checkbox,
  Code,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, Fragment, useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';
import { type Choice, ChoicesInput } from './FormChoices';

type Form = Schemas['Form'];
type Offered = Schemas['FormFieldChoice'];

/** One row of the builder: a field the form's object offers, on the form or not. */
type Draft = {
  key: string;
  label: string;
  required: boolean;
  on: boolean;
  /** A saved form's hidden flag and default: the builder keeps them as they are. */
  hidden?: boolean;
  default?: string | null;
  /** A many-to-many relation field: the object whose records the form offers as `choices`. */
  relation?: string;
  choices: Choice[];
};

const draftOf = (o: Offered): Draft => ({
  key: o.key,
  label: o.label,
  required: o.required,
  on: o.required,
  ...(o.relation?.many ? { relation: o.relation.object } : {}),
  choices: [],
});

/** A saved form's fields first, in its order, then the object's other fields, off. */
function draftsOf(offered: Offered[], form?: Form): Draft[] {
  if (!form) return offered.map(draftOf);
  const byKey = new Map(offered.map((o) => [o.key, o]));
  const saved = form.fields.map((f): Draft => {
    const o = byKey.get(f.key);
    return {
      ...(o ? draftOf(o) : { key: f.key, choices: [] }),
      label: f.label,
      required: f.required,
      on: true,
      hidden: f.hidden,
      default: f.default ?? null,
      choices: (f.choices ?? []).map((id) => ({ id, name: null })),
    };
  });
  const on = new Set(form.fields.map((f) => f.key));
  return [...saved, ...offered.filter((o) => !on.has(o.key)).map(draftOf)];
}

/**
 * The server's problem for the choices of the form's `i`-th sent field (`body.fields[i].choices`
 * or `...choices[j]`, issue 31): its message, and which choice when it names one.
 */
function choicesError(error: unknown, i: number): { message: string; index?: number } | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const at = `body.fields[${i}].choices`;
  const all = [
    ...(error.problem.errors ?? []),
    ...(error.problem.path ? [{ path: error.problem.path, message: error.message }] : []),
  ];
  const hit = all.find((e) => e.path === at || e.path.startsWith(`${at}[`));
  if (!hit) return undefined;
  const j = /\[(\d+)\]$/.exec(hit.path.slice(at.length))?.[1];
  return { message: hit.message, ...(j !== undefined ? { index: Number(j) } : {}) };
}

/** What a PATCH sends for the consent box: nothing when its words did not change. */
function consentChange(form: Form | undefined, text: string) {
  const before = form?.consent ?? null;
  if (form && text === (before?.text ?? '')) return {};
  if (!text) return form ? { consent: null } : {};
  const channel = (['email', 'sms', 'phone', 'any'] as const).find((c) => c === before?.channel) ?? 'email';
  return {
    consent: {
      text,
      channel,
      purpose: before?.purpose ?? 'marketing',
      required: before?.required ?? false,
    },
  };
}

/**
 * The form builder (issue 31): a new form for contacts, companies or a custom object, or a saved
 * one's changes (`PATCH`, a new version). Its rows are the fields the object offers
 * (`GET /api/v1/forms/fields/{object}`); a many-to-many relation field takes the records the form
 * offers (`choices`), picked by name. What the admin set stays when the server refuses it; a
 * problem about a field's choices shows beside them.
 */
export function FormBuilder(props: { form?: Form; onClose(): void; onSaved(): void }) {
  const { form } = props;
  const [name, setName] = useState(form?.name ?? '');
  const [object, setObject] = useState<string | null>(form?.object ?? 'contact');
  const [drafts, setDrafts] = useState<Draft[] | null>(null);
  const [consent, setConsent] = useState(form?.consent?.text ?? '');
  const [error, setError] = useState<unknown>(null);
  const objects = useQuery(objectsQuery);
  const offered = useQuery({
    queryKey: ['forms', 'fields', object],
    queryFn: () => call(api.GET('/api/v1/forms/fields/{object}', { params: { path: { object: object! } } })),
    enabled: Boolean(object),
  });
  const fields: Draft[] = drafts ?? (offered.data ? draftsOf(offered.data.data, form) : []);
  const set = (key: string, patch: Partial<Draft>) =>
    setDrafts(fields.map((f) => (f.key === key ? { ...f, ...patch } : f)));
  const sent = fields.filter((f) => f.on);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = {
      name,
      fields: sent.map((f) => ({
        key: f.key,
        label: f.label,
        required: f.required,
        ...(f.hidden ? { hidden: true } : {}),
        ...(f.default != null ? { default: f.default } : {}),
        // None picked: the server says what is missing, beside the field.
        ...(f.relation && f.choices.length ? { choices: f.choices.map((c) => c.id) } : {}),
      })),
      ...consentChange(form, consent),
    };
    try {
      if (form) await call(api.PATCH('/api/v1/forms/{id}', { params: { path: { id: form.id } }, body }));
      else await call(api.POST('/api/v1/forms', { body: { ...body, object: object ?? 'contact' } }));
      setError(null);
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  }
  const formObjects = (objects.data?.data ?? []).filter(
    (o) => o.key === 'contact' || o.key === 'company' || o.custom_object,
  );
  return (
    <Modal opened onClose={props.onClose} title={form ? 'Edit form' : 'New form'} size="lg">
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Select
            label="Creates"
            data={formObjects.map((o) => ({ value: o.key, label: o.label_plural }))}
            value={object}
            onChange={(v) => {
              setObject(v);
              setDrafts(null);
            }}
            allowDeselect={false}
            disabled={Boolean(form)}
          />
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>On the form</Table.Th>
                <Table.Th>Label</Table.Th>
                <Table.Th>Required</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {fields.map((f) => (
                <Fragment key={f.key}>
                  <Table.Tr>
                    <Table.Td>
                      <Checkbox
                        aria-label={`Ask for ${f.label}`}
                        label={f.key}
                        checked={f.on}
                        onChange={(e) => set(f.key, { on: e.currentTarget.checked })}
                      />
                    </Table.Td>
                    <Table.Td>
                      <TextInput
                        aria-label={`Label of ${f.key}`}
                        size="xs"
                        value={f.label}
                        onChange={(e) => set(f.key, { label: e.currentTarget.value })}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Checkbox
                        aria-label={`${f.label} is required`}
                        checked={f.required}
                        onChange={(e) =>
                          set(f.key, {
                            required: e.currentTarget.checked,
                            on: f.on || e.currentTarget.checked,
                          })
                        }
                      />
                    </Table.Td>
                  </Table.Tr>
                  {f.relation && f.on && (
                    <Table.Tr>
                      <Table.Td colSpan={3}>
                        <ChoicesInput
                          object={f.relation}
                          label={f.label}
                          value={f.choices}
                          onChange={(choices) => set(f.key, { choices })}
                          error={choicesError(error, sent.indexOf(f))}
                        />
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
          <Textarea
            label="Consent checkbox (optional)"
            description="The words shown beside the box; kept as proof with each consent"
            value={consent}
            onChange={(e) => setConsent(e.currentTarget.value)}
          />
          {error ? <ErrorAlert error={error} /> : null}
          {!form && (
            <Text size="xs" c="dimmed">
              After saving, copy the embed snippet: <Code>{'<iframe src="…/f/…">'}</Code>
            </Text>
          )}
          <Group justify="flex-end">
            <Button type="submit" disabled={!name || sent.length === 0}>
              {form ? 'Save' : 'Create'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
