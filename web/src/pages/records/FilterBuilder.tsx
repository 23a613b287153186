import {
  ActionIcon,
  Button,
  Group,
  Popover,
  SegmentedControl,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { IconFilter, IconPlus, IconTrash } from '@tabler/icons-react';
import { useState } from 'react';
import type { Field, FilterNode, Member } from '../../api/client';
import { FieldInput } from '../../lib/fields';
import { RecordPicker } from '../../lib/pickers';
import { COLLECTION, type RecordObject } from '../../lib/records';

/** One condition of the builder; `value` is what the query language takes for `op`. */
export type Condition = { field: string; op: string; value?: unknown };
export type FilterState = { combinator: 'and' | 'or'; conditions: Condition[] };

// The operators per field type, as the server's query compiler accepts them
// (server/src/platform/query/query.fields.ts OPS_BY_TYPE).
const TEXT = ['contains', 'eq', 'neq', 'startsWith', 'isEmpty', 'isNotEmpty'];
const EQUALITY = ['eq', 'neq', 'isEmpty', 'isNotEmpty'];
const RANGE = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'isEmpty', 'isNotEmpty'];
const LIST = ['hasAny', 'hasAll', 'hasNone', 'isEmpty', 'isNotEmpty'];
const OPS: Record<string, string[]> = {
  text: TEXT,
  long_text: TEXT,
  email: TEXT,
  phone: TEXT,
  url: TEXT,
  number: RANGE,
  currency: RANGE,
  date: ['eq', 'gt', 'gte', 'lt', 'lte', 'isEmpty', 'isNotEmpty'],
  datetime: ['eq', 'gt', 'gte', 'lt', 'lte', 'isEmpty', 'isNotEmpty'],
  boolean: ['eq', 'isEmpty', 'isNotEmpty'],
  select: EQUALITY,
  status: EQUALITY,
  multi_select: LIST,
  tags: LIST,
  relation: EQUALITY,
  user: EQUALITY,
  uuid: EQUALITY,
};
const OP_LABELS: Record<string, string> = {
  eq: 'is',
  neq: 'is not',
  contains: 'contains',
  startsWith: 'starts with',
  gt: 'greater than',
  gte: 'at least',
  lt: 'less than',
  lte: 'at most',
  hasAny: 'has any of',
  hasAll: 'has all of',
  hasNone: 'has none of',
  isEmpty: 'is empty',
  isNotEmpty: 'is not empty',
};
const RELATIVE = [
  'today',
  'yesterday',
  'this_week',
  'last_week',
  'this_month',
  'last_month',
  'last_7_days',
  'last_30_days',
  'last_90_days',
  'next_7_days',
  'next_30_days',
];

// Dropdowns inside the filter popover stay inside it, so picking an option does not close it.
const NO_PORTAL = { withinPortal: false };

export const opsFor = (field: Field) => OPS[field.type] ?? EQUALITY;
const needsValue = (op: string) => op !== 'isEmpty' && op !== 'isNotEmpty';

/** The query-language filter for the builder's state, or undefined when it has no complete condition. */
export function toFilter(state: FilterState): FilterNode | undefined {
  const complete = state.conditions.filter(
    (c) =>
      c.field && c.op && (!needsValue(c.op) || (c.value !== undefined && c.value !== null && c.value !== '')),
  );
  if (complete.length === 0) return undefined;
  const nodes = complete.map((c) => (needsValue(c.op) ? c : { field: c.field, op: c.op })) as FilterNode[];
  return (state.combinator === 'and' ? { and: nodes } : { or: nodes }) as FilterNode;
}

/** The builder's state for a saved view's filter (flat and/or of conditions; deeper trees stay as they are). */
export function fromFilter(filter: unknown): FilterState {
  const f = filter as { and?: Condition[]; or?: Condition[] } | undefined;
  if (f?.and) return { combinator: 'and', conditions: f.and };
  if (f?.or) return { combinator: 'or', conditions: f.or };
  if (f && 'field' in f) return { combinator: 'and', conditions: [f as unknown as Condition] };
  return { combinator: 'and', conditions: [] };
}

