import { describe, expect, it } from 'vitest';
import { importTargets, suggestMapping } from '../src/modules/imports/import-targets.js';
import { STANDARD_OBJECTS } from '../src/platform/registry/standard-objects.js';
import { readShared } from './kit/index.js';

/**
 * Other CRMs' CSV exports mapped without manual work (issue 33): the standard headers of
 * HubSpot, Salesforce, Pipedrive and GoHighLevel contact, company and deal exports suggest the
 * right targets. The Salesforce report export is a real file (../shared/data/crm); for the others
 * no real export file is available (MANIFEST.md), so their documented default headers are used.
 */
const mapOf = (object: string, headers: string[]) =>
  Object.fromEntries(
    suggestMapping(headers, importTargets(STANDARD_OBJECTS[object]!), object).map((m) => [
      m.header,
      m.target,
    ]),
  );

describe('the real Salesforce report export (Accounts-Contacts.csv)', () => {
  it("maps the contact's fields and the account's name to the company, never the account's phone to the contact", () => {
    const text = readShared('crm/salesforce-trailhead-lwc-recipes/Accounts-Contacts.csv').toString('utf8');
    const headers = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)[0]!
      .split(',');
    expect(mapOf('contact', headers)).toEqual({
      'Account: Account Name': 'company',
      'Account: Type': null,
      'Account: Phone': null,
      'Contact: First Name': 'first_name',
      'Contact: Last Name': 'last_name',
      'Contact: Title': null,
      'Contact: Phone': 'phone',
      'Contact: Email': 'email',
      'Contact: Picture': null,
    });
    // The same file as companies: the account's own fields.
    expect(mapOf('company', headers)).toMatchObject({
      'Account: Account Name': 'name',
      'Account: Phone': 'phone',
    });
  });
});

describe('HubSpot exports', () => {
  it('contacts, companies and deals', () => {
    expect(
      mapOf('contact', [
        'Record ID',
        'First Name',
        'Last Name',
        'Email',
        'Phone Number',
        'Contact owner',
        'Lead Status',
        'Associated Company',
        'Original Source',
      ]),
    ).toEqual({
      'Record ID': 'external_id',
      'First Name': 'first_name',
      'Last Name': 'last_name',
      Email: 'email',
      'Phone Number': 'phone',
      'Contact owner': 'owner',
      'Lead Status': 'lead_status',
      'Associated Company': 'company',
      'Original Source': 'source',
    });
    expect(
      mapOf('company', [
        'Record ID',
        'Company name',
        'Company Domain Name',
        'Company owner',
        'Phone Number',
        'City',
        'State/Region',
        'Country/Region',
        'Parent Company',
      ]),
    ).toEqual({
      'Record ID': 'external_id',
      'Company name': 'name',
      'Company Domain Name': 'domain',
      'Company owner': 'owner',
      'Phone Number': 'phone',
      City: 'address.city',
      'State/Region': 'address.region',
      'Country/Region': 'address.country',
      'Parent Company': 'parent_company',
    });
    expect(
      mapOf('opportunity', [
        'Record ID',
        'Deal Name',
        'Deal Stage',
        'Pipeline',
        'Amount',
        'Close Date',
        'Deal owner',
        'Associated Company',
        'Associated Contact',
      ]),
    ).toEqual({
      'Record ID': 'external_id',
      'Deal Name': 'title',
      'Deal Stage': 'stage',
      Pipeline: 'pipeline',
      Amount: 'amount',
      'Close Date': 'expected_close_date',
      'Deal owner': 'owner',
      'Associated Company': 'company',
      'Associated Contact': 'contact',
    });
  });
});

