import { ActionIcon, Button, Group, Paper, Pill, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { membersQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';

/** Teams (issue 22): members belong to teams; a role with the team scope sees teammates' records. */
export function TeamsSettings() {
  const queryClient = useQueryClient();
  const teams = useQuery({ queryKey: ['teams'], queryFn: () => call(api.GET('/api/v1/teams')) });
  const members = useQuery(membersQuery);
  const [name, setName] = useState('');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['teams'] });
  const notify = (e: Error) => notifications.show({ color: 'red', message: e.message });
  const create = useMutation({
    mutationFn: () => call(api.POST('/api/v1/teams', { body: { name } })),
    onSuccess: () => {
      setName('');
      refresh();
    },
  });
  const setMember = useMutation({
    mutationFn: (v: { team: string; user: string; add: boolean }) =>
      call(
        v.add
          ? api.PUT('/api/v1/teams/{id}/members/{userId}', {
              params: { path: { id: v.team, userId: v.user } },
            })
          : api.DELETE('/api/v1/teams/{id}/members/{userId}', {
              params: { path: { id: v.team, userId: v.user } },
            }),
      ),
    onSuccess: refresh,
    onError: notify,
  });
  const remove = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/teams/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
    onError: notify,
  });
  return (
    <Stack>
      {teams.data?.data.length === 0 && <Text c="dimmed">No teams yet.</Text>}
      {teams.data?.data.map((team) => (
        <Paper withBorder p="md" key={team.id}>
          <Group justify="space-between" mb="xs">
            <Title order={2} size="h4">
              {team.name}
            </Title>
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={`Delete team ${team.name}`}
              onClick={() => remove.mutate(team.id)}
            >
              <IconTrash size={16} />
            </ActionIcon>
          </Group>
          <Group gap={6}>
            {team.members.map((m) => (
              <Pill
                key={m.user_id}
                withRemoveButton
                removeButtonProps={{ 'aria-label': `Take ${m.name} out of ${team.name}` }}
                onRemove={() => setMember.mutate({ team: team.id, user: m.user_id, add: false })}
              >
                {m.name || m.email}
              </Pill>
            ))}
            <Select
              aria-label={`Add a member to ${team.name}`}
              placeholder="Add a member"
              size="xs"
              w={200}
              value={null}
              data={(members.data?.data ?? [])
                .filter((m) => !team.members.some((x) => x.user_id === m.user_id))
                .map((m) => ({ value: m.user_id, label: m.name || m.email }))}
              onChange={(v) => v && setMember.mutate({ team: team.id, user: v, add: true })}
            />
          </Group>
        </Paper>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end" gap="xs">
          <TextInput
            label="New team"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <Button type="submit" loading={create.isPending}>
            Create team
          </Button>
        </Group>
        <ErrorAlert error={create.error} />
      </form>
    </Stack>
  );
}
