import '@mantine/tiptap/styles.css';
import { Button, Group, Stack, Text } from '@mantine/core';
import { Link, RichTextEditor } from '@mantine/tiptap';
import { useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useState } from 'react';
import { styleNonce } from '../../lib/csp';

/**
 * The rich-text note editor (tiptap via @mantine/tiptap), loaded only when a detail page shows
 * it. Its HTML is sanitized by the server before it is stored.
 */
export default function NoteEditor({
  onSave,
  error,
}: {
  onSave: (html: string) => Promise<unknown>;
  error: unknown;
}) {
  const [busy, setBusy] = useState(false);
  const editor = useEditor({
    extensions: [StarterKit.configure({ link: false }), Link],
    content: '',
    immediatelyRender: true,
    injectNonce: styleNonce(),
    editorProps: { attributes: { 'aria-label': 'New note', role: 'textbox', 'aria-multiline': 'true' } },
  });

  async function save() {
    if (!editor || editor.isEmpty) return;
    setBusy(true);
    try {
      await onSave(editor.getHTML());
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
          </RichTextEditor.ControlsGroup>
        </RichTextEditor.Toolbar>
        <RichTextEditor.Content mih={80} />
      </RichTextEditor>
      {error ? (
        <Text size="xs" c="red" role="alert">
          {(error as Error).message}
        </Text>
      ) : null}
      <Group justify="flex-end">
        <Button size="xs" onClick={() => void save()} loading={busy}>
          Add note
        </Button>
      </Group>
    </Stack>
  );
}
