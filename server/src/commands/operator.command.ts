import { userInfo } from 'node:os';
import { grantOperator, listOperators, revokeOperator } from '../platform/plans/operators.js';
import { createServices } from '../runtime.js';

/**
 * `cairn operator grant|revoke <email>` and `cairn operator list` (issue 30). The operator role is
 * set only here, by whoever runs the install with its database credentials: no API writes it.
 * Exit codes: 0 done, 1 no such user (grant) or not an operator (revoke), 2 bad address.
 */
export async function operatorCommand(action: 'grant' | 'revoke' | 'list', email?: string): Promise<number> {
  const address = email?.trim().toLowerCase() ?? '';
  if (action !== 'list' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) {
    console.error(`cairn: not an e-mail address: ${email}`);
    return 2;
  }
  const services = await createServices();
  try {
    const { database } = services;
    if (action === 'list') {
      const operators = await listOperators(database);
      if (operators.length === 0) console.log('No operators. Grant one: cairn operator grant <email>');
      for (const o of operators) console.log(`${o.email}\t(since ${o.granted_at})`);
      return 0;
    }
    if (action === 'grant') {
      if (!(await grantOperator(database, address, `cli:${safeUser()}`))) {
        console.error(`cairn: no user has the e-mail ${address} (they sign up first)`);
        return 1;
      }
      console.log(`${address} is an operator of this install (the Operator page, /api/v1/operator).`);
      return 0;
    }
    if (!(await revokeOperator(database, address))) {
      console.error(`cairn: ${address} is not an operator`);
      return 1;
    }
    console.log(`${address} is no longer an operator.`);
    return 0;
  } finally {
    await services.jobs.stop();
    await services.database.close();
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
