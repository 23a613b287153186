/**
 * The standard column headers of other CRMs' CSV exports (issue 33), as header synonyms of the
 * import targets, so their contact, company and deal files map without manual work. Normalized
 * as `normalizeHeader` does ("Deal - Stage" -> "dealstage"). Prefixed headers ("Contact: Email" in
 * Salesforce reports, "Deal - Title" in Pipedrive's) also match by their last part.
 *
 * Sources: HubSpot "Export your records" (the default properties: Record ID, Contact owner,
 * Associated Company, Deal Stage, Company Domain Name, ...); Salesforce Data Export and Data
 * Loader field names (Id, FirstName, AccountId, OwnerId, StageName, BillingCity, ...) and report
 * labels (Account Name, Opportunity Owner, Billing Zip/Postal Code, ...); Pipedrive's export
 * ("Person - Name", "Organization - Name", "Deal - Title", "Deal - Value", "Deal - Owner", ...);
 * GoHighLevel's contact and opportunity exports ("Contact Id", "Business Name", "Lead Value",
 * "Opportunity Name", "assigned", ...).
 */
export const CRM_EXPORT_SYNONYMS: Partial<Record<string, Record<string, string[]>>> = {
  contact: {
    first_name: ['personfirstname', 'contactfirstname'],
    last_name: ['personlastname', 'contactlastname'],
    full_name: ['personname', 'contactfullname'],
    email: ['personemail', 'emailwork', 'emailhome', 'emailother', 'contactemail'],
    phone: [
      'phonenumber',
      'mobilephonenumber',
      'mobilephone',
      'personphone',
      'phonework',
      'phonemobile',
      'phonehome',
      'businessphone',
    ],
    tags: ['personlabel', 'label', 'labels'],
    owner: [
      'contactowner',
      'ownerid',
      'personowner',
      'assigned',
      'assignedto',
      'assigneduser',
      'hubspotowner',
    ],
    company: [
      'associatedcompany',
      'primaryassociatedcompany',
      'accountid',
      'personorganization',
      'organizationname',
      'businessname',
      'companyname',
    ],
    source: ['originalsource', 'leadsource', 'contactsource'],
    lead_status: ['hsleadstatus'],
    external_id: ['recordid', 'contactid', 'personid', 'id', 'hsobjectid'],
  },
  company: {
    name: ['companyname', 'accountname', 'organizationname', 'businessname', 'name'],
    domain: ['companydomainname', 'domainname', 'organizationdomain'],
    website: ['websiteurl', 'companywebsite', 'organizationwebsite'],
    phone: ['phonenumber', 'organizationphone', 'companyphone'],
    industry: ['organizationindustry'],
    owner: ['companyowner', 'accountowner', 'ownerid', 'organizationowner', 'assigned', 'hubspotowner'],
    parent_company: ['parentcompany', 'parentaccount', 'parentid', 'parentaccountid', 'parentorganization'],
    'address.street': ['streetaddress', 'billingstreet', 'organizationaddress', 'streetaddress2', 'address'],
    'address.city': ['billingcity', 'organizationcity'],
    'address.region': ['stateregion', 'billingstate', 'billingstateprovince', 'organizationstate'],
    'address.postal_code': [
      'billingzippostalcode',
      'billingpostalcode',
      'postalcode',
      'organizationpostalcode',
    ],
    'address.country': ['countryregion', 'billingcountry', 'organizationcountry'],
    external_id: ['recordid', 'accountid', 'organizationid', 'companyid', 'hsobjectid'],
  },
  opportunity: {
    title: ['dealname', 'opportunityname', 'dealtitle', 'name'],
    amount: ['dealvalue', 'leadvalue', 'opportunityvalue', 'amountincompanycurrency'],
    currency: ['dealcurrency', 'currencyisocode', 'opportunitycurrency'],
    expected_close_date: ['closedate', 'dealexpectedclosedate', 'expectedclosedate'],
    closed_at: ['dealwonlosttime', 'dealclosedon', 'closedwondate', 'dateclosed'],
    owner: ['dealowner', 'opportunityowner', 'ownerid', 'assigned', 'assignedto', 'hubspotowner'],
    company: [
      'associatedcompany',
      'accountname',
      'accountid',
      'dealorganization',
      'organization',
      'businessname',
    ],
    contact: ['associatedcontact', 'dealcontactperson', 'contactperson', 'contactname', 'contactid'],
    pipeline: ['dealpipeline', 'pipeline', 'pipelinename'],
    stage: ['dealstage', 'stagename', 'stage', 'pipelinestage', 'opportunitystage'],
    tags: ['deallabel', 'label'],
    external_id: ['recordid', 'opportunityid', 'dealid', 'id', 'hsobjectid'],
  },
};
