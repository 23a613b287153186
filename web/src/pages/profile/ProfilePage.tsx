import {
  Alert,
  Button,
  Code,
  Group,
  List,
  PasswordInput,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { notifications as toast } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, authRequest, call } from '../../api/client';
import { meQuery } from '../../lib/query';

const twoFactorQuery = {
  queryKey: ['me', 'two-factor'],
  queryFn: () => call(api.GET('/api/v1/me/two-factor')),
};

/** The base32 secret of an otpauth URI, for typing into an authenticator app by hand. */
function secretOf(uri: string): string {
  return new URL(uri).searchParams.get('secret') ?? '';
}

/** My profile: two-factor sign-in (on, off) and, for admins, requiring it of everyone. */
export function ProfilePage() {
  const { data: me } = useQuery(meQuery);
  const { data: status } = useQuery(twoFactorQuery);
  return (
    <Stack maw={640}>
      <Title order={1} size="h2">
        Profile
      </Title>
      <Text>
        {me?.user.name} · {me?.user.email}
      </Text>
      <Title order={2} size="h3">
        Two-factor sign-in
      </Title>
      {status?.required && !status.enabled && (
        <Alert color="orange" role="alert">
          {me?.organization?.name} requires two-factor sign-in: set it up to go on using Cairn.
        </Alert>
      )}
      {status && (status.enabled ? <TurnOff /> : <TurnOn />)}
      {status && me?.role === 'admin' && (
        <RequireForEveryone enabled={status.enabled} required={status.required} />
      )}
      {me?.organization && <SignatureSection />}
    </Stack>
  );
}

/** My e-mail signature in this organization (issue 23): appended to the e-mails I send, not to SMS. */
function SignatureSection() {
  const queryClient = useQueryClient();
  const current = useQuery({
    queryKey: ['me', 'signature'],
    queryFn: () => call(api.GET('/api/v1/me/signature')),
  });
  const [draft, setDraft] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (signature: string) =>
      call(api.PUT('/api/v1/me/signature', { body: { signature: signature.trim() ? signature : null } })),
    onSuccess: (data) => {
      queryClient.setQueryData(['me', 'signature'], data);
      setDraft(null);
      toast.show({ color: 'green', message: 'Signature saved' });
    },
  });
  const value = draft ?? current.data?.signature ?? '';
  return (
    <Stack gap="xs">
      <Title order={2} size="h3">
        E-mail signature
      </Title>
      <Text size="sm" c="dimmed">
        Added under your e-mail replies and new e-mails (you can leave it out per message); never added to
        SMS.
      </Text>
      <Textarea
        aria-label="E-mail signature"
        autosize
        minRows={3}
        value={value}
        onChange={(e) => setDraft(e.currentTarget.value)}
        error={save.error?.message}
      />
      <Group justify="flex-end">
        <Button onClick={() => save.mutate(value)} loading={save.isPending} disabled={draft === null}>
          Save signature
        </Button>
      </Group>
    </Stack>
  );
}

/** Set-up: password, then the secret (shown once) and recovery codes, then a confirming code. */
function TurnOn() {
  const queryClient = useQueryClient();
  const [password, setPassword] = useState('');
  const [setup, setSetup] = useState<{ totpURI: string; backupCodes: string[] } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function start(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setSetup(await authRequest('/api/auth/two-factor/enable', { password }));
      setPassword('');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  async function confirm(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await authRequest('/api/auth/two-factor/verify-totp', { code: code.trim() });
      toast.show({ color: 'teal', message: 'Two-factor sign-in is on' });
      await queryClient.invalidateQueries({ queryKey: ['me'] });
    } catch {
      setError('That code is not right: check the time on your phone and try the newest code.');
    } finally {
      setBusy(false);
    }
  }

  if (!setup) {
    return (
      <form onSubmit={start}>
        <Stack>
          <Text size="sm">
            Off. With it on, signing in asks for a code from an authenticator app after your password.
          </Text>
          {error && <Alert color="red">{error}</Alert>}
          <PasswordInput
            label="Your password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Group>
            <Button type="submit" loading={busy}>
              Set up two-factor sign-in
            </Button>
          </Group>
        </Stack>
      </form>
    );
  }
  return (
    <form onSubmit={confirm}>
      <Stack>
        <Text size="sm">
          Add this account to your authenticator app (open the link on your phone, or type the key by hand).
          It is shown only now.
        </Text>
        <Code block data-testid="totp-uri">
          {setup.totpURI}
        </Code>
        <Text size="sm">
          Key: <Code data-testid="totp-secret">{secretOf(setup.totpURI)}</Code>
        </Text>
        <Text size="sm" fw={600}>
          Recovery codes: each signs you in once if you lose your phone. Keep them somewhere safe; they are
          not shown again.
        </Text>
        <List size="sm" data-testid="recovery-codes">
          {setup.backupCodes.map((c) => (
            <List.Item key={c}>
              <Code>{c}</Code>
            </List.Item>
          ))}
        </List>
        {error && <Alert color="red">{error}</Alert>}
        <TextInput
          label="Code from your authenticator app"
          autoComplete="one-time-code"
          inputMode="numeric"
          required
          value={code}
          onChange={(e) => setCode(e.currentTarget.value)}
        />
        <Group>
          <Button type="submit" loading={busy}>
            Turn on
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Turning off takes the password and a current code. */
function TurnOff() {
  const queryClient = useQueryClient();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await authRequest('/api/auth/two-factor/disable', { password, code: code.trim() });
      toast.show({ message: 'Two-factor sign-in is off' });
      await queryClient.invalidateQueries({ queryKey: ['me'] });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit}>
      <Stack>
        <Text size="sm">On: signing in asks for a code from your authenticator app.</Text>
        {error && <Alert color="red">{error}</Alert>}
        <PasswordInput
          label="Your password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        <TextInput
          label="Current code"
          autoComplete="one-time-code"
          inputMode="numeric"
          required
          value={code}
          onChange={(e) => setCode(e.currentTarget.value)}
        />
        <Group>
          <Button type="submit" color="red" variant="light" loading={busy}>
            Turn off
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Admins: every member must use two-factor sign-in (the admin first). */
function RequireForEveryone({ enabled, required }: { enabled: boolean; required: boolean }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (next: boolean) =>
      call(api.PUT('/api/v1/security/two-factor-requirement', { body: { required: next } })),
    onSuccess: (saved) => queryClient.setQueryData(twoFactorQuery.queryKey, saved),
    onError: (error) => toast.show({ color: 'red', title: 'Not saved', message: (error as Error).message }),
  });
  return (
    <Switch
      label="Require two-factor sign-in of every member of this organization"
      description={enabled ? undefined : 'Turn it on for yourself first.'}
      disabled={!enabled && !required}
      checked={required}
      onChange={(e) => save.mutate(e.currentTarget.checked)}
    />
  );
}
