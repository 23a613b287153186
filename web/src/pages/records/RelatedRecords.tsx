import { Anchor, Group, Stack, Text, Tooltip } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { api, call, type Member } from '../../api/client';
import { memberName } from '../../lib/fields';
import { objectsQuery } from '../../lib/query';
import {
  asRecord,
  COLLECTION,
  DETAIL_PATH,
  isRecordObject,
  type ObjectDisplay,
  type RecordData,
  type RecordObject,
  recordPath,
  recordTitle,
} from '../../lib/records';
import { Section } from './DetailParts';

/**
 * The records of other objects that point at this one through a relation field of the registry
 * (an opportunity's contact or company, a company's parent): one section per such field.
 */
export function RelatedRecords({
  object,
  id,
  members,
  summary,
}: {
  object: RecordObject;
  id: string;
  members: Member[];
  /** What a related record's row shows besides its name and owner (the related object's plug-in). */
  summary?: RelatedSummary;
}) {
  const objects = useQuery(objectsQuery);
  const links = (objects.data?.data ?? []).flatMap((o) =>
    isRecordObject(o.key) && o.key !== object
      ? o.fields
          .filter((f) => f.relation?.object === object && f.storage !== 'computed' && !f.retired)
          .map((f) => ({ from: o, fromObject: o.key, field: f }))
      : [],
  );
  return (
    <>
      {links.map(({ from, fromObject, field }) => (
        <RelatedSection
          key={`${from.key}.${field.key}`}
          object={isRecordObject(fromObject) ? fromObject : object}
          title={
            links.filter((l) => l.from.key === from.key).length > 1
              ? `${from.label_plural} (${field.label})`
              : from.label_plural
          }
          field={field.key}
          display={from.display}
          id={id}
          members={members}
          summary={summary}
        />
      ))}
    </>
  );
}

export type RelatedSummary = (object: RecordObject, record: RecordData) => ReactNode;

function RelatedSection({
  object,
  title,
  field,
  display,
  id,
  members,
  summary,
}: {
  object: RecordObject;
  title: string;
  field: string;
  display: ObjectDisplay;
  id: string;
  members: Member[];
  summary?: RelatedSummary | undefined;
}) {
  const collection = COLLECTION[object];
  const related = useQuery({
    queryKey: [collection, 'related', field, id],
    queryFn: async () => {
      const page = await call(
        api.POST(recordPath(collection, '/query'), {
          body: {
            filter: { field, op: 'eq', value: id },
            limit: 50,
            sort: [{ field: 'created_at', direction: 'desc' }],
          },
        }),
      );
      return page.data.flatMap(asRecord);
    },
  });
  return (
    <Section title={title}>
      <Stack gap={6}>
        {related.data?.length === 0 && (
          <Text size="sm" c="dimmed">
            No {title.toLowerCase()}.
          </Text>
        )}
        {related.data?.map((r) => (
          <Group key={r.id} justify="space-between" wrap="nowrap">
            <Anchor
              size="sm"
              renderRoot={(p) => <Link {...p} to={DETAIL_PATH[object]} params={{ id: r.id }} />}
            >
              {recordTitle(display, r)}
            </Anchor>
            <Group gap={6} wrap="nowrap">
              {summary?.(object, r)}
              <Tooltip label="Owner">
                <Text size="xs" c="dimmed">
                  {memberName(members, r.owner_id)}
                </Text>
              </Tooltip>
            </Group>
          </Group>
        ))}
      </Stack>
    </Section>
  );
}
