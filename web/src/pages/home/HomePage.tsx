import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { DETAIL_PATH, isRecordObject } from '../../lib/records';
import { ErrorAlert, PageSkeleton } from '../../shell/states';

type Home = Schemas['Home'];
type Total = Schemas['CurrencyTotal'];

const STEP_WORDS = {
  import_contacts: 'Import your contacts',
  create_pipeline: 'Create a pipeline for your deals',
  invite_teammate: 'Invite a teammate',
} as const;

/** Where each getting-started step is done. */
function StepLink({ step }: { step: keyof typeof STEP_WORDS }) {
  const label = STEP_WORDS[step];
  if (step === 'import_contacts')
    return (
      <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/imports" />}>
        {label}
      </Anchor>
    );
  const tab = step === 'create_pipeline' ? 'pipelines' : 'members';
  return (
    <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/settings" search={{ tab }} />}>
      {label}
    </Anchor>
  );
}

/** "$12,400 · €3,000": one sum per currency, never added together. */
function totalsWords(totals: Total[], key: 'amount' | 'weighted' = 'amount'): string {
  const shown = totals.filter((t) => t.currency);
  if (!shown.length) return '';
  return shown
    .map((t) => {
      try {
        return new Intl.NumberFormat(undefined, {
          style: 'currency',
          currency: t.currency!,
          maximumFractionDigits: 0,
        }).format(Number(t[key]));
      } catch {
        return `${t[key]} ${t.currency}`;
      }
    })
    .join(' · ');
}

/** The home page's query: one call for every widget, "today" in the browser's time zone. */
const homeQuery = (tz: string) => ({
  queryKey: ['home', tz] as const,
  queryFn: () => call(api.GET('/api/v1/home', { params: { query: { tz } } })),
});

function Widget({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-label={title}>
      <Group justify="space-between" mb="sm" wrap="nowrap">
        <Title order={2} size="h4">
          {title}
        </Title>
        {action}
      </Group>
      {children}
    </Paper>
  );
}

/**
 * The landing page after sign-in: my tasks overdue and due today, my open deals by stage, the
 * organization's recent activity, the records I opened lately, and, while the organization is
 * new, the getting-started steps with one-click sample data. Every number links to its list.
 */
export function HomePage() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const { data: me } = useQuery(meQuery);
  const home = useQuery(homeQuery(tz));
  if (home.error) throw home.error;
  if (!home.data || !me) return <PageSkeleton />;
  const data = home.data;
  const first = me.user.name.split(' ')[0];
  return (
    <Stack>
      <Title order={1} size="h2">
        {first ? `Hello, ${first}` : 'Home'}
      </Title>
      <GettingStarted data={data} isAdmin={me.role === 'admin'} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <MyTasks tasks={data.tasks} />
        <MyDeals deals={data.deals} userId={me.user.id} />
        <RecentlyViewed recent={data.recent} />
        <RecentActivity activity={data.activity} />
      </SimpleGrid>
    </Stack>
  );
}