describe('Salesforce Data Export (API names) and report labels', () => {
  it('contacts, accounts and opportunities', () => {
    expect(
      mapOf('contact', [
        'Id',
        'FirstName',
        'LastName',
        'Email',
        'Phone',
        'MobilePhone',
        'AccountId',
        'OwnerId',
        'LeadSource',
      ]),
    ).toEqual({
      Id: 'external_id',
      FirstName: 'first_name',
      LastName: 'last_name',
      Email: 'email',
      Phone: 'phone',
      MobilePhone: 'phone',
      AccountId: 'company',
      OwnerId: 'owner',
      LeadSource: 'source',
    });
    expect(
      mapOf('company', [
        'Account ID',
        'Account Name',
        'Account Owner',
        'Website',
        'Industry',
        'Billing Street',
        'Billing City',
        'Billing State/Province',
        'Billing Zip/Postal Code',
        'Billing Country',
        'Parent Account',
      ]),
    ).toEqual({
      'Account ID': 'external_id',
      'Account Name': 'name',
      'Account Owner': 'owner',
      Website: 'website',
      Industry: 'industry',
      'Billing Street': 'address.street',
      'Billing City': 'address.city',
      'Billing State/Province': 'address.region',
      'Billing Zip/Postal Code': 'address.postal_code',
      'Billing Country': 'address.country',
      'Parent Account': 'parent_company',
    });
    expect(
      mapOf('opportunity', [
        'Opportunity ID',
        'Opportunity Name',
        'Account Name',
        'Stage',
        'Amount',
        'Close Date',
        'Opportunity Owner',
      ]),
    ).toEqual({
      'Opportunity ID': 'external_id',
      'Opportunity Name': 'title',
      'Account Name': 'company',
      Stage: 'stage',
      Amount: 'amount',
      'Close Date': 'expected_close_date',
      'Opportunity Owner': 'owner',
    });
  });
});

describe('Pipedrive exports', () => {
  it('people, organizations and deals with their "Object - Field" headers', () => {
    expect(
      mapOf('contact', [
        'Person - ID',
        'Person - Name',
        'Person - Email',
        'Person - Phone',
        'Person - Organization',
        'Person - Owner',
        'Person - Label',
      ]),
    ).toEqual({
      'Person - ID': 'external_id',
      'Person - Name': 'full_name',
      'Person - Email': 'email',
      'Person - Phone': 'phone',
      'Person - Organization': 'company',
      'Person - Owner': 'owner',
      'Person - Label': 'tags',
    });
    expect(
      mapOf('company', [
        'Organization - ID',
        'Organization - Name',
        'Organization - Owner',
        'Organization - Address',
      ]),
    ).toEqual({
      'Organization - ID': 'external_id',
      'Organization - Name': 'name',
      'Organization - Owner': 'owner',
      'Organization - Address': 'address.street',
    });
    expect(
      mapOf('opportunity', [
        'Deal - ID',
        'Deal - Title',
        'Deal - Value',
        'Deal - Currency',
        'Deal - Stage',
        'Deal - Pipeline',
        'Deal - Owner',
        'Deal - Organization',
        'Deal - Contact person',
        'Deal - Expected close date',
      ]),
    ).toEqual({
      'Deal - ID': 'external_id',
      'Deal - Title': 'title',
      'Deal - Value': 'amount',
      'Deal - Currency': 'currency',
      'Deal - Stage': 'stage',
      'Deal - Pipeline': 'pipeline',
      'Deal - Owner': 'owner',
      'Deal - Organization': 'company',
      'Deal - Contact person': 'contact',
      'Deal - Expected close date': 'expected_close_date',
    });
  });
});

describe('GoHighLevel exports', () => {
  it('contacts (the header row quoted in MANIFEST.md) and opportunities', () => {
    expect(
      mapOf('contact', [
        'Contact Id',
        'First Name',
        'Last Name',
        'Phone',
        'Email',
        'Business Name',
        'Created',
        'Last Activity',
        'Tags',
        'Country',
        'Opportunities',
      ]),
    ).toMatchObject({
      'Contact Id': 'external_id',
      'First Name': 'first_name',
      'Last Name': 'last_name',
      Phone: 'phone',
      Email: 'email',
      'Business Name': 'company',
      Tags: 'tags',
    });
    expect(
      mapOf('opportunity', [
        'Opportunity Name',
        'Contact Name',
        'pipeline',
        'stage',
        'Lead Value',
        'assigned',
        'Opportunity ID',
        'tags',
      ]),
    ).toEqual({
      'Opportunity Name': 'title',
      'Contact Name': 'contact',
      pipeline: 'pipeline',
      stage: 'stage',
      'Lead Value': 'amount',
      assigned: 'owner',
      'Opportunity ID': 'external_id',
      tags: 'tags',
    });
  });
});
