import { createDemoOrganization } from '../modules/demo/demo.service.js';
import { createServices } from '../runtime.js';

/**
 * `cairn demo [--seed N] [--email E]`: creates a demo organization with generated data (about
 * 2,000 contacts, 300 companies, two pipelines with 500 opportunities, tasks and notes) and prints
 * how to sign in to it.
 */
export async function demoCommand(options: { seed?: string; email?: string }): Promise<number> {
  const services = await createServices();
  try {
    await services.jobs.start({ worker: false });
    const started = Date.now();
    const demo = await createDemoOrganization(services, {
      seed: options.seed ? Number(options.seed) : undefined,
      email: options.email,
    });
    console.log(`Demo organization: ${demo.organizationName} (${demo.organizationId})`);
    console.log(
      `Data: ${demo.counts.contacts} contacts, ${demo.counts.companies} companies, ${demo.counts.opportunities} opportunities, ` +
        `${demo.counts.tasks} tasks, ${demo.counts.notes} notes (${Math.round((Date.now() - started) / 1000)} s)`,
    );
    console.log(`Sign in at ${services.config.baseUrl} as ${demo.email} with the password ${demo.password}`);
    return 0;
  } finally {
    await services.jobs.stop();
    await services.database.close();
  }
}
