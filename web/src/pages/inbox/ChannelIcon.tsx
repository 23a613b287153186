import { IconBrandInstagram, IconBrandMessenger, IconMail, IconMessage } from '@tabler/icons-react';

/** A channel's kind as an icon with its name for screen readers. */
export function ChannelIcon({ kind }: { kind: string }) {
  if (kind === 'sms') return <IconMessage size={16} aria-label="SMS" />;
  if (kind === 'messenger') return <IconBrandMessenger size={16} aria-label="Messenger" />;
  if (kind === 'instagram') return <IconBrandInstagram size={16} aria-label="Instagram" />;
  return <IconMail size={16} aria-label="E-mail" />;
}
