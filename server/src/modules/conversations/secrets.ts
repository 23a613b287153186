import { seal, unseal } from '../../platform/crypto/sealed.js';
import type { Services } from '../../platform/http/types.js';
import type { ChannelSecrets } from './conversation.schema.js';

/** The purpose label a channel's secrets are sealed under (`platform/crypto/sealed.ts`). */
const PURPOSE = 'channel-credentials';

export const unsealChannelSecrets = (services: Services, row: { secrets: string | null }): ChannelSecrets =>
  row.secrets ? (JSON.parse(unseal(services.config.secret, PURPOSE, row.secrets)) as ChannelSecrets) : {};

export const sealChannelSecrets = (services: Services, secrets: ChannelSecrets): string | null =>
  Object.values(secrets).some(Boolean)
    ? seal(services.config.secret, PURPOSE, JSON.stringify(secrets))
    : null;