function ValueInput({
  field,
  cond,
  onChange,
  members,
}: {
  field: Field;
  cond: Condition;
  onChange: (v: unknown) => void;
  members: Member[];
}) {
  if (!needsValue(cond.op)) return null;
  if (field.type === 'date' || field.type === 'datetime') {
    const relative = (cond.value as { relative?: string } | undefined)?.relative;
    return (
      <Group gap={4} wrap="nowrap">
        <Select
          comboboxProps={NO_PORTAL}
          aria-label="Relative date"
          w={150}
          placeholder="Relative…"
          data={RELATIVE.map((r) => ({ value: r, label: r.replaceAll('_', ' ') }))}
          value={relative ?? null}
          onChange={(v) => onChange(v ? { relative: v } : undefined)}
          clearable
        />
        {!relative && (
          <TextInput
            aria-label="Date"
            type="date"
            value={typeof cond.value === 'string' ? cond.value : ''}
            onChange={(e) => onChange(e.currentTarget.value || undefined)}
          />
        )}
      </Group>
    );
  }
  if (field.type === 'boolean') {
    return (
      <Select
        comboboxProps={NO_PORTAL}
        aria-label="Value"
        data={[
          { value: 'true', label: 'Yes' },
          { value: 'false', label: 'No' },
        ]}
        value={cond.value === undefined ? null : String(cond.value)}
        onChange={(v) => onChange(v === null ? undefined : v === 'true')}
      />
    );
  }
  if (field.type === 'tags' || field.type === 'multi_select') {
    return (
      <FieldInput
        inPopover
        field={field}
        value={cond.value ?? []}
        onChange={onChange}
        members={members}
        label="Value"
      />
    );
  }
  const related = field.relation?.object;
  if (
    field.type === 'relation' &&
    related &&
    related in COLLECTION &&
    (cond.op === 'eq' || cond.op === 'neq')
  ) {
    // A company for a contact's companies, a contact for an opportunity: picked by name.
    return (
      <RecordPicker
        inPopover
        collection={COLLECTION[related as RecordObject]}
        label="Value"
        value={typeof cond.value === 'string' ? cond.value : null}
        onChange={(id) => onChange(id ?? undefined)}
      />
    );
  }
  if (field.type === 'currency') {
    return (
      <FieldInput
        inPopover
        field={{ ...field, type: 'number' }}
        value={cond.value}
        onChange={onChange}
        members={members}
        label="Value"
      />
    );
  }
  return (
    <FieldInput
      inPopover
      field={field}
      value={cond.value}
      onChange={onChange}
      members={members}
      label="Value"
    />
  );
}

/**
 * The filter builder: conditions on any filterable field of the object's registry description
 * (custom fields included), combined with all (and) or any (or).
 */
export function FilterBuilder({
  fields,
  state,
  onChange,
  members,
}: {
  fields: Field[];
  state: FilterState;
  onChange: (s: FilterState) => void;
  members: Member[];
}) {
  const [opened, setOpened] = useState(false);
  const filterable = fields.filter((f) => f.filterable && !f.retired);
  const active = toFilter(state) ? state.conditions.length : 0;
  const update = (i: number, c: Partial<Condition>) =>
    onChange({ ...state, conditions: state.conditions.map((x, j) => (j === i ? { ...x, ...c } : x)) });

  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-start" width={640} withinPortal trapFocus>
      <Popover.Target>
        <Button
          variant={active ? 'light' : 'default'}
          leftSection={<IconFilter size={16} />}
          onClick={() => setOpened((o) => !o)}
        >
          Filter{active ? ` (${active})` : ''}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <Group justify="space-between">
            <Text size="sm" fw={600}>
              Show records matching
            </Text>
            <SegmentedControl
              size="xs"
              value={state.combinator}
              onChange={(v) => onChange({ ...state, combinator: v as 'and' | 'or' })}
              data={[
                { value: 'and', label: 'all conditions' },
                { value: 'or', label: 'any condition' },
              ]}
            />
          </Group>
          {state.conditions.length === 0 && (
            <Text size="sm" c="dimmed">
              No conditions yet. Add one to narrow the list.
            </Text>
          )}
          {state.conditions.map((cond, i) => {
            const field = filterable.find((f) => f.key === cond.field);
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: conditions are positional
              <Group key={i} gap={6} wrap="nowrap" align="flex-start" data-testid="filter-condition">
                <Select
                  comboboxProps={NO_PORTAL}
                  aria-label="Field"
                  w={170}
                  searchable
                  data={filterable.map((f) => ({ value: f.key, label: f.label }))}
                  value={cond.field || null}
                  allowDeselect={false}
                  onChange={(v) => {
                    // Re-choosing the chosen field keeps its operator and value.
                    if (!v || v === cond.field) return;
                    const f = filterable.find((x) => x.key === v);
                    update(i, { field: v ?? '', op: f ? (opsFor(f)[0] ?? 'eq') : 'eq', value: undefined });
                  }}
                />
                {field && (
                  <Select
                    comboboxProps={NO_PORTAL}
                    aria-label="Operator"
                    w={140}
                    data={opsFor(field).map((o) => ({ value: o, label: OP_LABELS[o] ?? o }))}
                    value={cond.op}
                    // Re-choosing the chosen operator keeps it (a Select deselects by default).
                    allowDeselect={false}
                    onChange={(v) => v && v !== cond.op && update(i, { op: v })}
                  />
                )}
                <div style={{ flex: 1 }}>
                  {field && (
                    <ValueInput
                      field={field}
                      cond={cond}
                      members={members}
                      onChange={(value) => update(i, { value })}
                    />
                  )}
                </div>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label="Remove condition"
                  onClick={() =>
                    onChange({ ...state, conditions: state.conditions.filter((_, j) => j !== i) })
                  }
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Group>
            );
          })}
          <Group justify="space-between">
            <Button
              size="xs"
              variant="subtle"
              leftSection={<IconPlus size={14} />}
              onClick={() =>
                onChange({ ...state, conditions: [...state.conditions, { field: '', op: 'eq' }] })
              }
            >
              Add condition
            </Button>
            {state.conditions.length > 0 && (
              <Button
                size="xs"
                variant="subtle"
                color="gray"
                onClick={() => onChange({ ...state, conditions: [] })}
              >
                Clear all
              </Button>
            )}
          </Group>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
