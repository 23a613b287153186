import { Badge, Button, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { meQuery } from '../../lib/query';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';
import { LIMITS, type LimitKey, type OrgUsage, usageOf } from './limits';
import { OrganizationDrawer, PlansPanel } from './OperatorPanels';

/**
 * The Operator page (issue 30), for the operators of the install only (`/me` says who is one; the
 * operator API answers 404 to anyone else, so to them the page is "Not found" and asks nothing of
 * it): every organization with its usage against its limits, its plan and whether it is suspended;
 * a row opens its plan, limits and suspension.
 */
export function OperatorPage() {
  const { data: me } = useQuery(meQuery);
  if (!me) return <PageSkeleton />;
  if (!me.operator)
    return (
      <EmptyState title="Not found">
        This page is for the operators of this Cairn install (<code>cairn operator grant &lt;email&gt;</code>
        ).
      </EmptyState>
    );
  return <OperatorConsole />;
}

function OperatorConsole() {
  const [q, setQ] = useState('');
  const [search] = useDebouncedValue(q, 250);
  const [openId, setOpenId] = useState<string | null>(null);
  const orgs = useQuery({
    queryKey: ['operator', 'organizations', search],
    queryFn: () =>
      call(
        api.GET('/api/v1/operator/organizations', {
          params: { query: { q: search || undefined, limit: 100 } },
        }),
      ),
  });
  const open = orgs.data?.data.find((o) => o.id === openId) ?? null;
  return (
    <Stack>
      <Title order={1} size="h2">
        Operator
      </Title>
      <Text c="dimmed" size="sm">
        Every organization of this install, its usage against its plan, and its standing. Granted with{' '}
        <code>cairn operator grant &lt;email&gt;</code>.
      </Text>
      {orgs.error && <ErrorAlert error={orgs.error} />}
      <Paper withBorder p="md">
        <Group justify="space-between" mb="sm">
          <Title order={2} size="h4">
            Organizations {orgs.data ? `(${orgs.data.total})` : ''}
          </Title>
          <TextInput
            aria-label="Search organizations"
            placeholder="Search by name or slug"
            value={q}
            onChange={(e) => setQ(e.currentTarget.value)}
          />
        </Group>
        <Table.ScrollContainer minWidth={900}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Organization</Table.Th>
                <Table.Th>Plan</Table.Th>
                {LIMITS.map((l) => (
                  <Table.Th key={l.key}>{l.label}</Table.Th>
                ))}
                <Table.Th>Records</Table.Th>
                <Table.Th>Messages sent</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {orgs.data?.data.map((o) => (
                <OrgRow key={o.id} org={o} onOpen={() => setOpenId(o.id)} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Paper>
      <PlansPanel />
      <OrganizationDrawer org={open} onClose={() => setOpenId(null)} />
    </Stack>
  );
}

function OrgRow({ org, onOpen }: { org: OrgUsage; onOpen: () => void }) {
  const reached = (key: LimitKey) => {
    const limit = org.limits[key];
    const used = LIMITS.find((l) => l.key === key)!.usage(org);
    return limit !== undefined && used >= limit;
  };
  return (
    <Table.Tr>
      <Table.Td>
        <Button variant="subtle" size="compact-sm" onClick={onOpen} aria-label={`Manage ${org.name}`}>
          {org.name}
        </Button>
        <Text size="xs" c="dimmed">
          {org.slug}
        </Text>
      </Table.Td>
      <Table.Td>{org.plan_key ?? <Text c="dimmed">none</Text>}</Table.Td>
      {LIMITS.map((l) => (
        <Table.Td key={l.key} c={reached(l.key) ? 'red.8' : undefined} fw={reached(l.key) ? 700 : undefined}>
          {usageOf(org, l.key)}
        </Table.Td>
      ))}
      <Table.Td>{org.usage.records.toLocaleString()}</Table.Td>
      <Table.Td>{org.usage.messages_sent.toLocaleString()}</Table.Td>
      <Table.Td>
        {org.suspended ? (
          <Badge color="red" variant="filled">
            Suspended
          </Badge>
        ) : (
          <Badge color="teal" variant="light">
            Active
          </Badge>
        )}
      </Table.Td>
    </Table.Tr>
  );
}
