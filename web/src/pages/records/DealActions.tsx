import { Button, Modal } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { recordTitle } from '../../lib/records';
import { NewOpportunityForm } from '../board/NewOpportunityForm';
import type { PanelProps } from './objects/types';

/**
 * "New deal" on a contact's or a company's page: the new opportunity form with the record filled
 * in (a contact's primary company too); the new deal opens once created.
 */
export function NewDealAction({ object, record, description, canEdit }: PanelProps) {
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  if (!canEdit || record.archived_at) return null;
  const name = recordTitle(description.display, record);
  const companies = Array.isArray(record.companies)
    ? (record.companies as { id: string; name: string; primary: boolean }[])
    : [];
  const primary = companies.find((c) => c.primary) ?? companies[0];
  const initial =
    object === 'contact'
      ? {
          title: `${name} deal`,
          contact: { value: record.id, label: name },
          company: primary ? { value: primary.id, label: primary.name } : null,
        }
      : { title: `${name} deal`, company: { value: record.id, label: name } };
  return (
    <>
      <Button size="xs" variant="default" onClick={() => setOpen(true)}>
        New deal
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="New opportunity">
        {open && (
          <NewOpportunityForm
            initial={initial}
            onDone={(created) => {
              setOpen(false);
              void queryClient.invalidateQueries({ queryKey: ['board'] });
              void queryClient.invalidateQueries({ queryKey: ['home'] });
              void navigate({ to: '/opportunities/$id', params: { id: created.id } });
            }}
          />
        )}
      </Modal>
    </>
  );
}

/** A lead's "Convert": makes the deal (and links the company) in one call, then opens the deal. */
export function ConvertLeadAction({ id, record, canEdit, refresh }: PanelProps) {
  const navigate = useNavigate();
  const convert = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/contacts/{id}/convert', { params: { path: { id } }, body: { opportunity: {} } }),
      ),
    onSuccess: ({ opportunity }) => {
      notifications.show({ color: 'teal', message: `Converted: ${opportunity.title}` });
      refresh();
      void navigate({ to: '/opportunities/$id', params: { id: opportunity.id } });
    },
    onError: (e) => notifications.show({ color: 'red', message: e.message }),
  });
  const status = record.lead_status;
  if (!canEdit || record.archived_at || !status || status === 'converted' || status === 'disqualified')
    return null;
  return (
    <Button size="xs" loading={convert.isPending} onClick={() => convert.mutate()}>
      Convert lead
    </Button>
  );
}

export function ContactActions(props: PanelProps) {
  return (
    <>
      <ConvertLeadAction {...props} />
      <NewDealAction {...props} />
    </>
  );
}
