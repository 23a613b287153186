import '@mantine/tiptap/styles.css';
import { Button, Group, Menu, Stack, Text } from '@mantine/core';
import { Link, RichTextEditor } from '@mantine/tiptap';
import { IconAt } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { type Editor, useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useState } from 'react';
import { styleNonce } from '../../lib/csp';
import { membersQuery } from '../../lib/query';
import { Mention } from './mention.extension';

/** The toolbar's "Mention" control: a member picked from the list is mentioned (and notified). */
function MentionControl({ editor }: { editor: Editor | null }) {
  const { data } = useQuery(membersQuery);
  return (
    <Menu position="bottom-start" withinPortal>
      <Menu.Target>
        <RichTextEditor.Control aria-label="Mention a member" title="Mention a member">
          <IconAt size={16} stroke={1.5} />
        </RichTextEditor.Control>
      </Menu.Target>
      <Menu.Dropdown mah={260} style={{ overflowY: 'auto' }}>
        <Menu.Label>Mention (they are notified)</Menu.Label>
        {(data?.data ?? []).map((m) => (
          <Menu.Item
            key={m.user_id}
            onClick={() =>
              editor
                ?.chain()
                .focus()
                .insertContent([
                  { type: 'mention', attrs: { id: m.user_id, label: m.name } },
                  { type: 'text', text: ' ' },
                ])
                .run()
            }
          >
            {m.name}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}

/**
 * The rich-text note editor (tiptap via @mantine/tiptap), loaded only when a detail page shows
 * it. Its HTML is sanitized by the server before it is stored.
 */
export default function NoteEditor({
  onSave,
  error,
  submitLabel = 'Add note',
  allowEmpty = false,
  initial = '',
  label = 'New note',
  onCancel,
}: {
  onSave: (html: string) => Promise<unknown>;
  error: unknown;
  /** The button's words ("Log call"). */
  submitLabel?: string;
  /** Saves with no text (a logged call needs none). */
  allowEmpty?: boolean;
  /** The HTML to start from (editing a note). */
  initial?: string;
  label?: string;
  onCancel?: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const editor = useEditor({
    extensions: [StarterKit.configure({ link: false }), Link, Mention],
    content: initial,
    immediatelyRender: true,
    injectNonce: styleNonce(),
    editorProps: { attributes: { 'aria-label': label, role: 'textbox', 'aria-multiline': 'true' } },
  });

  async function save() {
    if (!editor || (editor.isEmpty && !allowEmpty)) return;
    setBusy(true);
    try {
      await onSave(editor.isEmpty ? '' : editor.getHTML());
      editor.commands.clearContent();
    } catch {
      // keep the text; the error is shown below
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack gap={6}>
      <RichTextEditor editor={editor}>
        <RichTextEditor.Toolbar>
          <RichTextEditor.ControlsGroup>
            <RichTextEditor.Bold />
            <RichTextEditor.Italic />
            <RichTextEditor.BulletList />
            <RichTextEditor.OrderedList />
            <RichTextEditor.Blockquote />
            <RichTextEditor.Link />
            <MentionControl editor={editor} />
          </RichTextEditor.ControlsGroup>
        </RichTextEditor.Toolbar>
        <RichTextEditor.Content mih={80} />
      </RichTextEditor>
      {error ? (
        <Text size="xs" c="red" role="alert">
          {(error as Error).message}
        </Text>
      ) : null}
      <Group justify="flex-end" gap="xs">
        {onCancel && (
          <Button size="xs" variant="default" onClick={onCancel}>
            Cancel
          </Button>
        )}
        <Button size="xs" onClick={() => void save()} loading={busy}>
          {submitLabel}
        </Button>
      </Group>
    </Stack>
  );
}
