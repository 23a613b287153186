import { randomBytes } from 'node:crypto';
import { createOrganization } from '../modules/organizations/organization.service.js';
import { createServices } from '../runtime.js';

/**
 * `cairn create-org --name N --admin-email E`: creates the organization and its first admin with
 * a generated password, printed once. An existing user becomes admin of the new organization.
 */
export async function createOrgCommand(options: {
  name: string;
  adminEmail: string;
  adminName?: string;
}): Promise<number> {
  const services = await createServices();
  try {
    const email = options.adminEmail.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      console.error(`cairn: --admin-email: not an e-mail address: ${options.adminEmail}`);
      return 2;
    }
    // A password that meets the policy: mixed case, digits and a symbol.
    const password = `${randomBytes(12).toString('base64url')}aA1!`;
    // Sign-up answers a taken address with a made-up user (issue 22): an existing user is looked up first.
    const found = await services.database.raw.query<{ id: string }>('select id from users where email = $1', [
      email,
    ]);
    const created = !found.rows[0];
    const userId = found.rows[0]
      ? found.rows[0].id
      : (
          await services.auth.api.signUpEmail({
            body: { name: options.adminName ?? email.split('@')[0]!, email, password },
          })
        ).user.id;
    await services.jobs.start({ worker: false });
    const org = await createOrganization(services, userId, options.name);
    console.log(`Organization: ${org.name} (${org.id})`);
    console.log(`Admin:        ${email}`);
    if (created)
      console.log(
        `Password:     ${password}   (shown once; sign in at ${services.config.baseUrl} and change it)`,
      );
    else console.log('Password:     unchanged (the user already existed)');
    return 0;
  } finally {
    await services.jobs.stop();
    await services.database.close();
  }
}
