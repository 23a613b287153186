import { QueryClient, queryOptions } from '@tanstack/react-query';
import { ApiError, api, call } from '../api/client';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

/** The signed-in user, organization and role; null when nobody is signed in. */
export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: async () => {
    const { data, response } = await api.GET('/api/v1/me');
    if (response.status === 401) return null;
    if (!response.ok || !data) throw new ApiError(response.status, {});
    return data;
  },
  staleTime: 60_000,
});

/** An object's registry description (fields, types, filterable, sortable), cached for the session. */
export const objectQuery = (object: string) =>
  queryOptions({
    queryKey: ['objects', object],
    queryFn: () => call(api.GET('/api/v1/objects/{object}', { params: { path: { object } } })),
    staleTime: 60_000,
  });

/** Every object's registry description (what relates to what), cached for the session. */
export const objectsQuery = queryOptions({
  queryKey: ['objects'],
  queryFn: () => call(api.GET('/api/v1/objects')),
  staleTime: 60_000,
});

export const membersQuery = queryOptions({
  queryKey: ['members'],
  queryFn: () => call(api.GET('/api/v1/members')),
  staleTime: 60_000,
});

export const pipelinesQuery = queryOptions({
  queryKey: ['pipelines'],
  queryFn: () => call(api.GET('/api/v1/pipelines')),
  staleTime: 30_000,
});

/** The organization's settings (currency, time zone, country for phones, fiscal year start). */
export const organizationSettingsQuery = queryOptions({
  queryKey: ['organization', 'settings'],
  queryFn: () => call(api.GET('/api/v1/organization/settings')),
  staleTime: 60_000,
});
