import { Button, Group, Stack, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { ApiError, api, call } from '../../api/client';
import { TagPicker } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { DEFAULT_COLUMNS } from '../../lib/records';
import { EmptyState, ErrorAlert } from '../../shell/states';
import { RecordList } from './RecordList';

export function ContactsPage() {
  const search = useSearch({ from: '/app/contacts' });
  const navigate = useNavigate();
  return (
    <RecordList
      object="contact"
      collection="contacts"
      title="Contacts"
      detailPath="/contacts/$id"
      defaultColumns={[
        'first_name',
        'last_name',
        'email',
        'phone',
        'companies',
        'tags',
        'owner_id',
        'created_at',
      ]}
      titleFields={['first_name', 'last_name']}
      viewId={search.view}
      onViewChange={(view) => void navigate({ to: '/contacts', search: view ? { view } : {} })}
      renderCreate={(close) => <NewContactForm onDone={close} />}
      empty={
        <EmptyState title="No contacts yet">
          Add your first contact with “New contact”, or import a spreadsheet of them.
        </EmptyState>
      }
    />
  );
}

export function CompaniesPage() {
  const search = useSearch({ from: '/app/companies' });
  const navigate = useNavigate();
  return (
    <RecordList
      object="company"
      collection="companies"
      title="Companies"
      detailPath="/companies/$id"
      defaultColumns={DEFAULT_COLUMNS.companies}
      titleFields={['name']}
      viewId={search.view}
      onViewChange={(view) => void navigate({ to: '/companies', search: view ? { view } : {} })}
      renderCreate={(close) => <NewCompanyForm onDone={close} />}
      empty={
        <EmptyState title="No companies yet">
          Add the organizations you work with using “New company”.
        </EmptyState>
      }
    />
  );
}

function NewContactForm({ onDone }: { onDone: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ first_name: '', last_name: '', email: '', phone: '' });
  const [companyId, setCompanyId] = useState<string | null>(null);
  const [tags, setTags] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  const fieldError = (path: string) => (error instanceof ApiError ? error.fieldError(path) : undefined);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const contact = await call(
        api.POST('/api/v1/contacts', {
          body: {
            first_name: form.first_name || null,
            last_name: form.last_name || null,
            emails: form.email ? [{ value: form.email }] : [],
            phones: form.phone ? [{ number: form.phone }] : [],
            companies: companyId ? [{ id: companyId, primary: true }] : [],
            tags,
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['contacts'] });
      onDone();
      await navigate({ to: '/contacts/$id', params: { id: contact.id } });
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <Group grow>
          <TextInput label="First name" value={form.first_name} onChange={set('first_name')} data-autofocus />
          <TextInput label="Last name" value={form.last_name} onChange={set('last_name')} />
        </Group>
        <TextInput
          label="E-mail"
          type="email"
          value={form.email}
          onChange={set('email')}
          error={fieldError('emails[0].value')}
        />
        <TextInput
          label="Phone"
          value={form.phone}
          onChange={set('phone')}
          error={fieldError('phones[0].number')}
        />
        <RecordPicker
          collection="companies"
          label="Company"
          value={companyId}
          onChange={(id) => setCompanyId(id)}
        />
        <TagPicker label="Tags" value={tags} onChange={setTags} />
        <Group justify="flex-end">
          <Button type="submit">Create contact</Button>
        </Group>
      </Stack>
    </form>
  );
}

function NewCompanyForm({ onDone }: { onDone: () => void }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ name: '', domain: '', industry: '' });
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [k]: e.currentTarget.value });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const company = await call(
        api.POST('/api/v1/companies', {
          body: { name: form.name, domain: form.domain || null, industry: form.industry || null },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: ['companies'] });
      onDone();
      await navigate({ to: '/companies/$id', params: { id: company.id } });
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form onSubmit={submit}>
      <Stack>
        <ErrorAlert error={error} />
        <TextInput label="Name" required value={form.name} onChange={set('name')} data-autofocus />
        <TextInput label="Domain" placeholder="acme.com" value={form.domain} onChange={set('domain')} />
        <TextInput label="Industry" value={form.industry} onChange={set('industry')} />
        <Group justify="flex-end">
          <Button type="submit">Create company</Button>
        </Group>
      </Stack>
    </form>
  );
}
