import { Stack, Tabs, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { meQuery } from '../../lib/query';
import { EmptyState } from '../../shell/states';
import { AiSettings } from './AiSettings';
import { CustomFieldsSettings } from './CustomFieldsSettings';
import { CustomObjectsSettings } from './CustomObjectsSettings';
import { FormsSettings } from './FormsSettings';
import { MembersSettings } from './MembersSettings';
import { MetaSettings } from './MetaSettings';
import { OrganizationSettings } from './OrganizationSettings';
import { PipelinesSettings } from './PipelinesSettings';
import { PriceListsSettings } from './PriceListsSettings';
import { RolesSettings } from './RolesSettings';
import { SecuritySettings } from './SecuritySettings';
import { TagsSettings } from './TagsSettings';
import { TeamsSettings } from './TeamsSettings';
import { TemplatesSettings } from './TemplatesSettings';
import { WebhooksSettings } from './WebhooksSettings';

/**
 * Organization settings (admins): the organization (name, currency, time zone, country, fiscal
 * year), users and invitations, roles, teams, objects, custom fields, pipelines, tags, forms,
 * webhooks, Meta lead ads, and the guard's security incidents and budgets.
 */
export function SettingsPage() {
  const { data: me } = useQuery(meQuery);
  const search = useSearch({ from: '/app/settings' });
  const navigate = useNavigate();
  if (me?.role !== 'admin') {
    return (
      <EmptyState title="Admins only">
        Ask an admin of {me?.organization?.name} to change settings.
      </EmptyState>
    );
  }
  const tab = search.tab ?? 'members';
  return (
    <Stack>
      <Title order={1} size="h2">
        Settings
      </Title>
      <Tabs
        value={tab}
        onChange={(t) => void navigate({ to: '/settings', search: { tab: t ?? 'members' } })}
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="organization">Organization</Tabs.Tab>
          <Tabs.Tab value="members">Users and invitations</Tabs.Tab>
          <Tabs.Tab value="roles">Roles</Tabs.Tab>
          <Tabs.Tab value="teams">Teams</Tabs.Tab>
          <Tabs.Tab value="templates">Templates</Tabs.Tab>
          <Tabs.Tab value="objects">Objects</Tabs.Tab>
          <Tabs.Tab value="fields">Custom fields</Tabs.Tab>
          <Tabs.Tab value="pipelines">Pipelines</Tabs.Tab>
          <Tabs.Tab value="tags">Tags</Tabs.Tab>
          <Tabs.Tab value="security">Security incidents</Tabs.Tab>
          <Tabs.Tab value="forms">Forms</Tabs.Tab>
          <Tabs.Tab value="webhooks">Webhooks</Tabs.Tab>
          <Tabs.Tab value="meta">Meta lead ads</Tabs.Tab>
          <Tabs.Tab value="price-lists">Price lists</Tabs.Tab>
          <Tabs.Tab value="ai">AI assistant</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="organization" pt="md">
          <OrganizationSettings />
        </Tabs.Panel>
        <Tabs.Panel value="members" pt="md">
          <MembersSettings />
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="md">
          <RolesSettings />
        </Tabs.Panel>
        <Tabs.Panel value="teams" pt="md">
          <TeamsSettings />
        </Tabs.Panel>
        <Tabs.Panel value="templates" pt="md">
          <TemplatesSettings />
        </Tabs.Panel>
        <Tabs.Panel value="objects" pt="md">
          <CustomObjectsSettings />
        </Tabs.Panel>
        <Tabs.Panel value="fields" pt="md">
          <CustomFieldsSettings />
        </Tabs.Panel>
        <Tabs.Panel value="pipelines" pt="md">
          <PipelinesSettings />
        </Tabs.Panel>
        <Tabs.Panel value="price-lists" pt="md">
          {tab === 'price-lists' && <PriceListsSettings />}
        </Tabs.Panel>
        <Tabs.Panel value="tags" pt="md">
          <TagsSettings />
        </Tabs.Panel>
        <Tabs.Panel value="security" pt="md">
          <SecuritySettings />
        </Tabs.Panel>
        <Tabs.Panel value="forms" pt="md">
          <FormsSettings />
        </Tabs.Panel>
        <Tabs.Panel value="webhooks" pt="md">
          <WebhooksSettings />
        </Tabs.Panel>
        <Tabs.Panel value="meta" pt="md">
          {tab === 'meta' && <MetaSettings />}
        </Tabs.Panel>
        <Tabs.Panel value="ai" pt="md">
          <AiSettings />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
