import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import { ListQuery, parseListQuery, parseListQueryParams } from './query.schema.js';

const invalidAt = (fn: () => unknown, path: string) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ status: 400, code: 'invalid_query', path });
};

describe('parseListQueryParams (GET lists)', () => {
  it('decodes filter JSON, sort, fields, limit, cursor and q', () => {
    const filter = {
      and: [{ field: 'score', op: 'gt', value: 5 }, { not: { field: 'tags', op: 'isEmpty' } }],
    };
    expect(
      parseListQueryParams({
        filter: JSON.stringify(filter),
        sort: 'last_name:asc, -created_at,score:DESC,first_name',
        fields: 'first_name, email,,',
        limit: '25',
        cursor: 'abc',
        q: 'ada',
      }),
    ).toEqual({
      filter,
      sort: [
        { field: 'last_name', direction: 'asc' },
        { field: 'created_at', direction: 'desc' },
        { field: 'score', direction: 'desc' },
        { field: 'first_name', direction: 'asc' },
      ],
      fields: ['first_name', 'email'],
      limit: 25,
      cursor: 'abc',
      q: 'ada',
    });
    expect(parseListQueryParams({})).toEqual({});
  });

  it('names the parameter at fault', () => {
    invalidAt(() => parseListQueryParams({ filter: '{"field":' }), 'filter');
    invalidAt(() => parseListQueryParams({ sort: 'name:asc,name:sideways' }), 'sort[1]');
    invalidAt(() => parseListQueryParams({ limit: 'ten' }), 'limit');
    invalidAt(() => parseListQueryParams({ limit: '500' }), 'limit');
    invalidAt(
      () => parseListQueryParams({ filter: '{"and":[{"field":"a","op":"like","value":1}]}' }),
      'filter.and[0].op',
    );
  });
});

describe('ListQuery schema', () => {
  it('rejects unknown keys anywhere, naming them', () => {
    invalidAt(() => parseListQuery({ filter: { field: 'a', op: 'eq', value: 1, oops: 1 } }), 'filter');
    invalidAt(() => parseListQuery({ page: 2 }), 'query');
    invalidAt(() => parseListQuery({ sort: [{ field: 'a', direction: 'asc', nulls: 'first' }] }), 'sort[0]');
    invalidAt(
      () => parseListQuery({ filter: { or: [{ not: { field: 'a', op: 'gt' } }, { and: 3 }] } }),
      'filter.or[1].and',
    );
  });

  it('documents FilterNode and ListQuery as named, recursive schemas', () => {
    const schema = z.toJSONSchema(z.object({ query: ListQuery }));
    expect(Object.keys(schema.$defs ?? {})).toEqual(expect.arrayContaining(['ListQuery', 'FilterNode']));
  });
});
