import { queryOptions, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, call, type FilterNode } from '../api/client';
import type { RecordData } from './fields';

export type Collection = 'contacts' | 'companies';
export type Sort = { field: string; direction: 'asc' | 'desc' };
export type ListState = { filter?: FilterNode; sort: Sort[]; q: string; columns: string[]; cursor?: string };

/** Rows per page of the record tables. */
export const PAGE_SIZE = 50;

/** The columns a table shows before the user chooses. */
export const DEFAULT_COLUMNS: Record<Collection, string[]> = {
  contacts: ['first_name', 'last_name', 'email', 'phone', 'companies', 'tags', 'owner_id', 'created_at'],
  companies: ['name', 'domain', 'industry', 'size', 'tags', 'owner_id', 'created_at'],
};

/**
 * One page of a record table: `POST /api/v1/<collection>/query` with the query language in the
 * body, only the shown fields selected. Shared by the table and the route loader (which starts
 * the first page while the page's code loads).
 */
export const listQueryOptions = (collection: Collection, state: ListState) =>
  queryOptions({
    queryKey: [collection, 'list', state.filter, state.sort, state.q, state.columns, state.cursor] as const,
    queryFn: async () => {
      const { data, error, response } = await api.POST(
        `/api/v1/${collection}/query` as '/api/v1/contacts/query',
        {
          body: {
            ...(state.filter ? { filter: state.filter } : {}),
            ...(state.sort.length ? { sort: state.sort } : {}),
            ...(state.q ? { q: state.q } : {}),
            ...(state.cursor ? { cursor: state.cursor } : {}),
            fields: [...new Set(['id', ...state.columns])],
            limit: PAGE_SIZE,
          },
        },
      );
      if (!response.ok) throw new ApiError(response.status, (error ?? {}) as never);
      return data as { data: RecordData[]; next_cursor: string | null };
    },
  });

export type RecordObject = 'contact' | 'company' | 'opportunity';
/** Each object's API collection and detail route (one place for search hits, task links, detail pages). */
export const COLLECTION = {
  contact: 'contacts',
  company: 'companies',
  opportunity: 'opportunities',
} as const;
export const DETAIL_PATH = {
  contact: '/contacts/$id',
  company: '/companies/$id',
  opportunity: '/opportunities/$id',
} as const;

/**
 * Saves part of a record from its detail page: `PATCH /api/v1/<collection>/{id}`, the answer
 * becomes the cached record, and every other query of the collection (its timeline, lists,
 * related lists) and the board refresh.
 */
export function useRecordSave(object: RecordObject, id: string) {
  const queryClient = useQueryClient();
  const collection = COLLECTION[object];
  return async (body: Record<string, unknown>) => {
    const updated = await call(
      api.PATCH(`/api/v1/${collection}/{id}` as '/api/v1/contacts/{id}', {
        params: { path: { id } },
        body: body as never,
      }),
    );
    queryClient.setQueryData([collection, id], updated);
    void queryClient.invalidateQueries({
      predicate: (q) => q.queryKey[0] === collection && !(q.queryKey.length === 2 && q.queryKey[1] === id),
    });
    if (object === 'opportunity') void queryClient.invalidateQueries({ queryKey: ['board'] });
    return updated;
  };
}
