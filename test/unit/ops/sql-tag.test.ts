import { describe, expect, it } from 'vitest';
import { sql } from '../../../src/ops/sql.js';

describe('the sql tag', () => {
  it('keeps backslashes as written', () => {
    expect(sql`regexp_replace(code, '^[0-9]+\s*', '')`.sql).toBe(String.raw`regexp_replace(code, '^[0-9]+\s*', '')`);
    expect(sql`E'a\nb' || '\d'`.sql).toBe("E'a\\nb' || '\\d'");
  });

  it('still quotes interpolated values and splices fragments', () => {
    const sep = "it's";
    expect(sql`split_part(name, ${sep}, ${2}) ~ ${sql`'\w+'`}`.sql).toBe(`split_part(name, 'it''s', 2) ~ '\\w+'`);
  });
});
