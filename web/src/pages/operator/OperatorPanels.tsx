import {
  Badge,
  Button,
  Drawer,
  Group,
  NumberInput,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ErrorAlert } from '../../shell/states';
import { LIMITS, type LimitKey, type Limits, type OrgUsage, usageOf } from './limits';

const plansQuery = {
  queryKey: ['operator', 'plans'],
  queryFn: () => call(api.GET('/api/v1/operator/plans')),
};

/** A limit field: empty means "none" (unlimited, or the plan's for an override). */
function LimitInputs({
  values,
  onChange,
  emptyLabel,
  idPrefix,
}: {
  values: Partial<Record<LimitKey, number | null>>;
  onChange: (key: LimitKey, value: number | null | undefined) => void;
  emptyLabel: string;
  idPrefix: string;
}) {
  return (
    <>
      {LIMITS.map((l) => (
        <NumberInput
          key={l.key}
          id={`${idPrefix}-${l.key}`}
          label={l.label}
          description={values[l.key] === null ? 'Unlimited (overrides the plan)' : undefined}
          placeholder={emptyLabel}
          min={0}
          allowDecimal={false}
          value={values[l.key] ?? ''}
          onChange={(v) => onChange(l.key, typeof v === 'number' ? v : undefined)}
        />
      ))}
    </>
  );
}

