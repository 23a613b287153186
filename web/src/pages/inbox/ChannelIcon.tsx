import { IconMail, IconMessage } from '@tabler/icons-react';

/** A channel's kind as an icon with its name for screen readers. */
export function ChannelIcon({ kind }: { kind: string }) {
  return kind === 'sms' ? (
    <IconMessage size={16} aria-label="SMS" />
  ) : (
    <IconMail size={16} aria-label="E-mail" />
  );
}
