import { Alert, Stack, Switch, Table, Text } from '@mantine/core';
import { notifications as toast } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { NotificationSetting } from '../../lib/notifications';

const settingsQuery = {
  queryKey: ['notifications', 'settings'],
  queryFn: () => call(api.GET('/api/v1/notifications/settings')),
};

/** My notification settings: per kind, in-app on or off and an e-mail digest on or off. */
export function NotificationSettings() {
  const queryClient = useQueryClient();
  const { data } = useQuery(settingsQuery);
  const save = useMutation({
    mutationFn: (change: Pick<NotificationSetting, 'kind'> & Partial<NotificationSetting>) =>
      call(
        api.PUT('/api/v1/notifications/settings', {
          body: { data: [{ kind: change.kind, in_app: change.in_app, email_digest: change.email_digest }] },
        }),
      ),
    onSuccess: (saved) => queryClient.setQueryData(settingsQuery.queryKey, saved),
    onError: (error) => toast.show({ color: 'red', title: 'Not saved', message: (error as Error).message }),
  });
  if (!data) return null;
  return (
    <Stack>
      <Text size="sm" c="dimmed">
        What you are told about, in this organization. You are never told about what you did yourself.
      </Text>
      {!data.email_digest_available && (
        <Alert color="gray" variant="light">
          E-mail digests are not sent by this installation yet: your choice is kept for when they are.
        </Alert>
      )}
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Tell me when</Table.Th>
            <Table.Th>In the app</Table.Th>
            <Table.Th>E-mail digest</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {data.data.map((s) => (
            <Table.Tr key={s.kind}>
              <Table.Td>{s.label}</Table.Td>
              <Table.Td>
                <Switch
                  aria-label={`${s.label}: in the app`}
                  checked={s.in_app}
                  onChange={(e) => save.mutate({ kind: s.kind, in_app: e.currentTarget.checked })}
                />
              </Table.Td>
              <Table.Td>
                <Switch
                  aria-label={`${s.label}: e-mail digest`}
                  checked={s.email_digest}
                  onChange={(e) => save.mutate({ kind: s.kind, email_digest: e.currentTarget.checked })}
                />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
