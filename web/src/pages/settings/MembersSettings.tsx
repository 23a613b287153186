import {
  ActionIcon,
  Button,
  CopyButton,
  Group,
  Paper,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCopy, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { formatDate } from '../../lib/fields';
import { membersQuery, meQuery } from '../../lib/query';
import { ErrorAlert } from '../../shell/states';
import { rolesQuery } from './RolesSettings';

const ROLES = [
  { value: 'admin', label: 'Admin: members, settings and all data' },
  { value: 'user', label: 'User: creates and edits records' },
  { value: 'viewer', label: 'Viewer: reads only' },
];
type Role = 'admin' | 'user' | 'viewer';

/** Members with their roles (change, remove) and invitations (send, copy link, withdraw). */
export function MembersSettings() {
  const queryClient = useQueryClient();
  const { data: me } = useQuery(meQuery);
  const members = useQuery(membersQuery);
  // Every role a member may hold: the built-in ones and the organization's own (issue 22).
  const roles = useQuery(rolesQuery);
  const roleChoices =
    roles.data?.data.map((r) => ({ value: r.key, label: r.name })) ??
    ROLES.map((r) => ({ value: r.value, label: r.value }));
  const invitations = useQuery({
    queryKey: ['invitations'],
    queryFn: () => call(api.GET('/api/v1/invitations')),
  });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('user');
  const notify = (e: Error) => notifications.show({ color: 'red', message: e.message });

  const changeRole = useMutation({
    mutationFn: (v: { userId: string; role: string }) =>
      call(
        api.PATCH('/api/v1/members/{userId}', {
          params: { path: { userId: v.userId } },
          body: { role: v.role },
        }),
      ),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['members'] }),
    onError: notify,
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      call(api.DELETE('/api/v1/members/{userId}', { params: { path: { userId } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['members'] }),
    onError: notify,
  });
  const invite = useMutation({
    mutationFn: () => call(api.POST('/api/v1/invitations', { body: { email, role } })),
    onSuccess: () => {
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: ['invitations'] });
    },
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => call(api.DELETE('/api/v1/invitations/{id}', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['invitations'] }),
    onError: notify,
  });

  return (
    <Stack>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="sm">
          Members
        </Title>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>E-mail</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Joined</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.data?.data.map((m) => (
              <Table.Tr key={m.user_id}>
                <Table.Td>{m.name}</Table.Td>
                <Table.Td>{m.email}</Table.Td>
                <Table.Td>
                  <Select
                    aria-label={`Role of ${m.name}`}
                    w={130}
                    size="xs"
                    data={roleChoices}
                    value={m.role}
                    disabled={m.user_id === me?.user.id}
                    onChange={(v) => v && changeRole.mutate({ userId: m.user_id, role: v })}
                  />
                </Table.Td>
                <Table.Td>{formatDate(m.joined_at)}</Table.Td>
                <Table.Td>
                  {m.user_id !== me?.user.id && (
                    <ActionIcon
                      variant="subtle"
                      color="red"
                      aria-label={`Remove ${m.name}`}
                      onClick={() => remove.mutate(m.user_id)}
                    >
                      <IconTrash size={16} />
                    </ActionIcon>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Paper>
      <Paper withBorder p="md">
        <Title order={2} size="h4" mb="sm">
          Invitations
        </Title>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            invite.mutate();
          }}
        >
          <Group align="flex-end" gap="xs">
            <TextInput
              label="E-mail"
              type="email"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              w={260}
            />
            <Select
              label="Role"
              data={ROLES}
              value={role}
              onChange={(v) => setRole((v as Role) ?? 'user')}
              w={300}
            />
            <Button type="submit" loading={invite.isPending}>
              Invite
            </Button>
          </Group>
          <ErrorAlert error={invite.error} />
        </form>
        <Text size="sm" c="dimmed" mt="sm">
          Send the invitation link to the person you invite; it works once and expires.
        </Text>
        <Table mt="sm">
          <Table.Tbody>
            {invitations.data?.data
              .filter((i) => i.status === 'pending')
              .map((i) => (
                <Table.Tr key={i.id}>
                  <Table.Td>{i.email}</Table.Td>
                  <Table.Td>{i.role}</Table.Td>
                  <Table.Td>expires {formatDate(i.expires_at)}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <CopyButton value={i.link}>
                        {({ copied, copy }) => (
                          <Tooltip label={copied ? 'Copied' : i.link}>
                            <ActionIcon
                              variant="subtle"
                              aria-label={`Copy invitation link for ${i.email}`}
                              onClick={copy}
                            >
                              <IconCopy size={16} />
                            </ActionIcon>
                          </Tooltip>
                        )}
                      </CopyButton>
                      <ActionIcon
                        variant="subtle"
                        color="red"
                        aria-label={`Withdraw invitation for ${i.email}`}
                        onClick={() => withdraw.mutate(i.id)}
                      >
                        <IconTrash size={16} />
                      </ActionIcon>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
          </Table.Tbody>
        </Table>
      </Paper>
    </Stack>
  );
}