function GettingStarted({ data, isAdmin }: { data: Home; isAdmin: boolean }) {
  const queryClient = useQueryClient();
  const { steps, sample_data } = data.getting_started;
  const refresh = () => void queryClient.invalidateQueries();
  const load = useMutation({
    mutationFn: () => call(api.POST('/api/v1/sample-data')),
    onSuccess: (r) => {
      notifications.show({ color: 'teal', message: `Sample data loaded: ${r.records} records` });
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/sample-data')),
    onSuccess: (r) => {
      notifications.show({ color: 'teal', message: `Sample data removed: ${r.records} records` });
      refresh();
    },
  });
  const allDone = steps.every((s) => s.done);
  if (allDone && !sample_data.loaded) return null;
  return (
    <Widget title="Getting started">
      <Stack gap="xs">
        {!allDone &&
          steps.map((step) => {
            const label = STEP_WORDS[step.key];
            return (
              <Group key={step.key} gap="xs" wrap="nowrap">
                <Checkbox
                  checked={step.done}
                  readOnly
                  aria-label={`${label}: ${step.done ? 'done' : 'to do'}`}
                  tabIndex={-1}
                />
                {step.done ? (
                  <Text size="sm" td="line-through" c="dimmed">
                    {label}
                  </Text>
                ) : (
                  <StepLink step={step.key} />
                )}
              </Group>
            );
          })}
        {isAdmin && (
          <Group gap="sm" mt="xs">
            {sample_data.loaded ? (
              <>
                <Text size="sm">
                  {sample_data.records} sample records are in your organization, made to try Cairn with.
                </Text>
                <Button
                  variant="default"
                  size="xs"
                  loading={remove.isPending}
                  onClick={() => remove.mutate()}
                >
                  Remove sample data
                </Button>
              </>
            ) : (
              <>
                <Text size="sm">Want to look around first?</Text>
                <Button size="xs" loading={load.isPending} onClick={() => load.mutate()}>
                  Load sample data
                </Button>
              </>
            )}
          </Group>
        )}
        <ErrorAlert error={load.error ?? remove.error} />
      </Stack>
    </Widget>
  );
}

function TaskLines({ tasks }: { tasks: Schemas['Task'][] }) {
  return (
    <Stack gap={4}>
      {tasks.map((t) => (
        <Group key={t.id} justify="space-between" wrap="nowrap" gap="xs">
          <Text size="sm" truncate>
            {t.title}
          </Text>
          <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
            {formatDate(t.all_day ? t.due_date : t.due_at, !t.all_day)}
          </Text>
        </Group>
      ))}
    </Stack>
  );
}

function MyTasks({ tasks }: { tasks: Home['tasks'] }) {
  const none = tasks.overdue.count === 0 && tasks.today.count === 0;
  return (
    <Widget
      title="My tasks"
      action={
        <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/tasks" />}>
          All tasks
        </Anchor>
      }
    >
      {none ? (
        <Text size="sm" c="dimmed">
          Nothing overdue or due today.
        </Text>
      ) : (
        <Stack gap="sm">
          {(
            [
              ['overdue', 'Overdue', 'red'],
              ['today', 'Due today', 'teal'],
            ] as const
          ).map(([key, label, color]) =>
            tasks[key].count ? (
              <Stack key={key} gap={4}>
                <Anchor
                  size="sm"
                  fw={600}
                  c={color === 'red' ? 'red.9' : undefined}
                  renderRoot={(p) => <Link {...p} to="/tasks" />}
                >
                  {tasks[key].count} {label.toLowerCase()}
                </Anchor>
                <TaskLines tasks={tasks[key].tasks} />
              </Stack>
            ) : null,
          )}
        </Stack>
      )}
    </Widget>
  );
}

function MyDeals({ deals, userId }: { deals: Home['deals']; userId: string }) {
  return (
    <Widget
      title="My open deals"
      action={
        <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/opportunities" search={{ owner: userId }} />}>
          {deals.count} open
        </Anchor>
      }
    >
      {deals.pipelines.length === 0 ? (
        <Text size="sm" c="dimmed">
          No open deals of yours. Start one from a contact or on the board.
        </Text>
      ) : (
        <Stack gap="md">
          {deals.pipelines.map((p) => (
            <Stack key={p.id} gap={4}>
              <Group justify="space-between" wrap="wrap">
                <Anchor
                  size="sm"
                  fw={600}
                  renderRoot={(props) => (
                    <Link {...props} to="/opportunities" search={{ pipeline: p.id, owner: userId }} />
                  )}
                >
                  {p.name}: {p.count} {p.count === 1 ? 'deal' : 'deals'}
                </Anchor>
                <Text size="sm">{totalsWords(p.totals)}</Text>
              </Group>
              <Table fz="sm" verticalSpacing={2} aria-label={`My open deals in ${p.name} by stage`}>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Stage</Table.Th>
                    <Table.Th ta="right">Deals</Table.Th>
                    <Table.Th ta="right">Value</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {p.stages.map((s) => (
                    <Table.Tr key={s.id}>
                      <Table.Td>{s.name}</Table.Td>
                      <Table.Td ta="right">
                        <Anchor
                          size="sm"
                          aria-label={`${s.count} in ${s.name}`}
                          renderRoot={(props) => (
                            <Link {...props} to="/opportunities" search={{ pipeline: p.id, owner: userId }} />
                          )}
                        >
                          {s.count}
                        </Anchor>
                      </Table.Td>
                      <Table.Td ta="right">{totalsWords(s.totals) || '—'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Stack>
          ))}
        </Stack>
      )}
    </Widget>
  );
}

function RecordLink({ object, id, children }: { object: string; id: string; children: ReactNode }) {
  if (isRecordObject(object))
    return (
      <Anchor size="sm" renderRoot={(p) => <Link {...p} to={DETAIL_PATH[object]} params={{ id }} />}>
        {children}
      </Anchor>
    );
  return <Text size="sm">{children}</Text>;
}

function RecentlyViewed({ recent }: { recent: Home['recent'] }) {
  return (
    <Widget title="Recently viewed">
      {recent.length === 0 ? (
        <Text size="sm" c="dimmed">
          Records you open show here.
        </Text>
      ) : (
        <Stack gap={4}>
          {recent.map((r) => (
            <Group key={`${r.object}:${r.id}`} justify="space-between" wrap="nowrap" gap="xs">
              <RecordLink object={r.object} id={r.id}>
                {r.title}
              </RecordLink>
              <Badge variant="light" size="sm">
                {r.object}
              </Badge>
            </Group>
          ))}
        </Stack>
      )}
    </Widget>
  );
}

function RecentActivity({ activity }: { activity: Home['activity'] }) {
  return (
    <Widget title="Recent activity">
      {activity.length === 0 ? (
        <Text size="sm" c="dimmed">
          What your team does shows here.
        </Text>
      ) : (
        <Stack gap={6}>
          {activity.map((e) => (
            <Stack key={e.id} gap={0}>
              {isRecordObject(e.subject.object) && !e.type.endsWith('.deleted') ? (
                <RecordLink object={e.subject.object} id={e.subject.id}>
                  {e.description}
                </RecordLink>
              ) : (
                <Text size="sm">{e.description}</Text>
              )}
              <Text size="xs" c="dimmed">
                {formatDate(e.occurred_at, true)}
              </Text>
            </Stack>
          ))}
        </Stack>
      )}
    </Widget>
  );
}
