import { notifications } from '@mantine/notifications';
import {
  createRootRoute,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import { setUnauthenticatedHandler } from './api/client';
import { membersQuery, meQuery, objectQuery, queryClient } from './lib/query';
import { COLLECTION, type ListObject, listQueryOptions, type RecordObject, recordQuery } from './lib/records';
import { AppLayout } from './shell/AppLayout';
import { PageError, PageSkeleton } from './shell/states';

/**
 * The app's routes. Auth screens are public; everything under the layout needs a session and
 * an organization (else: to sign-in with `redirect` set to where the user was going).
 */
const rootRoute = createRootRoute({ component: Outlet });

type RedirectSearch = { redirect?: string };
const redirectSearch = (s: Record<string, unknown>): RedirectSearch =>
  typeof s.redirect === 'string' && s.redirect.startsWith('/') ? { redirect: s.redirect } : {};

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: redirectSearch,
  component: lazyRouteComponent(() => import('./pages/auth/AuthPages'), 'SignInPage'),
});
const signUpRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-up',
  component: lazyRouteComponent(() => import('./pages/auth/AuthPages'), 'SignUpPage'),
});
type TokenSearch = { token?: string };
const tokenSearch = (s: Record<string, unknown>): TokenSearch =>
  typeof s.token === 'string' ? { token: s.token } : {};
const forgotPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/forgot-password',
  component: lazyRouteComponent(() => import('./pages/auth/AccountLinkPages'), 'ForgotPasswordPage'),
});
const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/reset-password',
  validateSearch: tokenSearch,
  component: lazyRouteComponent(() => import('./pages/auth/AccountLinkPages'), 'ResetPasswordPage'),
});
const verifyEmailRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/verify-email',
  validateSearch: tokenSearch,
  component: lazyRouteComponent(() => import('./pages/auth/AccountLinkPages'), 'VerifyEmailPage'),
});
const acceptInvitationRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/accept-invitation/$id',
  component: lazyRouteComponent(() => import('./pages/auth/AuthPages'), 'AcceptInvitationPage'),
});

const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  beforeLoad: async ({ location }) => {
    const me = await queryClient.ensureQueryData(meQuery);
    if (!me?.organization) {
      throw redirect({ to: '/sign-in', search: { redirect: location.href } });
    }
    return { me };
  },
  component: AppLayout,
});

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  // The landing page after sign-in (issue 20): today's work, my deals, recent activity.
  component: lazyRouteComponent(() => import('./pages/home/HomePage'), 'HomePage'),
});

type ListSearch = { view?: string; new?: boolean };
const listSearch = (s: Record<string, unknown>): ListSearch => ({
  ...(typeof s.view === 'string' ? { view: s.view } : {}),
  // `new`: open the create form (the search's "New contact" action).
  ...(s.new === true || s.new === 'true' ? { new: true } : {}),
});

/** Starts what a table needs (registry, members, the first page) while its code loads. */
const listLoader =
  (object: ListObject) =>
  ({ deps }: { deps: ListSearch }) => {
    const collection = COLLECTION[object];
    void queryClient.prefetchQuery(membersQuery);
    // The first page shows the registry's default columns for the object.
    return queryClient.ensureQueryData(objectQuery(object)).then(async ({ display }) => {
      if (!deps.view)
        await queryClient.ensureQueryData(
          listQueryOptions(collection, { sort: [], q: '', columns: display.columns }),
        );
    });
  };

/** Starts reading a record and its object's registry while the record page's code loads. */
const recordLoader =
  (object: RecordObject) =>
  ({ params }: { params: { id: string } }) => {
    void queryClient.prefetchQuery(membersQuery);
    void queryClient.prefetchQuery(objectQuery(object));
    void queryClient.prefetchQuery(recordQuery(object, params.id));
  };

const contactsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/contacts',
  validateSearch: listSearch,
  loaderDeps: ({ search }) => search,
  loader: listLoader('contact'),
  component: lazyRouteComponent(() => import('./pages/records/ListPages'), 'ContactsPage'),
});
const contactRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/contacts/$id',
  loader: recordLoader('contact'),
  component: lazyRouteComponent(() => import('./pages/records/RecordPage'), 'ContactPage'),
});
const companiesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/companies',
  validateSearch: listSearch,
  loaderDeps: ({ search }) => search,
  loader: listLoader('company'),
  component: lazyRouteComponent(() => import('./pages/records/ListPages'), 'CompaniesPage'),
});
const companyRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/companies/$id',
  loader: recordLoader('company'),
  component: lazyRouteComponent(() => import('./pages/records/RecordPage'), 'CompanyPage'),
});
const productsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/products',
  validateSearch: listSearch,
  loaderDeps: ({ search }) => search,
  loader: listLoader('product'),
  component: lazyRouteComponent(() => import('./pages/records/ListPages'), 'ProductsPage'),
});
const productRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/products/$id',
  loader: recordLoader('product'),
  component: lazyRouteComponent(() => import('./pages/records/RecordPage'), 'ProductPage'),
});
// A quote's editor (issue 29): its own chunk, loaded when a quote is opened.
const quoteRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/quotes/$id',
  component: lazyRouteComponent(() => import('./pages/quotes/QuotePage'), 'QuotePage'),
});
// Orders and stock (issue 29): their own chunks.
const ordersRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/orders',
  component: lazyRouteComponent(() => import('./pages/orders/OrdersPage'), 'OrdersPage'),
});
const stockRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/stock',
  component: lazyRouteComponent(() => import('./pages/orders/StockPage'), 'StockPage'),
});
type BoardSearch = { pipeline?: string; owner?: string; q?: string; closed?: boolean };
const boardRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/opportunities',
  validateSearch: (s: Record<string, unknown>): BoardSearch => ({
    ...(typeof s.pipeline === 'string' ? { pipeline: s.pipeline } : {}),
    ...(typeof s.owner === 'string' ? { owner: s.owner } : {}),
    ...(typeof s.q === 'string' ? { q: s.q } : {}),
    ...(s.closed === true || s.closed === 'true' ? { closed: true } : {}),
  }),
  component: lazyRouteComponent(() => import('./pages/board/BoardPage'), 'BoardPage'),
});
const opportunityRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/opportunities/$id',
  loader: recordLoader('opportunity'),
  component: lazyRouteComponent(() => import('./pages/records/RecordPage'), 'OpportunityPage'),
});
const tasksRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/tasks',
  validateSearch: (s: Record<string, unknown>): { scope?: 'all' } =>
    s.scope === 'all' ? { scope: 'all' } : {},
  component: lazyRouteComponent(() => import('./pages/tasks/TasksPage'), 'TasksPage'),
});
const duplicatesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/duplicates',
  component: lazyRouteComponent(() => import('./pages/records/DuplicatesPage'), 'DuplicatesPage'),
});
const importsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/imports',
  component: lazyRouteComponent(() => import('./pages/imports/ImportsPage'), 'ImportsPage'),
});
// "Move in from GoHighLevel" (issue 33): its own chunk, loaded when opened.
const ghlRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/imports/gohighlevel',
  component: lazyRouteComponent(() => import('./pages/imports/GoHighLevelPage'), 'GoHighLevelPage'),
});
const importRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/imports/$id',
  component: lazyRouteComponent(() => import('./pages/imports/ImportDetail'), 'ImportDetail'),
});
// Any custom object's records (issue 21): pages built from the registry, one for every object.
const customRecordsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/records/$object',
  loader: ({ params }) => void queryClient.prefetchQuery(objectQuery(params.object)),
  component: lazyRouteComponent(() => import('./pages/records/CustomRecordsPage'), 'CustomRecordsPage'),
});
const customBoardRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/records/$object/board',
  validateSearch: (s: Record<string, unknown>): { field?: string } =>
    typeof s.field === 'string' ? { field: s.field } : {},
  loader: ({ params }) => {
    void queryClient.prefetchQuery(membersQuery);
    void queryClient.prefetchQuery(objectQuery(params.object));
  },
  component: lazyRouteComponent(() => import('./pages/records/CustomBoardPage'), 'CustomBoardPage'),
});
const customRecordRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/records/$object/$id',
  loader: ({ params }) => {
    void queryClient.prefetchQuery(membersQuery);
    void queryClient.prefetchQuery(objectQuery(params.object));
  },
  component: lazyRouteComponent(() => import('./pages/records/CustomRecordPage'), 'CustomRecordPage'),
});
// Hand-off queues (issue 21): one per role owning a status.
const queuesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/queues',
  validateSearch: (s: Record<string, unknown>): { role?: string } =>
    typeof s.role === 'string' ? { role: s.role } : {},
  component: lazyRouteComponent(() => import('./pages/queues/QueuesPage'), 'QueuesPage'),
});
const notificationsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/notifications',
  validateSearch: (s: Record<string, unknown>): { tab?: 'settings' } =>
    s.tab === 'settings' ? { tab: 'settings' } : {},
  component: lazyRouteComponent(() => import('./pages/notifications/NotificationsPage'), 'NotificationsPage'),
});
const settingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/settings',
  validateSearch: (s: Record<string, unknown>): { tab?: string } =>
    typeof s.tab === 'string' ? { tab: s.tab } : {},
  component: lazyRouteComponent(() => import('./pages/settings/SettingsPage'), 'SettingsPage'),
});

// The ops console (issue 30), for admins: integration health, alerts, jobs, deliveries, API usage.
const opsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/ops',
  component: lazyRouteComponent(() => import('./pages/ops/OpsPage'), 'OpsPage'),
});

// Workflows (issue 24): the list and runs, and the builder (its flow editor loads with its page only).
const workflowsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/workflows',
  validateSearch: (s: Record<string, unknown>): { tab?: 'runs'; status?: string; workflow?: string } => ({
    ...(s.tab === 'runs' ? { tab: 'runs' as const } : {}),
    ...(typeof s.status === 'string' ? { status: s.status } : {}),
    ...(typeof s.workflow === 'string' ? { workflow: s.workflow } : {}),
  }),
  component: lazyRouteComponent(() => import('./pages/workflows/WorkflowsPage'), 'WorkflowsPage'),
});
const workflowRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/workflows/$id',
  component: lazyRouteComponent(() => import('./pages/workflows/WorkflowBuilderPage'), 'WorkflowBuilderPage'),
});

