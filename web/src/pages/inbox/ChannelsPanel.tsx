import {
  Alert,
  Badge,
  Button,
  Code,
  Group,
  NumberInput,
  Paper,
  PasswordInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Schemas } from '../../api/client';
import { ChannelIcon } from './ChannelIcon';

type Channel = Schemas['Channel'];

const PROVIDER_LABEL = { sendgrid: 'SendGrid', postmark: 'Postmark', mailgun: 'Mailgun' } as const;
const WEBHOOK_KEY_LABEL = {
  sendgrid: 'Event webhook verification key',
  postmark: 'Webhook password',
  mailgun: 'HTTP webhook signing key',
} as const;
const WEBHOOK_KEY_HELP = {
  sendgrid: 'From Mail Settings > Signed Event Webhook; also the password of the Inbound Parse URL',
  postmark: 'Put it in the webhook URLs as https://cairn:PASSWORD@host/...',
  mailgun: 'From Sending > Webhooks: it signs both webhooks and route forwards',
} as const;

/** A provider channel's settings: the keys masked, the URLs to paste into the provider's settings. */
function ProviderDetails({ c }: { c: Channel }) {
  const p = c.provider!;
  return (
    <Stack gap={2} mt="xs">
      <Text size="xs">
        {PROVIDER_LABEL[p.name]}
        {p.domain ? ` (${p.domain})` : ''} · API key {p.api_key ?? 'not set'} · webhook key{' '}
        {p.webhook_key ?? 'not set'}
      </Text>
      <Text size="xs" c="dimmed">
        Event webhook: <Code>{p.events_webhook_url}</Code>
      </Text>
      <Text size="xs" c="dimmed">
        Inbound webhook: <Code>{p.inbound_webhook_url}</Code>
      </Text>
      {c.rejected_webhooks > 0 && (
        <Text size="xs" c="red">
          {c.rejected_webhooks} webhook requests refused (signature did not verify)
        </Text>
      )}
    </Stack>
  );
}

/**
 * The organization's channels (admins): connect a mailbox (SMTP + IMAP, or a provider: SendGrid,
 * Postmark, Mailgun), a Twilio number or the local mailbox, and test the connection. Keys are
 * write-only: the API answers `********` for a key that is set.
 */
