import type { Client } from '../harness.js';
import { expectStatus } from './checks.js';

/** A pipeline as the API gives it, with its stages in order. */
export type Pipeline = { id: string; stages: { id: string; name: string; kind: string }[] };

/** The organization's default pipeline (the first listed), with its stages. */
export async function defaultPipeline(client: Client): Promise<Pipeline> {
  return expectStatus<{ data: Pipeline[] }>(await client.get('/api/v1/pipelines'), 200).data[0]!;
}

/** Creates a deal of 1,000 EUR (unless `extra` says otherwise) as `client`; asserts the 201. */
export async function newDeal(client: Client, title: string, extra: Record<string, unknown> = {}) {
  const res = await client.post('/api/v1/opportunities', { title, amount: 1000, currency: 'EUR', ...extra });
  return expectStatus(res, 201, `deal ${title}`);
}
