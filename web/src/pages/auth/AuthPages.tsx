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
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError, api, authRequest, call } from '../../api/client';
import { meQuery } from '../../lib/query';

function AuthCard({ title, children }: { title: string; children: ReactNode }) {
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

function problemMessage(error: unknown): string | null {
  if (!error) return null;
  if (error instanceof ApiError) {
    if (error.status === 429 && /locked/i.test(error.message)) return error.message;
    if (error.status === 429) return 'Too many attempts. Wait a minute and try again.';
    if (error.status === 401) return 'That e-mail and password do not match.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Sign in; then back to where the user was going (`?redirect=`). Shows the lockout message. */
export function SignInPage() {
  const search = useSearch({ from: '/sign-in' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Two-factor: after a right password the server asks for a code (or a recovery code).
  const [secondStep, setSecondStep] = useState<null | 'totp' | 'recovery'>(null);
  const [code, setCode] = useState('');

  async function signedIn() {
    // Forget the signed-out answer (null) so the app asks the server who this is now.
    queryClient.removeQueries({ queryKey: ['me'] });
    await navigate({ to: search.redirect ?? '/' });
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (secondStep) {
        const path =
          secondStep === 'totp'
            ? '/api/auth/two-factor/verify-totp'
            : '/api/auth/two-factor/verify-backup-code';
        await authRequest(path, { code: code.trim() });
        await signedIn();
        return;
      }
      const answer = await authRequest<{ twoFactorRedirect?: boolean }>('/api/auth/sign-in/email', {
        email,
        password,
      });
      if (answer?.twoFactorRedirect) {
        setSecondStep('totp');
        return;
      }
      await signedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (secondStep) {
    return (
      <AuthCard title="Two-factor sign-in">
        <form onSubmit={submit}>
          <Stack>
            {error ? (
              <Alert color="red" role="alert">
                {error instanceof ApiError && error.status === 401
                  ? 'That code is not right (or the sign-in expired: start again).'
                  : problemMessage(error)}
              </Alert>
            ) : null}
            <TextInput
              label={secondStep === 'totp' ? 'Code from your authenticator app' : 'Recovery code'}
              autoComplete="one-time-code"
              inputMode={secondStep === 'totp' ? 'numeric' : 'text'}
              required
              autoFocus
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Verify
            </Button>
            <Anchor
              component="button"
              type="button"
              size="sm"
              onClick={() => {
                setCode('');
                setError(null);
                setSecondStep(secondStep === 'totp' ? 'recovery' : 'totp');
              }}
            >
              {secondStep === 'totp' ? 'Use a recovery code instead' : 'Use the authenticator app code'}
            </Anchor>
          </Stack>
        </form>
      </AuthCard>
    );
  }

  return (
    <AuthCard title="Sign in">
      <form onSubmit={submit}>
        <Stack>
          {error ? (
            <Alert color="red" role="alert">
              {problemMessage(error)}
            </Alert>
          ) : null}
          <TextInput
            label="E-mail"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
          <Anchor component={Link} to="/forgot-password" size="sm">
            Forgot your password?
          </Anchor>
          <Text size="sm">
            New to Cairn?{' '}
            <Anchor component={Link} to="/sign-up">
              Create an organization
            </Anchor>
          </Text>
        </Stack>
      </form>
    </AuthCard>
  );
}

/**
 * Sign up: creates the organization and its first admin. The server answers the same whether the
 * address is new or taken (the difference goes by e-mail), so the page shows "check your e-mail"
 * and then signs in with the password just typed.
 */
export function SignUpPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ organization_name: '', name: '', email: '', password: '' });
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  const fieldError = (k: string) => (error instanceof ApiError ? error.fieldError(k) : undefined);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(api.POST('/api/v1/signup', { body: form }));
      setSent(answer.message);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  async function signIn() {
    setBusy(true);
    setError(null);
    try {
      const answer = await authRequest<{ twoFactorRedirect?: boolean }>('/api/auth/sign-in/email', {
        email: form.email,
        password: form.password,
      });
      if (answer?.twoFactorRedirect) {
        await navigate({ to: '/sign-in' });
        return;
      }
      queryClient.removeQueries({ queryKey: ['me'] });
      await navigate({ to: '/' });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  if (sent !== null) {
    return (
      <AuthCard title="Check your e-mail">
        <Stack>
          <Text>
            We sent a message to <strong>{form.email}</strong>. {sent}
          </Text>
          <Text size="sm" c="dimmed">
            The link in it confirms your address (needed to join other organizations by invitation). With no
            mail server configured, it waits in your organization’s outbox (see the README).
          </Text>
          {error ? (
            <Alert color="red" role="alert">
              {problemMessage(error)}
            </Alert>
          ) : null}
          <Button onClick={signIn} loading={busy}>
            Sign in
          </Button>
        </Stack>
      </AuthCard>
    );
  }

  return (
    <AuthCard title="Create your organization">
      <form onSubmit={submit}>
        <Stack>
          {error && !(error instanceof ApiError && error.problem.errors?.length) ? (
            <Alert color="red" role="alert">
              {problemMessage(error)}
            </Alert>
          ) : null}
          <TextInput
            label="Organization name"
            required
            value={form.organization_name}
            onChange={set('organization_name')}
            error={fieldError('organization_name')}
          />
          <TextInput
            label="Your name"
            autoComplete="name"
            required
            value={form.name}
            onChange={set('name')}
            error={fieldError('name')}
          />
          <TextInput
            label="E-mail"
            type="email"
            autoComplete="email"
            required
            value={form.email}
            onChange={set('email')}
            error={fieldError('email')}
          />
          <PasswordInput
            label="Password"
            description="8+ characters with lower- and upper-case letters and a digit or symbol"
            autoComplete="new-password"
            required
            value={form.password}
            onChange={set('password')}
            error={fieldError('password')}
          />
          <Button type="submit" loading={busy}>
            Create organization
          </Button>
          <Text size="sm">
            Already have an account?{' '}
            <Anchor component={Link} to="/sign-in">
              Sign in
            </Anchor>
          </Text>
        </Stack>
      </form>
    </AuthCard>
  );
}

/**
 * Accept an invitation: signed in as the invitee, one click; otherwise create the account with a
 * name and password, or sign in first. The preview does not say whether the address has an
 * account (issue 22: it would tell anyone holding the link), so both ways are offered.
 */
export function AcceptInvitationPage() {
  const { id } = useParams({ from: '/accept-invitation/$id' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const preview = useQuery({
    queryKey: ['invitation', id],
    queryFn: () => call(api.GET('/api/v1/invitations/{id}/preview', { params: { path: { id } } })),
    retry: false,
  });
  const me = useQuery(meQuery);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const signedInAsInvitee =
    !!preview.data && me.data?.user.email.toLowerCase() === preview.data.email.toLowerCase();

  async function accept(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call(
        api.POST('/api/v1/invitations/{id}/accept', {
          params: { path: { id } },
          body: signedInAsInvitee ? {} : { name, password },
        }),
      );
      queryClient.removeQueries();
      await navigate({ to: '/' });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (preview.isPending) return <AuthCard title="Invitation">Loading…</AuthCard>;
  if (preview.isError)
    return (
      <AuthCard title="Invitation">
        <Alert color="red">This invitation does not exist, was withdrawn, or has expired.</Alert>
      </AuthCard>
    );
  const inv = preview.data;
  const signIn = () => void navigate({ to: '/sign-in', search: { redirect: `/accept-invitation/${id}` } });
  return (
    <AuthCard title={`Join ${inv.organization_name}`}>
      <Text>
        You are invited as <b>{inv.role}</b> ({inv.email}).
      </Text>
      {error ? (
        <Alert color="red" role="alert">
          {problemMessage(error)}
        </Alert>
      ) : null}
      <form onSubmit={accept}>
        <Stack>
          {!signedInAsInvitee && (
            <>
              <TextInput
                label="Your name"
                required
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
              />
              <PasswordInput
                label="Choose a password"
                description="8+ characters with lower- and upper-case letters and a digit or symbol"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
              />
            </>
          )}
          <Button type="submit" loading={busy}>
            Accept invitation
          </Button>
        </Stack>
      </form>
      {!signedInAsInvitee && (
        <Button variant="subtle" onClick={signIn}>
          I have a Cairn account: sign in as {inv.email} to accept
        </Button>
      )}
    </AuthCard>
  );
}
