import { ActionIcon, Group } from '@mantine/core';
import { IconCheck, IconX } from '@tabler/icons-react';
import { useState } from 'react';
import { api, call, type Field, type Member } from '../../api/client';
import { FieldInput, inputValueOf, patchFor, type RecordData } from '../../lib/fields';
import { type Collection, recordPath } from '../../lib/records';

/**
 * Whether a table cell can be edited in place: a writable field, or a contact's primary e-mail or
 * phone (saved into its list of e-mails or phones).
 */
export function isInlineEditable(collection: Collection, field: Field): boolean {
  if (collection === 'contacts' && (field.key === 'email' || field.key === 'phone')) return true;
  return !field.read_only && field.storage !== 'computed' && field.type !== 'relation';
}

/**
 * The body that sets one cell. A contact's primary e-mail or phone replaces the primary one of
 * the record's list (read first, so the others stay); a blank one removes it.
 */
async function bodyFor(collection: Collection, id: string, field: Field, value: unknown) {
  if (collection !== 'contacts' || (field.key !== 'email' && field.key !== 'phone'))
    return patchFor(field, value);
  const contact = await call(api.GET('/api/v1/contacts/{id}', { params: { path: { id } } }));
  const typed = typeof value === 'string' ? value.trim() : '';
  if (field.key === 'email') {
    const others = contact.emails.filter((e) => !e.primary).map((e) => ({ value: e.value, primary: false }));
    return { emails: typed ? [{ value: typed, primary: true }, ...others] : others };
  }
  const others = contact.phones
    .filter((p) => !p.primary)
    .map((p) => ({ number: p.raw ?? p.e164 ?? '', primary: false }));
  return { phones: typed ? [{ number: typed, primary: true }, ...others] : others };
}

/**
 * A table cell being edited in place: the field's input, Enter or the tick saves
 * (`PATCH /api/v1/<collection>/{id}`), Escape or the cross cancels; an error stays shown under the
 * input with what was typed.
 */
export function InlineCellEditor({
  collection,
  field,
  row,
  members,
  onDone,
}: {
  collection: Collection;
  field: Field;
  row: RecordData;
  members: Member[];
  /** Called after a save (with the saved record) or a cancel (without). */
  onDone: (saved?: Record<string, unknown>) => void;
}) {
  const [draft, setDraft] = useState<unknown>(() => inputValueOf(field, row));
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  async function save() {
    setBusy(true);
    setError(undefined);
    try {
      const body = await bodyFor(collection, row.id, field, draft);
      const saved = await call(
        api.PATCH(recordPath(collection, '/{id}'), { params: { path: { id: row.id } }, body }),
      );
      onDone(saved as Record<string, unknown>);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  }
  return (
    <Group
      gap={4}
      wrap="nowrap"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onDone();
        }
        if (e.key === 'Enter' && field.type !== 'long_text') {
          e.preventDefault();
          e.stopPropagation();
          void save();
        }
      }}
    >
      <div style={{ flex: 1, minWidth: 140 }}>
        <FieldInput
          field={field}
          value={draft}
          onChange={setDraft}
          members={members}
          autoFocus
          inPopover
          error={error}
        />
      </div>
      <ActionIcon size="sm" aria-label="Save" loading={busy} onClick={() => void save()}>
        <IconCheck size={14} />
      </ActionIcon>
      <ActionIcon size="sm" variant="default" aria-label="Cancel" onClick={() => onDone()}>
        <IconX size={14} />
      </ActionIcon>
    </Group>
  );
}
