import { describe, expect, it, vi } from 'vitest';
import { expectProblem, useOrganization } from './kit/index.js';

// Issue 30: `/metrics` in the Prometheus format, behind the token from the configuration.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const TOKEN = 'metrics-token-0123456789';
const org = useOrganization('Metrics Co', { env: { METRICS_TOKEN: TOKEN } });

describe('/metrics', () => {
  it('answers 401 without the token or with another one', async () => {
    expectProblem(await org.admin.client.get('/metrics'), 401);
    expectProblem(await org.admin.client.get('/metrics', { authorization: 'Bearer nope' }), 401);
  });

  it('counts requests by route template and latency, and shows the dispatch lag', async () => {
    await org.admin.client.get('/api/v1/contacts');
    const res = await org.admin.client.get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toContain('text/plain');
    expect(res.text).toMatch(
      /cairn_http_requests_total\{method="GET",route="\/api\/v1\/contacts",status="200"\} \d+/,
    );
    expect(res.text).toContain('cairn_http_request_duration_seconds_bucket');
    expect(res.text).toContain('cairn_event_dispatch_lag_seconds');
    expect(res.text).toContain('cairn_process_cpu_seconds_total');
  });

  it('shows job run times by queue and outcome, and the database pool', async () => {
    expect((await org.admin.client.post('/api/v1/contacts', { first_name: 'Timed' })).status).toBe(201);
    await org.t.drain();
    const res = await org.admin.client.get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(res.text).toMatch(
      /cairn_job_duration_seconds_count\{queue="[a-z_.]+",outcome="completed"\} [1-9]/,
    );
    expect(res.text).toMatch(/cairn_db_pool_connections\{state="total"\} \d+/);
    expect(res.text).toMatch(/cairn_db_pool_connections\{state="waiting"\} \d+/);
  });

  it('is not there (404) when no token is configured', async () => {
    const config = org.t.services.config as { metricsToken: string | undefined };
    config.metricsToken = undefined;
    try {
      expectProblem(await org.admin.client.get('/metrics', { authorization: `Bearer ${TOKEN}` }), 404);
    } finally {
      config.metricsToken = TOKEN;
    }
  });
});
