import {
  ActionIcon,
  Button,
  Checkbox,
  Group,
  Select,
  Stack,
  Switch,
  Table,
  TagsInput,
  Text,
  TextInput,
} from '@mantine/core';
import { IconTrash } from '@tabler/icons-react';
import type { Schemas } from '../../api/client';

/** A status field's definition as the API takes it (`StatusConfig`). */
export type StatusConfig = Schemas['CustomFieldCreate']['statuses'] & {};
type Status = StatusConfig['statuses'][number];

const KINDS = [
  { value: 'open', label: 'Open' },
  { value: 'done', label: 'Done' },
  { value: 'cancelled', label: 'Cancelled' },
];

/** A status value from its label: `In review` -> `in_review`. */
export const statusValueOf = (label: string) =>
  label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '') || 'status';

export const NEW_STATUSES: StatusConfig = {
  statuses: [
    { value: 'new', label: 'New', kind: 'open', reason_required: false },
    { value: 'in_progress', label: 'In progress', kind: 'open', reason_required: false },
    { value: 'done', label: 'Done', kind: 'done', reason_required: false },
    { value: 'cancelled', label: 'Cancelled', kind: 'cancelled', reason_required: true },
  ],
};

/**
 * Edits a status field's statuses (in board order, each with its kind, the roles that may set it
 * and whether entering it needs a reason) and, when moves are restricted, which moves are allowed.
 */
export function StatusesEditor({
  value,
  onChange,
}: {
  value: StatusConfig;
  onChange: (v: StatusConfig) => void;
}) {
  const statuses = value.statuses;
  const set = (i: number, patch: Partial<Status>) =>
    onChange({ ...value, statuses: statuses.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const allowed = (from: string, to: string) =>
    value.transitions?.some((t) => t.from === from && t.to === to) ?? true;
  const toggleMove = (from: string, to: string, on: boolean) => {
    const rest = (value.transitions ?? []).filter((t) => !(t.from === from && t.to === to));
    onChange({ ...value, transitions: on ? [...rest, { from, to, reason_required: false }] : rest });
  };
  return (
    <Stack gap="xs">
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Status</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Roles that may set it</Table.Th>
            <Table.Th>Reason</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {statuses.map((s, i) => (
            <Table.Tr key={s.value}>
              <Table.Td>
                <TextInput
                  aria-label="Status name"
                  size="xs"
                  value={s.label}
                  onChange={(e) => set(i, { label: e.currentTarget.value })}
                />
              </Table.Td>
              <Table.Td>
                <Select
                  aria-label="Kind"
                  size="xs"
                  w={110}
                  data={KINDS}
                  value={s.kind ?? 'open'}
                  allowDeselect={false}
                  onChange={(k) => set(i, { kind: (k ?? 'open') as Status['kind'] })}
                />
              </Table.Td>
              <Table.Td>
                <TagsInput
                  aria-label="Roles"
                  size="xs"
                  placeholder="Anyone who edits"
                  value={s.roles ?? []}
                  onChange={(roles) => set(i, { roles: roles.length ? roles : undefined })}
                />
              </Table.Td>
              <Table.Td>
                <Checkbox
                  aria-label="Needs a reason"
                  checked={Boolean(s.reason_required)}
                  onChange={(e) => set(i, { reason_required: e.currentTarget.checked })}
                />
              </Table.Td>
              <Table.Td>
                <ActionIcon
                  variant="subtle"
                  color="gray"
                  aria-label={`Remove ${s.label}`}
                  disabled={statuses.length === 1}
                  onClick={() =>
                    onChange({
                      ...value,
                      statuses: statuses.filter((_, j) => j !== i),
                      ...(value.transitions
                        ? {
                            transitions: value.transitions.filter(
                              (t) => t.from !== s.value && t.to !== s.value,
                            ),
                          }
                        : {}),
                    })
                  }
                >
                  <IconTrash size={14} />
                </ActionIcon>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group>
        <TextInput
          size="xs"
          aria-label="New status"
          placeholder="Add a status and press Enter"
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            e.preventDefault();
            const label = e.currentTarget.value.trim();
            if (!label) return;
            let v = statusValueOf(label);
            while (statuses.some((s) => s.value === v)) v = `${v}_2`;
            onChange({
              ...value,
              statuses: [...statuses, { value: v, label, kind: 'open', reason_required: false }],
            });
            e.currentTarget.value = '';
          }}
        />
      </Group>
      <Switch
        label="Only allow chosen moves"
        checked={value.transitions !== undefined}
        onChange={(e) =>
          onChange(
            e.currentTarget.checked
              ? {
                  ...value,
                  // Start from the moves along the list, forwards and back.
                  transitions: statuses.flatMap((s, i) =>
                    [statuses[i - 1], statuses[i + 1]].flatMap((t) =>
                      t ? [{ from: s.value, to: t.value, reason_required: false }] : [],
                    ),
                  ),
                }
              : { statuses, ...(value.initial ? { initial: value.initial } : {}) },
          )
        }
      />
      {value.transitions !== undefined && (
        <Table withTableBorder>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>
                <Text size="xs">from ↓ to →</Text>
              </Table.Th>
              {statuses.map((s) => (
                <Table.Th key={s.value}>
                  <Text size="xs">{s.label}</Text>
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {statuses.map((from) => (
              <Table.Tr key={from.value}>
                <Table.Td>
                  <Text size="xs">{from.label}</Text>
                </Table.Td>
                {statuses.map((to) => (
                  <Table.Td key={to.value}>
                    {from.value !== to.value && (
                      <Checkbox
                        size="xs"
                        aria-label={`${from.label} to ${to.label}`}
                        checked={allowed(from.value, to.value)}
                        onChange={(e) => toggleMove(from.value, to.value, e.currentTarget.checked)}
                      />
                    )}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

/** An edit of a status field's statuses, sent as a whole (a status records hold cannot be removed). */
export function StatusesSaveButton({ busy, onSave }: { busy: boolean; onSave: () => void }) {
  return (
    <Group justify="flex-end">
      <Button loading={busy} onClick={onSave}>
        Save statuses
      </Button>
    </Group>
  );
}
