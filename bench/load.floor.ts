/**
 * The floor for `load.bench.ts`: a bare Fastify + pg server running the SQL Cairn runs, on the
 * same data, the way `../shared/PERFORMANCE.md` measured it: a pool of 10, each request in a tenant
 * transaction (`begin; set local role cairn_app; set_config('app.org_id')` as one simple query,
 * the statements, `commit`), the rows sent as JSON. No session, registry, validation or ORM.
 *
 *   npx tsx bench/load.floor.ts <statements.json> <port>
 *
 * `statements.json`: `{ orgId, cases: { [name]: { text, params }[][] } }`; `GET /<case>/<i>` runs
 * variant `i % variants` of the case (each variant a list of statements, the last one's rows sent).
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import pg from 'pg';

type Statement = { text: string; params: unknown[] };
type Plan = { orgId: string; databaseUrl: string; cases: Record<string, Statement[][]> };

const [file, port] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(file!, 'utf8')) as Plan;
const pool = new pg.Pool({ connectionString: plan.databaseUrl, max: 10, application_name: 'floor' });
const begin = `begin; set local role cairn_app; select set_config('app.org_id', '${plan.orgId}', true)`;
const app = Fastify({ logger: false });

app.get<{ Params: { name: string; i: string } }>('/:name/:i', async (req, reply) => {
  const variants = plan.cases[req.params.name];
  if (!variants) return reply.code(404).send({ error: 'no such case' });
  const statements = variants[Number(req.params.i) % variants.length]!;
  const client = await pool.connect();
  try {
    await client.query(begin);
    let rows: unknown[] = [];
    for (const s of statements) rows = (await client.query(s.text, s.params)).rows;
    await client.query('commit');
    return { data: rows };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
});

app.listen({ port: Number(port), host: '127.0.0.1' }).then(() => console.log('floor ready'));
