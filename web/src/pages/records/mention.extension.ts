import { mergeAttributes, Node } from '@tiptap/react';

/**
 * A mention of a member in a note: an inline atom written as
 * `<span data-mention="<user id>">@Name</span>`, the one syntax the server's sanitizer keeps
 * (server/src/modules/notes/note-html.util.ts) and reads to notify the mentioned member.
 */
export const Mention = Node.create({
  name: 'mention',
  group: 'inline',
  inline: true,
  atom: true,
  selectable: false,
  addAttributes() {
    return {
      id: {
        default: null,
        parseHTML: (el) => el.getAttribute('data-mention'),
        renderHTML: (attrs) => ({ 'data-mention': attrs.id }),
      },
      label: {
        default: '',
        parseHTML: (el) => (el.textContent ?? '').replace(/^@/, ''),
        renderHTML: () => ({}),
      },
    };
  },
  parseHTML() {
    return [{ tag: 'span[data-mention]' }];
  },
  renderHTML({ node, HTMLAttributes }) {
    return ['span', mergeAttributes(HTMLAttributes), `@${node.attrs.label}`];
  },
  renderText({ node }) {
    return `@${node.attrs.label}`;
  },
});
