import { Button, Loader, Modal } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { api, call } from '../../../api/client';
import type { PanelProps } from './types';

// The composer (templates, signature) loads when it is opened, in the inbox's chunk.
const ContactComposer = lazy(() =>
  import('../../inbox/Composer').then((m) => ({ default: m.ContactComposer })),
);

/** "Message": a new e-mail or SMS to the contact from one of the organization's channels (issue 23). */
export function ContactMessageAction({ id, canEdit }: PanelProps) {
  const [open, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const contact = useQuery({
    queryKey: ['contacts', id],
    queryFn: () => call(api.GET('/api/v1/contacts/{id}', { params: { path: { id } } })),
  }).data;
  if (!canEdit || !contact) return null;
  const emails = contact.emails.map((e) => e.value);
  const phones = contact.phones.flatMap((p) => (p.e164 ? [p.e164] : []));
  return (
    <>
      <Button variant="default" onClick={() => setOpen(true)}>
        Message
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="New message" size="lg">
        <Suspense fallback={<Loader size="sm" />}>
          {open && (
            <ContactComposer
              contactId={id}
              emails={emails}
              phones={phones}
              onSent={() => {
                setOpen(false);
                notifications.show({ color: 'green', message: 'Queued for sending: it shows in the inbox' });
                void queryClient.invalidateQueries({ queryKey: ['conversations'] });
              }}
            />
          )}
        </Suspense>
      </Modal>
    </>
  );
}
