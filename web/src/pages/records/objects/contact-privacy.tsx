import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../../api/client';
import { meQuery } from '../../../lib/query';
import { ErrorAlert } from '../../../shell/states';
import type { PanelProps } from './types';

/**
 * A contact's GDPR actions (admins): "Export personal data" downloads everything held about the
 * person as a ZIP; "Erase" removes the person and their notes, tasks and files and scrubs their
 * history, after a confirmation that says it cannot be undone.
 */
export function ContactPrivacyActions({ id }: PanelProps) {
  const me = useQuery(meQuery).data;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const erase = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/contacts/{id}/erase', { params: { path: { id } }, body: { confirm: true } })),
    onSuccess: async () => {
      setConfirming(false);
      notifications.show({ color: 'green', message: 'The contact and their personal data are erased' });
      void queryClient.invalidateQueries({ queryKey: ['contacts'] });
      await navigate({ to: '/contacts' });
    },
  });
  if (me?.role !== 'admin') return null;
  return (
    <>
      <Button
        variant="default"
        component="a"
        href={`/api/v1/contacts/${encodeURIComponent(id)}/personal-data`}
        download
      >
        Export personal data
      </Button>
      <Button variant="default" color="red" onClick={() => setConfirming(true)}>
        Erase
      </Button>
      <Modal opened={confirming} onClose={() => setConfirming(false)} title="Erase this contact?">
        <Stack>
          <Text size="sm">
            The contact, their notes, tasks and files are deleted, and their name, e-mails and phones are
            removed from the history of other records. This cannot be undone. Export their personal data first
            if they asked for a copy.
          </Text>
          <ErrorAlert error={erase.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button color="red" loading={erase.isPending} onClick={() => erase.mutate()}>
              Erase for good
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