export function Channels() {
  const queryClient = useQueryClient();
  const channels = useQuery({
    queryKey: ['channels'],
    queryFn: () => call(api.GET('/api/v1/channels')),
  });
  const [kind, setKind] = useState<'email' | 'provider' | 'sms' | 'messenger' | 'instagram' | 'local'>(
    'email',
  );
  const metaKind = kind === 'messenger' || kind === 'instagram';
  // Messenger and Instagram messages arrive at the organization's Meta webhook (Settings, Meta).
  const metaSettings = useQuery({
    queryKey: ['meta', 'settings'],
    queryFn: () => call(api.GET('/api/v1/meta/settings')),
    enabled: metaKind || (channels.data?.data ?? []).some((c) => c.meta),
  });
  const [form, setForm] = useState({
    name: '',
    address: '',
    smtpHost: '',
    smtpPort: 587 as number | string,
    smtpUser: '',
    smtpPassword: '',
    imapHost: '',
    imapPort: 993 as number | string,
    imapSecure: true,
    imapUser: '',
    imapPassword: '',
    accountSid: '',
    authToken: '',
    provider: 'sendgrid' as 'sendgrid' | 'postmark' | 'mailgun',
    apiKey: '',
    webhookKey: '',
    domain: '',
    pageId: '',
    pageToken: '',
  });
  const set = (k: keyof typeof form) => (v: string | number | boolean) => setForm((f) => ({ ...f, [k]: v }));
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/channels', {
          body: {
            kind: kind === 'provider' ? 'email' : kind,
            name: form.name,
            address: form.address,
            ...(kind === 'email'
              ? {
                  smtp: {
                    host: form.smtpHost,
                    port: Number(form.smtpPort),
                    secure: Number(form.smtpPort) === 465,
                    user: form.smtpUser || null,
                    password: form.smtpPassword || undefined,
                  },
                  ...(form.imapHost
                    ? {
                        imap: {
                          host: form.imapHost,
                          port: Number(form.imapPort),
                          secure: form.imapSecure,
                          user: form.imapUser,
                          password: form.imapPassword || undefined,
                          mailbox: 'INBOX',
                        },
                      }
                    : {}),
                }
              : {}),
            ...(kind === 'provider'
              ? {
                  provider: {
                    name: form.provider,
                    api_key: form.apiKey || undefined,
                    webhook_key: form.webhookKey || undefined,
                    domain: form.provider === 'mailgun' ? form.domain || null : null,
                  },
                }
              : {}),
            ...(kind === 'sms'
              ? { twilio: { account_sid: form.accountSid, auth_token: form.authToken } }
              : {}),
            ...(metaKind
              ? {
                  meta: {
                    page_token: form.pageToken || undefined,
                    ...(kind === 'instagram' && form.pageId ? { page_id: form.pageId } : {}),
                  },
                }
              : {}),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['channels'] }),
  });
  const [tests, setTests] = useState<Record<string, string>>({});
  const test = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/channels/{id}/test', { params: { path: { id } } })),
    onSuccess: (r, id) =>
      setTests((t) => ({
        ...t,
        [id]: r.checks.map((c) => `${c.part}: ${c.ok ? 'OK' : c.error}`).join(' · '),
      })),
  });
  return (
    <Stack>
      {(channels.data?.data ?? []).map((c: Channel) => (
        <Paper key={c.id} withBorder p="sm" data-testid="channel">
          <Group justify="space-between">
            <Group gap="xs">
              <ChannelIcon kind={c.kind} />
              <Text fw={600}>{c.name}</Text>
              <Text c="dimmed">{c.address}</Text>
              {c.kind === 'local' && <Badge color="gray">Local mailbox: reaches no one</Badge>}
              {c.listening && (
                <Badge color="green" variant="light" title="New mail arrives within seconds (IMAP IDLE)">
                  Live
                </Badge>
              )}
              {c.status === 'paused' && <Badge color="gray">Paused</Badge>}
            </Group>
            <Button size="xs" variant="default" onClick={() => test.mutate(c.id)} loading={test.isPending}>
              Test connection
            </Button>
          </Group>
          {c.provider && <ProviderDetails c={c} />}
          {c.meta && (
            <Text size="xs" c="dimmed">
              Page {c.meta.page_id} · page token {c.meta.page_token ?? 'not set'} · Meta webhook:{' '}
              {metaSettings.data ? <Code>{metaSettings.data.webhook_url}</Code> : 'see Settings, Meta'}
            </Text>
          )}
          {c.inbound_webhook_url && (
            <Text size="xs" c="dimmed">
              Twilio messaging webhook: {c.inbound_webhook_url}
            </Text>
          )}
          {c.last_error && (
            <Text size="xs" c="red">
              Last sync: {c.last_error}
            </Text>
          )}
          {tests[c.id] && <Text size="xs">{tests[c.id]}</Text>}
        </Paper>
      ))}
      <Paper withBorder p="md">
        <Stack>
          <Title order={4}>Connect a channel</Title>
          <SegmentedControl
            value={kind}
            onChange={(v) => setKind(v as typeof kind)}
            data={[
              { value: 'email', label: 'E-mail (SMTP + IMAP)' },
              { value: 'provider', label: 'E-mail provider' },
              { value: 'sms', label: 'SMS (Twilio)' },
              { value: 'messenger', label: 'Messenger' },
              { value: 'instagram', label: 'Instagram' },
              { value: 'local', label: 'Local mailbox' },
            ]}
          />
          <TextInput label="Name" value={form.name} onChange={(e) => set('name')(e.currentTarget.value)} />
          <TextInput
            label={
              kind === 'sms'
                ? 'Number (E.164)'
                : kind === 'messenger'
                  ? 'Facebook page id'
                  : kind === 'instagram'
                    ? 'Instagram professional account id'
                    : 'E-mail address'
            }
            value={form.address}
            onChange={(e) => set('address')(e.currentTarget.value)}
          />
          {kind === 'email' && (
            <>
              <Group grow>
                <TextInput
                  label="SMTP host"
                  value={form.smtpHost}
                  onChange={(e) => set('smtpHost')(e.currentTarget.value)}
                />
                <NumberInput label="SMTP port" value={form.smtpPort} onChange={set('smtpPort')} />
              </Group>
              <Group grow>
                <TextInput
                  label="SMTP user"
                  value={form.smtpUser}
                  onChange={(e) => set('smtpUser')(e.currentTarget.value)}
                />
                <PasswordInput
                  label="SMTP password"
                  value={form.smtpPassword}
                  onChange={(e) => set('smtpPassword')(e.currentTarget.value)}
                />
              </Group>
              <Group grow>
                <TextInput
                  label="IMAP host"
                  value={form.imapHost}
                  onChange={(e) => set('imapHost')(e.currentTarget.value)}
                />
                <NumberInput label="IMAP port" value={form.imapPort} onChange={set('imapPort')} />
                <Switch
                  label="TLS"
                  checked={form.imapSecure}
                  onChange={(e) => set('imapSecure')(e.currentTarget.checked)}
                  mt="lg"
                />
              </Group>
              <Group grow>
                <TextInput
                  label="IMAP user"
                  value={form.imapUser}
                  onChange={(e) => set('imapUser')(e.currentTarget.value)}
                />
                <PasswordInput
                  label="IMAP password"
                  value={form.imapPassword}
                  onChange={(e) => set('imapPassword')(e.currentTarget.value)}
                />
              </Group>
            </>
          )}
          {kind === 'provider' && (
            <>
              <Select
                label="Provider"
                value={form.provider}
                onChange={(v) => v && set('provider')(v)}
                allowDeselect={false}
                data={[
                  { value: 'sendgrid', label: 'SendGrid' },
                  { value: 'postmark', label: 'Postmark' },
                  { value: 'mailgun', label: 'Mailgun' },
                ]}
              />
              <Group grow>
                <PasswordInput
                  label={form.provider === 'postmark' ? 'Server token' : 'API key'}
                  value={form.apiKey}
                  onChange={(e) => set('apiKey')(e.currentTarget.value)}
                />
                <PasswordInput
                  label={WEBHOOK_KEY_LABEL[form.provider]}
                  description={WEBHOOK_KEY_HELP[form.provider]}
                  value={form.webhookKey}
                  onChange={(e) => set('webhookKey')(e.currentTarget.value)}
                />
              </Group>
              {form.provider === 'mailgun' && (
                <TextInput
                  label="Sending domain"
                  value={form.domain}
                  onChange={(e) => set('domain')(e.currentTarget.value)}
                />
              )}
            </>
          )}
          {kind === 'sms' && (
            <Group grow>
              <TextInput
                label="Account SID"
                value={form.accountSid}
                onChange={(e) => set('accountSid')(e.currentTarget.value)}
              />
              <PasswordInput
                label="Auth token"
                value={form.authToken}
                onChange={(e) => set('authToken')(e.currentTarget.value)}
              />
            </Group>
          )}
          {metaKind && (
            <>
              <Group grow>
                {kind === 'instagram' && (
                  <TextInput
                    label="Linked Facebook page id"
                    description="Replies go through the page linked to the account"
                    value={form.pageId}
                    onChange={(e) => set('pageId')(e.currentTarget.value)}
                  />
                )}
                <PasswordInput
                  label="Page access token"
                  description={
                    kind === 'instagram'
                      ? 'With instagram_manage_messages'
                      : 'With pages_messaging; it is never shown again'
                  }
                  value={form.pageToken}
                  onChange={(e) => set('pageToken')(e.currentTarget.value)}
                />
              </Group>
              <Text size="xs" c="dimmed">
                Subscribe the page (and the Instagram account) to the <Code>messages</Code> webhook field with
                the callback URL{' '}
                {metaSettings.data ? <Code>{metaSettings.data.webhook_url}</Code> : 'shown in Settings, Meta'}
                ; deliveries are verified with the app secret set there.
              </Text>
            </>
          )}
          {create.error && <Alert color="red">{create.error.message}</Alert>}
          <Group justify="flex-end">
            <Button onClick={() => create.mutate()} loading={create.isPending}>
              Connect
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}
