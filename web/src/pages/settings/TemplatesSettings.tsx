import { Badge, Button, Group, List, Modal, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api, call, type Schemas } from '../../api/client';

type Template = Schemas['Template'];

/**
 * The template gallery (issue 21): Surrogacy agency, Recruiting, Product catalog. Applying one
 * creates its roles, objects, fields, statuses, queues and views in one go (all or nothing).
 */
export function TemplatesSettings() {
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<Template | null>(null);
  const templates = useQuery({ queryKey: ['templates'], queryFn: () => call(api.GET('/api/v1/templates')) });
  const apply = useMutation({
    mutationFn: (key: string) =>
      call(api.POST('/api/v1/templates/{key}/apply', { params: { path: { key } } })),
    onSuccess: (applied) => {
      notifications.show({ color: 'green', message: `${applied.name} is ready` });
      setConfirm(null);
      void queryClient.invalidateQueries();
    },
    onError: (e) =>
      notifications.show({
        color: 'red',
        title: 'Not applied',
        message: e instanceof ApiError ? (e.problem.detail ?? e.message) : String(e),
      }),
  });
  return (
    <Stack>
      <Text c="dimmed">
        A template sets up objects, their fields and statuses, roles, hand-off queues and saved views for a
        kind of work. Nothing is created unless all of it can be.
      </Text>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        {(templates.data?.data ?? []).map((t) => (
          <Paper key={t.key} withBorder p="md" data-template={t.key}>
            <Stack gap="xs">
              <Group justify="space-between">
                <Title order={2} size="h4">
                  {t.name}
                </Title>
                {t.applied && <Badge color="green">Applied</Badge>}
              </Group>
              <Text size="sm">{t.description}</Text>
              <List size="sm">
                {t.creates.objects.length > 0 && (
                  <List.Item>Objects: {t.creates.objects.join(', ')}</List.Item>
                )}
                <List.Item>{t.creates.fields} fields</List.Item>
                {t.creates.roles.length > 0 && <List.Item>Roles: {t.creates.roles.join(', ')}</List.Item>}
                {t.creates.views.length > 0 && <List.Item>Views: {t.creates.views.join(', ')}</List.Item>}
              </List>
              <Button disabled={t.applied} onClick={() => setConfirm(t)} aria-label={`Apply ${t.name}`}>
                {t.applied ? 'Applied' : 'Apply'}
              </Button>
            </Stack>
          </Paper>
        ))}
      </SimpleGrid>
      {confirm && (
        <Modal opened onClose={() => setConfirm(null)} title={`Apply ${confirm.name}?`}>
          <Stack>
            <Text size="sm">
              This adds {confirm.creates.objects.join(', ') || 'fields'} to your organization. It can be
              applied once.
            </Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setConfirm(null)}>
                Cancel
              </Button>
              <Button loading={apply.isPending} onClick={() => apply.mutate(confirm.key)}>
                Apply template
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
    </Stack>
  );
}
