import {
  Alert,
  Anchor,
  Button,
  Center,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { Link, useSearch } from '@tanstack/react-router';
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { ApiError, api, call } from '../../api/client';

/** The pages an e-mailed link opens (password reset, address verification) and the reset request. */
function LinkCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={420}>
        <Stack>
          <Text fw={700} c="teal">
            Cairn CRM
          </Text>
          <Title order={1} size="h2">
            {title}
          </Title>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

const messageOf = (error: unknown) =>
  error instanceof ApiError || error instanceof Error ? error.message : String(error);

/** Asks for a reset link; the answer is the same whether or not the address has an account. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(api.POST('/api/v1/password/forgot', { body: { email } }));
      setSent(answer.message);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <LinkCard title="Forgot your password?">
      {sent ? (
        <Alert color="teal" role="status">
          {sent}
        </Alert>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            {error ? <Alert color="red">{messageOf(error)}</Alert> : null}
            <TextInput
              label="E-mail"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Send me a link
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to="/sign-in" size="sm">
        Back to sign in
      </Anchor>
    </LinkCard>
  );
}

/** The reset link's page: a new password, once. */
export function ResetPasswordPage() {
  const { token } = useSearch({ from: '/reset-password' });
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call(api.POST('/api/v1/password/reset', { body: { token: token ?? '', password } }));
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <LinkCard title="Choose a new password">
      {done ? (
        <Alert color="teal" role="status">
          Your password is changed and every session signed out.{' '}
          <Anchor component={Link} to="/sign-in">
            Sign in
          </Anchor>
        </Alert>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            {error ? <Alert color="red">{messageOf(error)}</Alert> : null}
            <PasswordInput
              label="New password"
              description="8+ characters with lower- and upper-case letters and a digit or symbol"
              autoComplete="new-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Set password
            </Button>
          </Stack>
        </form>
      )}
    </LinkCard>
  );
}

/** The verification link's page: confirms the address as it opens. */
export function VerifyEmailPage() {
  const { token } = useSearch({ from: '/verify-email' });
  const [state, setState] = useState<'working' | 'done' | unknown>('working');
  useEffect(() => {
    call(api.POST('/api/v1/email/verify', { body: { token: token ?? '' } })).then(
      () => setState('done'),
      (err: unknown) => setState(err),
    );
  }, [token]);
  return (
    <LinkCard title="Confirm your e-mail address">
      {state === 'working' ? (
        <Text>Confirming…</Text>
      ) : state === 'done' ? (
        <Alert color="teal" role="status">
          Your address is confirmed.{' '}
          <Anchor component={Link} to="/contacts">
            Continue
          </Anchor>
        </Alert>
      ) : (
        <Alert color="red">{messageOf(state)}</Alert>
      )}
    </LinkCard>
  );
}