/** One organization: its usage, its plan and overrides, suspend and restore. */
export function OrganizationDrawer({ org, onClose }: { org: OrgUsage | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const plans = useQuery(plansQuery);
  const [planKey, setPlanKey] = useState<string | null>(null);
  const [overrides, setOverrides] = useState<Partial<Record<LimitKey, number | null>>>({});
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setPlanKey(org?.plan_key ?? null);
    setOverrides((org?.overrides as Partial<Record<LimitKey, number | null>>) ?? {});
    setReason('');
    setError(null);
  }, [org]);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['operator'] });
  async function act(fn: () => Promise<unknown>, done: string) {
    setError(null);
    try {
      await fn();
      notifications.show({ color: 'teal', message: done });
      await refresh();
    } catch (e) {
      setError(e);
    }
  }
  if (!org) return <Drawer opened={false} onClose={onClose} title="Organization" />;
  const path = { params: { path: { id: org.id } } };
  return (
    <Drawer
      opened
      onClose={onClose}
      position="right"
      size="lg"
      title={
        <Title order={2} size="h3">
          {org.name}
        </Title>
      }
    >
      <Stack>
        {Boolean(error) && <ErrorAlert error={error} />}
        <Table>
          <Table.Tbody>
            {LIMITS.map((l) => (
              <Table.Tr key={l.key}>
                <Table.Th scope="row">{l.label}</Table.Th>
                <Table.Td>{usageOf(org, l.key)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(
              () =>
                call(
                  api.PUT('/api/v1/operator/organizations/{id}/plan', {
                    ...path,
                    body: { plan_key: planKey, overrides },
                  }),
                ),
              `Plan and limits of ${org.name} saved`,
            );
          }}
        >
          <Stack gap="xs">
            <Title order={3} size="h4">
              Plan and limits
            </Title>
            <Select
              label="Plan"
              placeholder="No plan (unlimited)"
              clearable
              data={(plans.data?.data ?? []).map((p) => ({ value: p.key, label: `${p.name} (${p.key})` }))}
              value={planKey}
              onChange={setPlanKey}
            />
            <Text size="sm" c="dimmed">
              Limits of this organization alone; empty follows the plan.
            </Text>
            <LimitInputs
              idPrefix="override"
              values={overrides}
              emptyLabel="As the plan"
              onChange={(key, value) =>
                setOverrides((o) => {
                  const next = { ...o };
                  if (value === undefined) delete next[key];
                  else next[key] = value;
                  return next;
                })
              }
            />
            <Group>
              <Button type="submit">Save plan and limits</Button>
            </Group>
          </Stack>
        </form>
        <Title order={3} size="h4">
          Standing
        </Title>
        {org.suspended ? (
          <Stack gap="xs">
            <Badge color="red" variant="filled">
              Suspended {org.suspended_at ? new Date(org.suspended_at).toLocaleString() : ''}
            </Badge>
            {org.suspended_reason && <Text size="sm">Reason: {org.suspended_reason}</Text>}
            <Button
              color="teal"
              onClick={() =>
                void act(
                  () => call(api.POST('/api/v1/operator/organizations/{id}/restore', { ...path, body: {} })),
                  `${org.name} restored`,
                )
              }
            >
              Restore organization
            </Button>
          </Stack>
        ) : (
          <Stack gap="xs">
            <TextInput
              label="Reason shown to its members"
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              maxLength={500}
            />
            <Button
              color="red"
              onClick={() =>
                void act(
                  () =>
                    call(
                      api.POST('/api/v1/operator/organizations/{id}/suspend', {
                        ...path,
                        body: reason.trim() ? { reason: reason.trim() } : {},
                      }),
                    ),
                  `${org.name} suspended`,
                )
              }
            >
              Suspend organization
            </Button>
            <Text size="xs" c="dimmed">
              Its members can still sign in and read why; every other request is refused and its jobs wait
              until it is restored.
            </Text>
          </Stack>
        )}
      </Stack>
    </Drawer>
  );
}

/** The named plans: their limits, how many organizations are on each; create or change one. */
export function PlansPanel() {
  const queryClient = useQueryClient();
  const plans = useQuery(plansQuery);
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [limits, setLimits] = useState<Partial<Record<LimitKey, number | null>>>({});
  const [error, setError] = useState<unknown>(null);
  async function save() {
    setError(null);
    try {
      await call(
        api.PUT('/api/v1/operator/plans/{key}', {
          params: { path: { key } },
          body: { name, limits: limits as Limits },
        }),
      );
      notifications.show({ color: 'teal', message: `Plan ${name} saved` });
      await queryClient.invalidateQueries({ queryKey: ['operator'] });
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Paper withBorder p="md">
      <Title order={2} size="h4" mb="sm">
        Plans
      </Title>
      <Table mb="md">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Plan</Table.Th>
            {LIMITS.map((l) => (
              <Table.Th key={l.key}>{l.label}</Table.Th>
            ))}
            <Table.Th>Organizations</Table.Th>
            <Table.Th>
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {plans.data?.data.map((p) => (
            <Table.Tr key={p.key}>
              <Table.Td>
                {p.name}{' '}
                <Text span size="xs" c="dimmed">
                  ({p.key})
                </Text>
              </Table.Td>
              {LIMITS.map((l) => (
                <Table.Td key={l.key}>{p.limits[l.key]?.toLocaleString() ?? '∞'}</Table.Td>
              ))}
              <Table.Td>{p.organizations}</Table.Td>
              <Table.Td>
                <Button
                  size="compact-xs"
                  variant="default"
                  aria-label={`Edit plan ${p.name}`}
                  onClick={() => {
                    setKey(p.key);
                    setName(p.name);
                    setLimits(p.limits);
                  }}
                >
                  Edit
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {plans.data?.data.length === 0 && (
        <Text c="dimmed" mb="sm">
          No plans yet: every organization is unlimited.
        </Text>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <Stack gap="xs" maw={480}>
          <Title order={3} size="h5">
            Create or change a plan
          </Title>
          {Boolean(error) && <ErrorAlert error={error} />}
          <TextInput
            label="Key"
            description="e.g. starter"
            required
            value={key}
            onChange={(e) => setKey(e.currentTarget.value)}
          />
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <LimitInputs
            idPrefix="plan"
            values={limits}
            emptyLabel="Unlimited"
            onChange={(k, v) =>
              setLimits((o) => {
                const next = { ...o };
                if (v === undefined || v === null) delete next[k];
                else next[k] = v;
                return next;
              })
            }
          />
          <Group>
            <Button type="submit">Save plan</Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
