import { ActionIcon, Anchor, Group, Stack, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { AddRecordPicker } from '../../lib/custom-records';
import { DETAIL_PATH, isRecordObject } from '../../lib/records';
import { ErrorAlert } from '../../shell/states';
import { Section } from './DetailParts';

type Relation = {
  relation: string;
  label: string;
  side: 'from' | 'to';
  object: string;
  object_label: string;
  records: { id: string; name: string }[];
};

/**
 * A record's many-to-many relations, both sides (issue 21: `GET /api/v1/links/{object}/{id}`):
 * one section per relation with the linked records, a picker to link one more and × to unlink.
 * The same panel serves a custom object's record and a contact, a company or a deal; nothing
 * shows when no relation touches the object.
 */
export function LinksPanel({
  object,
  id,
  editable = true,
}: {
  object: string;
  id: string;
  editable?: boolean;
}) {
  const queryClient = useQueryClient();
  const key = ['links', object, id] as const;
  const relations = useQuery({
    queryKey: key,
    queryFn: () => call(api.GET('/api/v1/links/{object}/{id}', { params: { path: { object, id } } })),
  });
  const [error, setError] = useState<unknown>(null);
  async function edit(relation: string, change: { add?: string[]; remove?: string[] }) {
    setError(null);
    try {
      const answer = await call(
        api.POST('/api/v1/links/{object}/{id}', {
          params: { path: { object, id } },
          body: { relation, ...change },
        }),
      );
      queryClient.setQueryData(key, answer);
      // The linking records' own pages and lists show the change too.
      void queryClient.invalidateQueries({ queryKey: ['records'] });
      void queryClient.invalidateQueries({ queryKey: ['links'] });
    } catch (err) {
      setError(err);
    }
  }
  const data = (relations.data?.data ?? []) as Relation[];
  if (data.length === 0) return null;
  return (
    <>
      <ErrorAlert error={error} />
      {data.map((r) => (
        <Section
          key={`${r.side}:${r.relation}`}
          title={r.side === 'from' ? r.label : `${r.object_label} (${r.label})`}
        >
          <Stack gap={6} data-testid={`links-${r.relation}`}>
            {r.records.length === 0 && (
              <Text size="sm" c="dimmed">
                None linked.
              </Text>
            )}
            {r.records.map((linked) => (
              <Group key={linked.id} justify="space-between" wrap="nowrap">
                <LinkedName object={r.object} id={linked.id} name={linked.name} />
                {editable && (
                  <ActionIcon
                    variant="subtle"
                    color="gray"
                    aria-label={`Unlink ${linked.name}`}
                    onClick={() => void edit(r.relation, { remove: [linked.id] })}
                  >
                    ×
                  </ActionIcon>
                )}
              </Group>
            ))}
            {editable && (
              <AddRecordPicker
                object={r.object}
                label={`Link a record of ${r.object_label.toLowerCase()}`}
                onPick={(picked) => void edit(r.relation, { add: [picked] })}
              />
            )}
          </Stack>
        </Section>
      ))}
    </>
  );
}

/** A record's name linking to its detail page (a standard object's own page, else the generic one). */
export function LinkedName({ object, id, name }: { object: string; id: string; name: string }) {
  if (isRecordObject(object))
    return (
      <Anchor size="sm" renderRoot={(p) => <Link {...p} to={DETAIL_PATH[object]} params={{ id }} />}>
        {name}
      </Anchor>
    );
  return (
    <Anchor size="sm" renderRoot={(p) => <Link {...p} to="/records/$object/$id" params={{ object, id }} />}>
      {name}
    </Anchor>
  );
}
