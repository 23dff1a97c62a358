import { describe, expect, it } from 'vitest';
import { convertSql } from '../../../src/convert/index.js';
import type { ConvertCatalog } from '../../../src/convert/catalog.js';

// A catalog without a database: the converter only asks for column types and casts.
const catalog = (columns: Record<string, { type: string; nullable: boolean; hasDefault: boolean }>, casts: string[] = []): ConvertCatalog => ({
  column: async (table, column) => columns[`${table}.${column}`],
  canCast: async (from, to) => casts.includes(`${from}->${to}`),
});

describe('convertSql', () => {
  it('merges several changes to one column into one op.alterColumn', async () => {
    const { source } = await convertSql(`ALTER TABLE users ALTER COLUMN status SET DEFAULT 'new', ALTER COLUMN status SET NOT NULL;`);
    expect(source).toContain(`op.alterColumn("users", "status", { default: sql\`'new'\`, nullable: false })`);
    expect(source.match(/op\.alterColumn/g)).toHaveLength(1);
  });

  it('keeps an expression index as CONCURRENTLY SQL with a DROP INDEX CONCURRENTLY down', async () => {
    const { source } = await convertSql('CREATE UNIQUE INDEX users_lower_email ON users (lower(email));');
    expect(source).toContain('up: sql`CREATE UNIQUE INDEX CONCURRENTLY users_lower_email ON users (lower(email))`');
    expect(source).toContain('down: sql`DROP INDEX CONCURRENTLY IF EXISTS users_lower_email`');
    expect(source).toContain('transactional: false');
  });

  it('takes down from the reverse cast when the catalog has one, else a placeholder', async () => {
    const withCast = await convertSql('ALTER TABLE orders ALTER COLUMN total TYPE bigint;', {
      catalog: catalog({ 'orders.total': { type: 'integer', nullable: false, hasDefault: false } }, ['bigint->integer']),
    });
    expect(withCast.source).toContain('op.alterColumn("orders", "total", { type: "bigint", up: sql`total::bigint`, down: sql`total::integer` })');
    expect(withCast.notes).toEqual([]);
    const without = await convertSql('ALTER TABLE orders ALTER COLUMN total TYPE bigint;', {
      catalog: catalog({ 'orders.total': { type: 'integer', nullable: false, hasDefault: false } }),
    });
    expect(without.source).toContain('down: TODO_write_down_orders_total');
    expect(without.source).toContain('declare const TODO_write_down_orders_total: { TODO: "write this expression: PostgreSQL has no cast from bigint back to integer" };');
  });

  it('drops a nullable column without asking for down', async () => {
    const { source } = await convertSql('ALTER TABLE users DROP COLUMN bio;', { catalog: catalog({ 'users.bio': { type: 'text', nullable: true, hasDefault: false } }) });
    expect(source).toContain('op.dropColumn("users", "bio"),');
  });

  it('keeps the source parenthesised expressions whole', async () => {
    const { source } = await convertSql('ALTER TABLE t ALTER COLUMN a TYPE numeric USING (a + b) * 2, ADD CONSTRAINT t_c CHECK ((a > 0) OR (b > 0));');
    expect(source).toContain('up: sql`(a + b) * 2`');
    expect(source).toContain('expression: sql`((a > 0) OR (b > 0))`');
  });

  it('keeps CASCADE drops and unknown statements as op.sql, with what the linter says', async () => {
    const { source, notes } = await convertSql('DROP TABLE sessions CASCADE; CREATE EXTENSION IF NOT EXISTS pgcrypto;');
    expect(source).toContain('// CASCADE drops dependent objects curtain cannot see; kept as SQL');
    expect(source).toContain('op.sql({ up: sql`DROP TABLE sessions CASCADE` })');
    expect(source).toContain('op.sql({ up: sql`CREATE EXTENSION IF NOT EXISTS pgcrypto` })');
    expect(notes.filter((n) => n.startsWith('kept as op.sql'))).toHaveLength(2);
  });

  it('escapes backticks and ${ in expressions', async () => {
    const { source } = await convertSql("ALTER TABLE t ALTER COLUMN a SET DEFAULT '`${x}`';");
    expect(source).toContain("default: sql`'\\`\\${x}\\`'`");
  });

  it('ignores transaction control around the statements', async () => {
    const { source } = await convertSql('BEGIN; ALTER TABLE a RENAME TO b; COMMIT;');
    expect(source).toContain('op.renameTable("a", "b")');
    expect(source).not.toContain('BEGIN');
  });
});
