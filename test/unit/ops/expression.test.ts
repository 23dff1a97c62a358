import { describe, expect, it } from 'vitest';
import { referencedColumns } from '../../../src/ops/expression.js';

const cols = ['id', 'full_name', 'Total', 'text', 'left', 'email'];

describe('referencedColumns', () => {
  it('finds bare and quoted column names', () => {
    expect(referencedColumns(`split_part(full_name, ' ', 1)`, cols)).toEqual(['full_name']);
    expect(referencedColumns(`"Total"::bigint * 100 + id`, cols)).toEqual(['Total', 'id']);
    expect(referencedColumns(`FULL_NAME || email`, cols)).toEqual(['full_name', 'email']);
  });

  it('skips literals, comments, casts, function names and qualified names', () => {
    expect(referencedColumns(`'full_name' || E'id\\'s' || $$email$$`, cols)).toEqual([]);
    expect(referencedColumns(`x::text -- id\n /* email */`, cols)).toEqual([]);
    expect(referencedColumns(`left(full_name, 3)`, cols)).toEqual(['full_name']);
    expect(referencedColumns(`(SELECT t.email FROM other t)`, cols)).toEqual([]);
  });
});
