import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, type Client, uploadCsv, useOrganization, waitForImport } from './kit/index.js';

const org = useOrganization('Owners');
let alice: { client: Client };
let bob: { client: Client };

beforeAll(async () => {
  alice = await addMember(org.t, org.admin.client, 'user');
  bob = await addMember(org.t, org.admin.client, 'user');
});

/** A finished import of two contacts run by `by`. */
async function finishedImport(by: Client, tag: string): Promise<string> {
  const csv = `First Name,Email\nAda,ada.${tag}@own.example\nGrace,grace.${tag}@own.example\n`;
  const up = await uploadCsv(org.t, by, 'contact', `${tag}.csv`, csv);
  expect(up.status, up.text).toBe(201);
  expect((await by.post(`/api/v1/imports/${up.body.id}/start`)).status).toBe(200);
  expect((await waitForImport(org.t, by, up.body.id)).status).toBe('completed');
  return up.body.id;
}

/** A merge of two new contacts run by `by`; returns its id and the merged contact's id. */
async function merge(by: Client, name: string): Promise<{ mergeId: string; mergedId: string }> {
  const a = await by.post('/api/v1/contacts', { first_name: name, last_name: 'One' });
  const b = await by.post('/api/v1/contacts', { first_name: name, last_name: 'Two' });
  const merged = await by.post('/api/v1/contacts/merge', { survivor_id: a.body.id, merged_ids: [b.body.id] });
  expect(merged.status, merged.text).toBe(200);
  return { mergeId: merged.body.merge_id, mergedId: b.body.id };
}

describe('reverting an import', () => {
  it("a member cannot revert another member's import (403, nothing changes); its runner and an admin can", async () => {
    const byAlice = await finishedImport(alice.client, 'a1');
    const refused = await bob.client.post(`/api/v1/imports/${byAlice}/revert`);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('forbidden');
    expect((await alice.client.get(`/api/v1/imports/${byAlice}`)).body.status).toBe('completed');

    expect((await alice.client.post(`/api/v1/imports/${byAlice}/revert`)).status).toBe(200);
    expect((await waitForImport(org.t, alice.client, byAlice)).status).toBe('reverted');

    const byBob = await finishedImport(bob.client, 'b1');
    expect((await org.admin.client.post(`/api/v1/imports/${byBob}/revert`)).status).toBe(200);
    expect((await waitForImport(org.t, org.admin.client, byBob)).status).toBe('reverted');
  });
});

describe('undoing a merge', () => {
  it("a member cannot undo another member's merge (403, nothing changes); who ran it and an admin can", async () => {
    const byAlice = await merge(alice.client, 'Alma');
    const refused = await bob.client.post(`/api/v1/merges/${byAlice.mergeId}/undo`);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('forbidden');
    expect((await alice.client.get(`/api/v1/contacts/${byAlice.mergedId}`)).body.archived_at).not.toBeNull();

    const undone = await alice.client.post(`/api/v1/merges/${byAlice.mergeId}/undo`);
    expect(undone.status, undone.text).toBe(200);
    expect((await alice.client.get(`/api/v1/contacts/${byAlice.mergedId}`)).body.archived_at).toBeNull();

    const byBob = await merge(bob.client, 'Boris');
    expect((await org.admin.client.post(`/api/v1/merges/${byBob.mergeId}/undo`)).status).toBe(200);
    expect((await org.admin.client.get(`/api/v1/contacts/${byBob.mergedId}`)).body.archived_at).toBeNull();
  });
});
