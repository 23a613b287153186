import { queryOptions, useQueryClient } from '@tanstack/react-query';
import { api, type BulkAction, call, type FilterNode, type Schemas } from '../api/client';

/** A record as the list and detail endpoints return it: standard fields, custom values under `custom`. */
export type RecordData = { id: string; [key: string]: unknown };

/** A row of a query answer as a record: rows without an id (never sent) are dropped. */
export function asRecord(row: { [key: string]: unknown }): RecordData[] {
  const { id } = row;
  return typeof id === 'string' ? [{ ...row, id }] : [];
}

export type RecordObject = 'contact' | 'company' | 'opportunity' | 'product';
/** Each object's API collection and detail route (one place for search hits, task links, detail pages). */
export const COLLECTION = {
  contact: 'contacts',
  company: 'companies',
  opportunity: 'opportunities',
  product: 'products',
} as const;
export type Collection = (typeof COLLECTION)[RecordObject];
/** The objects with a table page, a create form and duplicates (opportunities live on the board). */
export type ListObject = 'contact' | 'company' | 'product';
export const DETAIL_PATH = {
  contact: '/contacts/$id',
  company: '/companies/$id',
  opportunity: '/opportunities/$id',
  product: '/products/$id',
} as const;
export const OBJECT_OF: Record<Collection, RecordObject> = {
  contacts: 'contact',
  companies: 'company',
  opportunities: 'opportunity',
  products: 'product',
};

/** How an object's records are named and listed: the registry's `display` (`GET /api/v1/objects`). */
export type ObjectDisplay = Schemas['ObjectDisplay'];

/**
 * What a record is called (headings, links, pickers, search hits), by its object's registry rule:
 * the non-empty `display.fields` joined by a space, else the first non-empty `fallback`, else `empty`.
 */
export function recordTitle(display: ObjectDisplay, record: RecordData): string {
  const text = (key: string) => {
    const value = record[key];
    return typeof value === 'string' && value.trim() ? value : null;
  };
  const named = display.fields.map(text).filter(Boolean).join(' ');
  return named || display.fallback.map(text).find(Boolean) || display.empty;
}
export const isRecordObject = (key: string | undefined): key is RecordObject =>
  key === 'contact' || key === 'company' || key === 'opportunity' || key === 'product';

/**
 * The API path of an endpoint every record collection has, typed as the union of the real paths
 * (`/api/v1/contacts/{id}` | `/api/v1/companies/{id}` | ...): the typed client then checks the
 * parameters and infers the answer for each, with no cast.
 */
export const recordPath = <C extends Collection, S extends string>(collection: C, suffix: S) =>
  `/api/v1/${collection}${suffix}` as const satisfies `/api/v1/${C}${S}`;

export type Sort = { field: string; direction: 'asc' | 'desc' };
export type ListState = { filter?: FilterNode; sort: Sort[]; q: string; columns: string[]; cursor?: string };

/** Rows per page of the record tables. */
export const PAGE_SIZE = 50;

/**
 * One page of a record table: `POST /api/v1/<collection>/query` with the query language in the
 * body, only the shown fields selected. Shared by the table and the route loader (which starts
 * the first page while the page's code loads).
 */
export const listQueryOptions = (collection: Collection, state: ListState) =>
  queryOptions({
    queryKey: [collection, 'list', state.filter, state.sort, state.q, state.columns, state.cursor] as const,
    queryFn: async () => {
      const page = await call(
        api.POST(recordPath(collection, '/query'), {
          body: {
            ...(state.filter ? { filter: state.filter } : {}),
            ...(state.sort.length ? { sort: state.sort } : {}),
            ...(state.q ? { q: state.q } : {}),
            ...(state.cursor ? { cursor: state.cursor } : {}),
            fields: [...new Set(['id', ...state.columns])],
            limit: PAGE_SIZE,
          },
        }),
      );
      return { data: page.data.flatMap(asRecord), next_cursor: page.next_cursor };
    },
  });

/**
 * How many records a table's query selects (`GET /api/v1/<collection>/count`, the same filter and
 * q as the list): exact up to the server's cap, then `exact: false`.
 */
export const countQueryOptions = (collection: Collection, state: Pick<ListState, 'filter' | 'q'>) =>
  queryOptions({
    queryKey: [collection, 'count', state.filter, state.q] as const,
    queryFn: () =>
      call(
        api.GET(recordPath(collection, '/count'), {
          params: {
            query: {
              ...(state.filter ? { filter: JSON.stringify(state.filter) } : {}),
              ...(state.q ? { q: state.q } : {}),
            },
          },
        }),
      ),
  });

/** "1,001 contacts", "1 contact", "10,000+ contacts": a table's total in words. */
export function countWords(
  total: { count: number; exact: boolean },
  labels: { singular: string; plural: string },
): string {
  const number = `${total.count.toLocaleString('en-US')}${total.exact ? '' : '+'}`;
  return `${number} ${(total.exact && total.count === 1 ? labels.singular : labels.plural).toLowerCase()}`;
}

/** One record as its detail endpoint returns it (`GET /api/v1/<collection>/{id}`). */
export const recordQuery = (object: RecordObject, id: string) =>
  queryOptions({
    queryKey: [COLLECTION[object], id] as const,
    queryFn: () => call(api.GET(recordPath(COLLECTION[object], '/{id}'), { params: { path: { id } } })),
  });

/** A page of a record's timeline, older pages by cursor. */
export const timelinePage = (object: RecordObject, id: string, cursor: string | undefined) =>
  call(
    api.GET(recordPath(COLLECTION[object], '/{id}/timeline'), {
      params: { path: { id }, query: { limit: 30, ...(cursor ? { cursor } : {}) } },
    }),
  );

/** Archives or restores one record. */
export const setArchived = (object: RecordObject, id: string, action: 'archive' | 'restore') =>
  call(
    action === 'archive'
      ? api.POST(recordPath(COLLECTION[object], '/{id}/archive'), { params: { path: { id } } })
      : api.POST(recordPath(COLLECTION[object], '/{id}/restore'), { params: { path: { id } } }),
  );

/** A bulk action on the selected records of a table. */
export const bulkAction = (collection: Collection, ids: string[], action: Omit<BulkAction, 'ids'>) =>
  call(api.POST(recordPath(collection, '/bulk'), { body: { ...action, ids } }));

/** Creates a record from a form's body; the answer is the new record. */
export const createRecord = (object: RecordObject, body: Record<string, unknown>) =>
  call(api.POST(recordPath(COLLECTION[object], ''), { body }));

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
      api.PATCH(recordPath(collection, '/{id}'), { params: { path: { id } }, body }),
    );
    queryClient.setQueryData(recordQuery(object, id).queryKey, updated);
    void queryClient.invalidateQueries({
      predicate: (q) => q.queryKey[0] === collection && !(q.queryKey.length === 2 && q.queryKey[1] === id),
    });
    // A record shows on the board too (an opportunity, or the contact or company on its cards).
    void queryClient.invalidateQueries({ queryKey: ['board'] });
    return updated;
  };
}
