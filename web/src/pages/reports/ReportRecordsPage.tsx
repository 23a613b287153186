import { Alert, Anchor, Code, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { api, call } from '../../api/client';
import { objectsQuery } from '../../lib/query';
import { COLLECTION, DETAIL_PATH } from '../../lib/records';

/** The records behind a report cell: the object's list under the cell's filter (first 200). */
export function ReportRecordsPage() {
  const search = useSearch({ strict: false }) as { object?: string; filter?: string };
  const object = search.object ?? 'opportunity';
  const def = (useQuery(objectsQuery).data?.data ?? []).find((o) => o.key === object);
  const standard = object in COLLECTION ? COLLECTION[object as keyof typeof COLLECTION] : undefined;
  let filter: unknown;
  try {
    filter = search.filter ? JSON.parse(search.filter) : undefined;
  } catch {
    filter = undefined;
  }
  const columns = def?.display.columns ?? ['id'];
  const list = useQuery({
    queryKey: ['report-records', object, search.filter],
    enabled: Boolean(def),
    queryFn: () =>
      call(
        // Standard objects under their collection, custom ones under /records/<key> (same query).
        api.POST(
          (standard
            ? `/api/v1/${standard}/query`
            : `/api/v1/records/${object}/query`) as '/api/v1/contacts/query',
          {
            body: { ...(filter ? { filter: filter as never } : {}), fields: columns, limit: 200 },
          },
        ),
      ),
  });
  const path = standard ? DETAIL_PATH[object as keyof typeof DETAIL_PATH] : undefined;
  return (
    <Stack>
      <Title order={1} size="h2">
        {def?.label_plural ?? object}
      </Title>
      <Text c="dimmed" size="sm">
        Filter: <Code>{search.filter ?? 'none'}</Code>
      </Text>
      {list.error && <Alert color="red">{(list.error as Error).message}</Alert>}
      <Table striped data-testid="report-records">
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c}>{def?.fields.find((f) => f.key === c)?.label ?? c}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(list.data?.data ?? []).map((row) => {
            const r = row as Record<string, unknown> & { id: string; custom?: Record<string, unknown> };
            return (
              <Table.Tr key={r.id}>
                {columns.map((c, i) => {
                  const value = r[c] ?? r.custom?.[c];
                  const text =
                    value === null || value === undefined
                      ? ''
                      : typeof value === 'object'
                        ? JSON.stringify(value)
                        : String(value);
                  return (
                    <Table.Td key={c}>
                      {i === 0 ? (
                        path ? (
                          <Anchor component={Link} to={`${path.replace('$id', r.id)}`}>
                            {text || r.id}
                          </Anchor>
                        ) : (
                          <Anchor component={Link} to={`/records/${object}/${r.id}`}>
                            {text || r.id}
                          </Anchor>
                        )
                      ) : (
                        text
                      )}
                    </Table.Td>
                  );
                })}
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
