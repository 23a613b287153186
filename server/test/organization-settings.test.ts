import { describe, expect, it } from 'vitest';
import { addMember, signUp, useOrganization } from './kit/index.js';

// Organization settings (issue 20): name, default currency, time zone, phone country, fiscal year.
const org = useOrganization('Settings Co');

describe('organization settings', () => {
  it('start with defaults, and an admin changes them; the activity says which', async () => {
    const fresh = await signUp(org.t, 'Fresh Settings');
    expect((await fresh.client.get('/api/v1/organization/settings')).body).toEqual({
      name: 'Fresh Settings',
      default_currency: 'USD',
      time_zone: 'UTC',
      country: null,
      fiscal_year_start_month: 1,
    });
    const changed = await fresh.client.patch('/api/v1/organization/settings', {
      name: 'Fresh Settings GmbH',
      default_currency: 'EUR',
      time_zone: 'Europe/Berlin',
      country: 'DE',
      fiscal_year_start_month: 4,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({
      name: 'Fresh Settings GmbH',
      default_currency: 'EUR',
      time_zone: 'Europe/Berlin',
      country: 'DE',
      fiscal_year_start_month: 4,
    });
    expect((await fresh.client.get('/api/v1/me')).body.organization.name).toBe('Fresh Settings GmbH');
    const home = (await fresh.client.get('/api/v1/home')).body;
    expect(home.activity[0].description).toBe(
      "Ada Admin changed the organization's name, default currency, time zone, country and fiscal year start month",
    );
  });

  it('refuses what is not a currency, a time zone, a country or a month, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ default_currency: 'euro' }, 'body.default_currency'],
      [{ time_zone: 'Mars/Olympus' }, 'body.time_zone'],
      [{ country: 'ZZ' }, 'body.country'],
      [{ fiscal_year_start_month: 13 }, 'body.fiscal_year_start_month'],
      [{ name: '' }, 'body.name'],
    ];
    for (const [body, path] of cases) {
      const res = await org.admin.client.patch('/api/v1/organization/settings', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.body), JSON.stringify(body)).toContain(path);
    }
  });

  it('members read them; only admins change them', async () => {
    const viewer = await addMember(org.t, org.admin.client, 'viewer');
    expect((await viewer.client.get('/api/v1/organization/settings')).status).toBe(200);
    expect((await viewer.client.patch('/api/v1/organization/settings', { country: 'FR' })).status).toBe(403);
  });
});
