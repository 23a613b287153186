import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Paper,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call, type Task } from '../../api/client';
import { formatDate, memberName, useMembers } from '../../lib/fields';
import { meQuery } from '../../lib/query';
import { DETAIL_PATH } from '../../lib/records';
import { EmptyState, ErrorAlert, PageSkeleton } from '../../shell/states';

// "Due now": open tasks whose reminder time has passed (how a reminder reaches its assignee until
// notifications exist); they are also listed under their due date, with a "Reminder" badge.
const GROUPS = [
  ['due_now', 'Due now'],
  ['overdue', 'Overdue'],
  ['today', 'Today'],
  ['tomorrow', 'Tomorrow'],
  ['this_week', 'This week'],
  ['later', 'Later'],
  ['no_date', 'No due date'],
] as const;

/**
 * My tasks or everyone's: those whose reminder is due first, then grouped by when they are due
 * (in the browser's time zone); one click completes.
 */
export function TasksPage() {
  const search = useSearch({ from: '/app/tasks' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const members = useMembers();
  const { data: me } = useQuery(meQuery);
  const canEdit = me?.role === 'admin' || me?.role === 'user';
  const scope = search.scope === 'all' ? 'any' : 'me';
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const groups = useQuery({
    queryKey: ['tasks', 'groups', scope, tz],
    queryFn: () => call(api.GET('/api/v1/tasks/groups', { params: { query: { assignee: scope, tz } } })),
  });
  const complete = useMutation({
    mutationFn: (t: Task) =>
      call(api.POST('/api/v1/tasks/{id}/complete', { params: { path: { id: t.id } } })),
    onSuccess: (_, t) => {
      notifications.show({ color: 'teal', message: `Done: ${t.title}` });
      void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const [title, setTitle] = useState('');
  const [due, setDue] = useState('');
  // A local date and time (datetime-local); sent as an instant.
  const [remind, setRemind] = useState('');
  const add = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/tasks', {
          body: {
            title,
            ...(due ? { due_date: due } : {}),
            ...(remind ? { remind_at: new Date(remind).toISOString() } : {}),
          },
        }),
      ),
    onSuccess: () => {
      setTitle('');
      setDue('');
      setRemind('');
      void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    },
  });

  const total = groups.data ? GROUPS.reduce((n, [k]) => n + groups.data[k].length, 0) : 0;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Tasks
        </Title>
        <SegmentedControl
          value={search.scope === 'all' ? 'all' : 'mine'}
          onChange={(v) => void navigate({ to: '/tasks', search: v === 'all' ? { scope: 'all' } : {} })}
          data={[
            { value: 'mine', label: 'My tasks' },
            { value: 'all', label: 'All tasks' },
          ]}
        />
      </Group>
      {canEdit && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (title.trim()) add.mutate();
          }}
        >
          <Group gap="xs" align="flex-end">
            <TextInput
              aria-label="New task"
              placeholder="What needs doing?"
              value={title}
              onChange={(e) => setTitle(e.currentTarget.value)}
              style={{ flex: 1 }}
              maw={480}
            />
            <TextInput
              aria-label="Due date"
              type="date"
              value={due}
              onChange={(e) => setDue(e.currentTarget.value)}
              w={160}
            />
            <TextInput
              aria-label="Remind me at"
              title="Remind me at: the task shows under Due now from then on"
              type="datetime-local"
              value={remind}
              onChange={(e) => setRemind(e.currentTarget.value)}
              w={210}
            />
            <Button type="submit" loading={add.isPending}>
              Add task
            </Button>
          </Group>
          <ErrorAlert error={add.error} />
        </form>
      )}
      {groups.isPending ? (
        <PageSkeleton />
      ) : total === 0 ? (
        <EmptyState title="Nothing to do">
          Add a task above, or from a contact, company or opportunity so it shows on their timeline.
        </EmptyState>
      ) : (
        GROUPS.filter(([k]) => (groups.data?.[k].length ?? 0) > 0).map(([key, label]) => (
          <Paper key={key} withBorder p="md" component="section" aria-label={label}>
            <Group gap="xs" mb="xs">
              <Title
                order={2}
                size="h4"
                c={key === 'overdue' ? 'red' : key === 'due_now' ? 'orange' : undefined}
              >
                {label}
              </Title>
              <Badge variant="light">{groups.data?.[key].length}</Badge>
            </Group>
            <Stack gap={6}>
              {groups.data?.[key].map((t) => (
                <Group key={t.id} justify="space-between" wrap="nowrap">
                  <Checkbox
                    label={t.title}
                    aria-label={`Complete ${t.title}`}
                    checked={false}
                    disabled={!canEdit || complete.isPending}
                    onChange={() => complete.mutate(t)}
                  />
                  <Group gap="sm" wrap="nowrap">
                    {t.link && (
                      <Anchor
                        size="xs"
                        renderRoot={(p) => (
                          <Link {...p} to={DETAIL_PATH[t.link!.object]} params={{ id: t.link!.id }} />
                        )}
                      >
                        {`Open ${t.link.object}`}
                      </Anchor>
                    )}
                    {scope === 'any' && (
                      <Text size="xs" c="dimmed">
                        {memberName(members, t.assignee_id) || 'Unassigned'}
                      </Text>
                    )}
                    <Text size="xs" c={key === 'overdue' ? 'red' : 'dimmed'}>
                      {t.due_date ? formatDate(t.due_date) : t.due_at ? formatDate(t.due_at, true) : ''}
                    </Text>
                    {t.reminder_due && key !== 'due_now' && (
                      <Badge size="xs" color="orange" variant="light">
                        Reminder
                      </Badge>
                    )}
                    {t.priority !== 'normal' && (
                      <Badge
                        size="xs"
                        color={t.priority === 'urgent' ? 'red' : t.priority === 'high' ? 'orange' : 'gray'}
                      >
                        {t.priority}
                      </Badge>
                    )}
                  </Group>
                </Group>
              ))}
            </Stack>
          </Paper>
        ))
      )}
    </Stack>
  );
}