// Scheduling (issue 33): the member's side, and the public booking page and its manage link.
const schedulingRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/scheduling',
  component: lazyRouteComponent(() => import('./pages/scheduling/SchedulingPage'), 'SchedulingPage'),
});
const bookingPageRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/book/$token',
  component: lazyRouteComponent(() => import('./pages/scheduling/BookingPage'), 'BookingPage'),
});
const manageBookingRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/book/manage/$token',
  component: lazyRouteComponent(() => import('./pages/scheduling/BookingPage'), 'ManageBookingPage'),
});

// The inbox (issue 23): conversations across channels, and the channels' settings for admins.
const inboxRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/inbox',
  component: lazyRouteComponent(() => import('./pages/inbox/InboxPage'), 'InboxPage'),
});

// Outreach (issue 25): sequences, and the suppression list with the consent ledger.
const sequencesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/sequences',
  component: lazyRouteComponent(() => import('./pages/sequences/SequencesPage'), 'SequencesPage'),
});
const sequenceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/sequences/$id',
  component: lazyRouteComponent(() => import('./pages/sequences/SequencesPage'), 'SequencePage'),
});
const suppressionsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/suppressions',
  component: lazyRouteComponent(() => import('./pages/sequences/SequencesPage'), 'SuppressionsPage'),
});

// Broadcasts (issue 33): one message to a segment, its recipients' statuses.
const broadcastsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/broadcasts',
  component: lazyRouteComponent(() => import('./pages/broadcasts/BroadcastsPage'), 'BroadcastsPage'),
});
const broadcastRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/broadcasts/$id',
  component: lazyRouteComponent(() => import('./pages/broadcasts/BroadcastsPage'), 'BroadcastPage'),
});

const profileRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/profile',
  component: lazyRouteComponent(() => import('./pages/profile/ProfilePage'), 'ProfilePage'),
});

// Reports and dashboards (issue 30): their chart library loads with these pages only.
const reportsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/reports',
  component: lazyRouteComponent(() => import('./pages/reports/ReportsPage'), 'ReportsPage'),
});
const reportRecordsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/reports/records',
  validateSearch: (s: Record<string, unknown>): { object?: string; filter?: string } => ({
    ...(typeof s.object === 'string' ? { object: s.object } : {}),
    ...(typeof s.filter === 'string' ? { filter: s.filter } : {}),
  }),
  component: lazyRouteComponent(() => import('./pages/reports/ReportRecordsPage'), 'ReportRecordsPage'),
});
// The operator of the install (issue 30): organizations, usage, plans and limits, suspension.
const operatorRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/operator',
  component: lazyRouteComponent(() => import('./pages/operator/OperatorPage'), 'OperatorPage'),
});
const dashboardsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/dashboards',
  component: lazyRouteComponent(() => import('./pages/reports/DashboardsPage'), 'DashboardsPage'),
});

const routeTree = rootRoute.addChildren([
  signInRoute,
  forgotPasswordRoute,
  resetPasswordRoute,
  verifyEmailRoute,
  signUpRoute,
  acceptInvitationRoute,
  bookingPageRoute,
  manageBookingRoute,
  appRoute.addChildren([
    indexRoute,
    profileRoute,
    inboxRoute,
    sequencesRoute,
    sequenceRoute,
    suppressionsRoute,
    broadcastsRoute,
    broadcastRoute,
    contactsRoute,
    contactRoute,
    companiesRoute,
    companyRoute,
    productsRoute,
    productRoute,
    quoteRoute,
    ordersRoute,
    stockRoute,
    boardRoute,
    opportunityRoute,
    tasksRoute,
    importsRoute,
    ghlRoute,
    importRoute,
    duplicatesRoute,
    customRecordsRoute,
    customBoardRoute,
    customRecordRoute,
    queuesRoute,
    notificationsRoute,
    settingsRoute,
    opsRoute,
    workflowsRoute,
    reportsRoute,
    reportRecordsRoute,
    dashboardsRoute,
    operatorRoute,
    workflowRoute,
    schedulingRoute,
  ]),
]);

export const router = createRouter({
  routeTree,
  defaultPendingComponent: PageSkeleton,
  // Show data the moment it is there: no minimum time for the loading skeleton.
  defaultPendingMinMs: 0,
  defaultErrorComponent: PageError,
  defaultPreload: 'intent',
  scrollRestoration: true,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}

// A request that finds the session gone: forget cached data, say so, and come back after sign-in.
let redirecting = false;
setUnauthenticatedHandler(() => {
  if (redirecting || router.state.location.pathname === '/sign-in') return;
  redirecting = true;
  const back = router.state.location.href;
  queryClient.clear();
  notifications.show({ color: 'yellow', title: 'Session expired', message: 'Sign in again to carry on.' });
  void router.navigate({ to: '/sign-in', search: { redirect: back } }).finally(() => {
    redirecting = false;
  });
});
