/**
 * Sign-up over real HTTP (fetch) for the tests, the browser tests' setup and the benches that
 * start a listening server: `POST /api/v1/signup` answers 202 and signs no one in (the same answer
 * for a taken address, issue 22), so the new admin then signs in with the password.
 * Imports nothing of vitest: the benches use it too.
 */
export async function signUpByFetch(
  base: string,
  body: { organization_name: string; name: string; email: string; password: string },
  origin: string = base,
): Promise<{ cookie: string; orgId: string; userId: string }> {
  const post = (url: string, payload: unknown) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify(payload),
    });
  const signedUp = await post('/api/v1/signup', body);
  if (signedUp.status !== 202) throw new Error(`sign-up failed: ${signedUp.status} ${await signedUp.text()}`);
  const signedIn = await post('/api/auth/sign-in/email', { email: body.email, password: body.password });
  if (signedIn.status !== 200) throw new Error(`sign-in failed: ${signedIn.status} ${await signedIn.text()}`);
  const cookie = signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const me = (await (await fetch(`${base}/api/v1/me`, { headers: { cookie } })).json()) as {
    user: { id: string };
    organization: { id: string };
  };
  return { cookie, orgId: me.organization.id, userId: me.user.id };
}
