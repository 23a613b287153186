import { Anchor, Stack, Text } from '@mantine/core';
import { queryOptions, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api, call } from '../../../api/client';
import { objectQuery } from '../../../lib/query';
import { recordTitle } from '../../../lib/records';
import { NewDealAction } from '../DealActions';
import { Section } from '../DetailParts';
import type { ObjectPlugin, PanelProps } from './types';

const companyQuery = (id: string) =>
  queryOptions({
    queryKey: ['companies', id],
    queryFn: () => call(api.GET('/api/v1/companies/{id}', { params: { path: { id } } })),
  });

function CompanyHeader({ record }: PanelProps) {
  return typeof record.domain === 'string' ? <Text c="dimmed">{record.domain}</Text> : null;
}

/** The people linked to the company (from the contact's side). */
function People({ id }: PanelProps) {
  const count = useQuery(companyQuery(id)).data?.contact_count;
  const contact = useQuery(objectQuery('contact')).data;
  const people = useQuery({
    queryKey: ['companies', id, 'contacts'],
    queryFn: () => call(api.GET('/api/v1/companies/{id}/contacts', { params: { path: { id } } })),
  });
  return (
    <Section title={`People (${count ?? '…'})`}>
      <Stack gap={4}>
        {(contact ? (people.data?.data ?? []) : []).map((p) => (
          <Anchor
            key={p.id}
            size="sm"
            renderRoot={(props) => <Link {...props} to="/contacts/$id" params={{ id: p.id }} />}
          >
            {contact && recordTitle(contact.display, p)}
          </Anchor>
        ))}
        {people.data?.data.length === 0 && (
          <Text size="sm" c="dimmed">
            Nobody linked yet. Link a contact to this company from the contact's page.
          </Text>
        )}
      </Stack>
    </Section>
  );
}

/** A company: its domain beside the name, and its people. */
export const companyPlugin: ObjectPlugin = {
  Header: CompanyHeader,
  Actions: NewDealAction,
  fields: { address: null },
  panels: [People],
};
