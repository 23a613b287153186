import {
  ActionIcon,
  AppShell,
  Avatar,
  Badge,
  Burger,
  Group,
  Menu,
  NavLink,
  Text,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
  VisuallyHidden,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { spotlight } from '@mantine/spotlight';
import {
  IconActivityHeartbeat,
  IconAddressBook,
  IconBox,
  IconBuilding,
  IconBuildingWarehouse,
  IconCalendarEvent,
  IconChartBar,
  IconChecklist,
  IconCopy,
  IconFileImport,
  IconGitBranch,
  IconHome,
  IconInbox,
  IconLayoutDashboard,
  IconLayoutKanban,
  IconListCheck,
  IconLogout,
  IconMoon,
  IconPackage,
  IconReceipt,
  IconSearch,
  IconSend,
  IconServer2,
  IconSettings,
  IconSpeakerphone,
  IconSun,
} from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { api, authRequest, call } from '../api/client';
import { meQuery, objectsQuery } from '../lib/query';
import { GlobalSearch } from './GlobalSearch';
import { NotificationBell } from './NotificationBell';
import { OrgStatusBanner } from './OrgStatusBanner';

const NAV = [
  { to: '/', label: 'Home', icon: IconHome },
  { to: '/contacts', label: 'Contacts', icon: IconAddressBook },
  { to: '/companies', label: 'Companies', icon: IconBuilding },
  { to: '/opportunities', label: 'Opportunities', icon: IconLayoutKanban },
  { to: '/products', label: 'Products', icon: IconPackage },
  { to: '/orders', label: 'Orders', icon: IconReceipt },
  { to: '/stock', label: 'Stock', icon: IconBuildingWarehouse },
  { to: '/tasks', label: 'Tasks', icon: IconChecklist },
  { to: '/inbox', label: 'Inbox', icon: IconInbox },
  { to: '/sequences', label: 'Sequences', icon: IconSend },
  { to: '/broadcasts', label: 'Broadcasts', icon: IconSpeakerphone },
  { to: '/imports', label: 'Imports', icon: IconFileImport },
  { to: '/duplicates', label: 'Duplicates', icon: IconCopy },
  { to: '/workflows', label: 'Workflows', icon: IconGitBranch },
  { to: '/scheduling', label: 'Scheduling', icon: IconCalendarEvent },
  { to: '/reports', label: 'Reports', icon: IconChartBar },
  { to: '/dashboards', label: 'Dashboards', icon: IconLayoutDashboard },
] as const;

/** The app shell: navigation, the organization's name, search (Ctrl/Cmd+K), theme and user menu. */
export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure();
  const { data: me } = useQuery(meQuery);
  // A navigation entry per custom object of the organization (issue 21), from the registry.
  const customObjects = (
    useQuery({ ...objectsQuery, enabled: Boolean(me?.organization) }).data?.data ?? []
  ).filter((o) => o.custom_object && !o.custom_object.retired);
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  // The inbox's unread badge (issue 23): unread messages of open conversations.
  const inboxUnread =
    useQuery({
      queryKey: ['conversations', 'unread'],
      queryFn: () => call(api.GET('/api/v1/conversations/unread-count')),
      enabled: Boolean(me?.organization),
      refetchInterval: 60_000,
    }).data?.messages ?? 0;
  // Hand-off queues (issue 21): listed once a status is owned by a role; the badge counts what
  // waits in the caller's own queues.
  const queues =
    useQuery({
      queryKey: ['queues'],
      queryFn: () => call(api.GET('/api/v1/queues')),
      enabled: Boolean(me?.organization),
      refetchInterval: 60_000,
    }).data?.data ?? [];
  const queueWaiting = queues.filter((q) => q.mine).reduce((n, q) => n + q.waiting, 0);
  // The operator of the install (issue 30) sees the Operator page (`/me` says so; the operator API
  // answers 404 to anyone else, so probing it would log a failed request on every page).
  const isOperator = me?.operator === true;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  // An organization that requires two-factor sign-in answers 403 `two_factor_required` to a member
  // without it, everywhere but the set-up: take them to the profile page, where it is set up.
  const twoFactor = useQuery({
    queryKey: ['me', 'two-factor'],
    queryFn: () => call(api.GET('/api/v1/me/two-factor')),
    enabled: Boolean(me?.organization),
  }).data;
  const mustSetUpTwoFactor = Boolean(twoFactor?.required && !twoFactor.enabled);
  useEffect(() => {
    if (mustSetUpTwoFactor && pathname !== '/profile') void navigate({ to: '/profile' });
  }, [mustSetUpTwoFactor, pathname, navigate]);

  async function signOut() {
    await authRequest('/api/auth/sign-out', {});
    queryClient.clear();
    await navigate({ to: '/sign-in' });
  }

  async function switchOrganization(id: string) {
    await api.PUT('/api/v1/me/active-organization', { body: { organization_id: id } });
    queryClient.clear();
    await navigate({ to: '/' });
  }

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
            />
            <Text fw={700} size="lg">
              Cairn
            </Text>
            <Text c="dimmed" size="sm" visibleFrom="xs" data-testid="org-name">
              {me?.organization?.name}
            </Text>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <UnstyledButton
              onClick={() => spotlight.open()}
              aria-label="Search… Ctrl+K"
              style={{
                border: '1px solid var(--mantine-color-default-border)',
                borderRadius: 8,
                padding: '4px 10px',
              }}
            >
              <Group gap={6} wrap="nowrap">
                <IconSearch size={16} />
                <Text size="sm" c="dimmed" visibleFrom="sm">
                  Search… Ctrl+K
                </Text>
              </Group>
            </UnstyledButton>
            <NotificationBell />
            <Tooltip label={scheme === 'dark' ? 'Light mode' : 'Dark mode'}>
              <ActionIcon
                variant="default"
                size="lg"
                aria-label="Toggle color scheme"
                onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}
              >
                {scheme === 'dark' ? <IconSun size={18} /> : <IconMoon size={18} />}
              </ActionIcon>
            </Tooltip>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton>
                  {/* Named by its words, not an aria-label the visible initials would contradict (axe). */}
                  <Avatar name={me?.user.name} color="initials" variant="filled" size={32} aria-hidden />
                  <VisuallyHidden>User menu</VisuallyHidden>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>
                  {me?.user.name} · {me?.role}
                </Menu.Label>
                <Menu.Label>{me?.user.email}</Menu.Label>
                {me && me.organizations.length > 1 && (
                  <>
                    <Menu.Divider />
                    <Menu.Label>Organizations</Menu.Label>
                    {me.organizations.map((o) => (
                      <Menu.Item
                        key={o.id}
                        disabled={o.id === me.organization?.id}
                        onClick={() => void switchOrganization(o.id)}
                      >
                        {o.name}
                      </Menu.Item>
                    ))}
                  </>
                )}
                <Menu.Divider />
                <Menu.Item onClick={() => void navigate({ to: '/profile' })}>Profile and security</Menu.Item>
                <Menu.Item leftSection={<IconLogout size={16} />} onClick={() => void signOut()}>
                  Sign out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {NAV.map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={item.label}
            leftSection={<item.icon size={18} />}
            rightSection={
              item.to === '/inbox' && inboxUnread > 0 ? (
                <Badge size="xs" circle={inboxUnread < 10} aria-label={`${inboxUnread} unread`}>
                  {inboxUnread > 99 ? '99+' : inboxUnread}
                </Badge>
              ) : undefined
            }
            variant="filled"
            active={item.to === '/' ? pathname === '/' : pathname.startsWith(item.to)}
            onClick={close}
          />
        ))}
        {customObjects.map((o) => (
          <NavLink
            key={o.key}
            renderRoot={(p) => <Link {...p} to="/records/$object" params={{ object: o.key }} />}
            label={o.label_plural}
            leftSection={<IconBox size={18} />}
            variant="filled"
            active={pathname.startsWith(`/records/${o.key}`)}
            onClick={close}
          />
        ))}
        {queues.length > 0 && (
          <NavLink
            component={Link}
            to="/queues"
            label="Queues"
            leftSection={<IconListCheck size={18} />}
            rightSection={
              queueWaiting > 0 ? (
                <Badge size="xs" circle={queueWaiting < 10} aria-label={`${queueWaiting} waiting`}>
                  {queueWaiting > 99 ? '99+' : queueWaiting}
                </Badge>
              ) : undefined
            }
            variant="filled"
            active={pathname.startsWith('/queues')}
            onClick={close}
          />
        )}
        {me?.role === 'admin' && (
          <NavLink
            component={Link}
            to="/ops"
            label="Ops console"
            leftSection={<IconActivityHeartbeat size={18} />}
            variant="filled"
            active={pathname.startsWith('/ops')}
            onClick={close}
          />
        )}
        {isOperator && (
          <NavLink
            component={Link}
            to="/operator"
            label="Operator"
            leftSection={<IconServer2 size={18} />}
            variant="filled"
            active={pathname.startsWith('/operator')}
            onClick={close}
          />
        )}
        {me?.role === 'admin' && (
          <NavLink
            component={Link}
            to="/settings"
            label="Settings"
            leftSection={<IconSettings size={18} />}
            variant="filled"
            active={pathname.startsWith('/settings')}
            onClick={close}
          />
        )}
      </AppShell.Navbar>
      <AppShell.Main>
        <OrgStatusBanner />
        <Outlet />
      </AppShell.Main>
      <GlobalSearch />
    </AppShell>
  );
}
