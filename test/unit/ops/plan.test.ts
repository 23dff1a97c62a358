import { describe, expect, it } from 'vitest';
import { op, planFromCatalog, sql } from '../../../src/ops/index.js';
import { shadowColumn } from '../../../src/ops/alter-column.js';
import type { Operation } from '../../../src/ops/operation.js';
import { col, context, table } from './fixtures.js';

const plan = (...ops: Operation[]) => planFromCatalog(ops, context());

describe('validation before anything runs', () => {
  it.each([
    [op.addColumn('nope', { name: 'x', type: 'text' }), /op\.addColumn\("nope", "x"\): table public\.nope does not exist/],
    [op.addColumn('users', { name: 'email', type: 'text' }), /column "email" already exists in public\.users/],
    [op.renameColumn('users', 'mail', 'x'), /column "mail" does not exist in public\.users \(columns: id, full_name, email, token\)/],
    [op.renameColumn('users', 'email', 'full_name'), /column "full_name" already exists/],
    [op.renameColumn('users', 'id', 'user_id'), /identity column/],
    [op.alterColumn('orders', 'total', { type: 'bigint' }), /changing the type of "total" to bigint needs `up`/],
    [op.alterColumn('orders', 'id', { type: 'bigint', up: sql`id::bigint` }), /part of the primary key/],
    [op.alterColumn('orders', 'total', { name: 'total_big', type: 'bigint', up: sql`total::bigint` }), /give `down`/],
    [op.alterColumn('users', 'full_name', { type: 'varchar(100)', up: 'full_name' }), /used by index users_lower_email .*can only be moved to the new column when planned against the database/],
    [op.dropColumn('users', 'full_name'), /NOT NULL without a default.*/],
    [op.dropColumn('orders', 'id'), /part of the primary key/],
    [op.addColumn('orders', { name: 'x', type: 'int', nullable: false }), /nullable: false needs `up` or `default`/],
    [op.createTable('users', { columns: [{ name: 'a', type: 'int' }] }), /table public\.users already exists/],
    [op.dropIndex('no_such_index'), /index public\.no_such_index does not exist/],
    [op.dropIndex('users_email_key'), /backs constraint users_email_key/],
    [op.createIndex('orders', { columns: ['nope'] }), /column "nope" does not exist/],
  ])('%#: rejects with a specific message', (o, message) => {
    expect(() => plan(o)).toThrow(message);
  });

  it('refuses expressions reading generated columns', () => {
    const g = table('g', [col('id', 'int', { notNull: true }), col('a', 'int'), col('gen', 'int', { generated: true })], { primaryKey: ['id'] });
    const ctx = context([g]);
    expect(() => planFromCatalog([op.addColumn('g', { name: 'x', type: 'int', up: sql`gen + 1` })], ctx)).toThrow(/"up" reads generated column "gen"/);
    expect(() => planFromCatalog([op.alterColumn('g', 'a', { type: 'bigint', up: sql`a + gen` })], ctx)).toThrow(/"up" reads generated column "gen"/);
    expect(() => planFromCatalog([op.dropColumn('g', 'a', { down: sql`gen` })], ctx)).toThrow(/"down" reads generated column "gen"/);
  });

  it('sees columns added by earlier operations of the same migration', () => {
    expect(() => plan(op.addColumn('orders', { name: 'x', type: 'int' }), op.addColumn('orders', { name: 'x', type: 'int' }))).toThrow(/"x" already exists/);
    expect(() => plan(op.addColumn('orders', { name: 'x', type: 'int' }), op.createIndex('orders', { columns: ['x'] }))).not.toThrow();
  });
});

describe('merged plans', () => {
  const split = () =>
    plan(
      op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }),
      op.addColumn('users', { name: 'last_name', type: 'text', up: sql`split_part(full_name, ' ', 2)` }),
      op.dropColumn('users', 'full_name', { down: sql`first_name || ' ' || last_name` }),
      op.renameColumn('users', 'email', 'email_address'),
      op.alterColumn('orders', 'total', { type: 'bigint', up: sql`total::bigint` }),
    );

  it('has one dual-write trigger per table, created with the old side authoritative', () => {
    const p = split();
    const triggers = p.expand.filter((s) => s.sql.startsWith('CREATE TRIGGER'));
    expect(triggers).toHaveLength(2);
    expect(triggers[0]!.sql).toContain('BEFORE INSERT OR UPDATE OF');
    expect(triggers[0]!.sql).toMatch(/"full_name".*"first_name"|"first_name".*"full_name"/);
    expect(triggers[0]!.sql).not.toContain('"token"');
    const fns = p.expand.filter((s) => s.sql.startsWith('CREATE OR REPLACE FUNCTION'));
    expect(fns.map((s) => s.sql)).toEqual(p.authority('old').map((s) => s.sql));
    expect(p.authority('new').map((s) => s.sql)).not.toEqual(p.authority('old').map((s) => s.sql));
  });

  it('runs transactional DDL first, triggers last, and drops triggers first on contract and abort', () => {
    const p = split();
    expect(p.expand.every((s) => s.transactional)).toBe(true);
    expect(p.expand.at(-1)!.sql).toMatch(/^CREATE TRIGGER/);
    expect(p.contract[0]!.sql).toMatch(/^DROP TRIGGER IF EXISTS/);
    expect(p.abort[0]!.sql).toMatch(/^DROP TRIGGER IF EXISTS/);
    expect(p.contract.map((s) => s.sql)).toContain(`ALTER TABLE "public"."users" DROP COLUMN "full_name"`);
    // The swap, followed by the NOT NULL constraint's rename (PostgreSQL 18 names it after the shadow column).
    expect(p.contract.map((s) => s.sql.split(';\n')[0])).toContain(`ALTER TABLE "public"."orders" RENAME COLUMN "${shadowColumn('total')}" TO "total"`);
    // Abort undoes in reverse order: the last operation's column goes first.
    const drops = p.abort.filter((s) => s.sql.includes('DROP COLUMN IF EXISTS')).map((s) => s.sql);
    expect(drops[0]).toContain(shadowColumn('total'));
    expect(drops.at(-1)).toContain('"first_name"');
  });

  it('merges backfill per table', () => {
    const p = split();
    expect(p.backfill.map((b) => [b.table.name, Object.keys(b.set)])).toEqual([
      ['users', ['first_name', 'last_name', 'email_address']],
      ['orders', [shadowColumn('total')]],
    ]);
    expect(p.backfill[0]!.outOfSync).toMatch(/^\(.*\) OR \(.*\) OR \(.*\)$/);
  });

  it('lists touched columns and the tables contract destroys data in', () => {
    const p = split();
    expect(p.touches).toEqual(
      expect.arrayContaining(['public.users.full_name', 'public.users.first_name', 'public.users.email', 'public.users.email_address', 'public.orders.total']),
    );
    expect(p.affectedTables.map((t) => t.name)).toEqual(['users', 'orders']);
  });

  it('moves a unique constraint to the renamed column: built concurrently, attached by name on contract', () => {
    const p = plan(op.renameColumn('users', 'email', 'email_address'));
    const build = p.afterBackfill.find((s) => s.sql.includes('CREATE UNIQUE INDEX CONCURRENTLY'))!;
    expect(build.transactional).toBe(false);
    expect(build.cleanup).toMatch(/^DROP INDEX CONCURRENTLY IF EXISTS/);
    expect(build.sql).toContain('("email_address")');
    expect(p.contract.map((s) => s.sql).join('\n')).toMatch(/ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX/);
    // NOT NULL of the old column is carried by a NOT VALID check, validated on contract.
    expect(p.expand.some((s) => s.sql.includes('DEFAULT \'none\'::text'))).toBe(true);
  });

  it('validates first in transactions of their own, then drops the trigger together with the old side', () => {
    const p = plan(op.alterColumn('orders', 'total', { type: 'bigint', nullable: false, up: sql`total::bigint`, down: sql`total::int`, name: 'total_big' }));
    const kinds = p.contract.map((s) => (s.ownTransaction ? 'own' : /DROP TRIGGER/.test(s.sql) ? 'drop-trigger' : /DROP COLUMN "total"/.test(s.sql) ? 'drop-a' : 'other'));
    expect(kinds[0]).toBe('own');
    const firstNotOwn = kinds.findIndex((k) => k !== 'own');
    expect(kinds.slice(firstNotOwn)).not.toContain('own');
    // Between the trigger's drop and the old column's drop no step runs in a transaction of its own.
    expect(kinds.indexOf('drop-trigger')).toBeLessThan(kinds.indexOf('drop-a'));
    expect(p.contract.slice(kinds.indexOf('drop-trigger'), kinds.indexOf('drop-a') + 1).every((s) => s.transactional && !s.ownTransaction)).toBe(true);
  });

  it('adds NOT NULL as a NOT VALID check after the backfill, validated then SET NOT NULL on contract', () => {
    const p = plan(op.addColumn('orders', { name: 'n', type: 'int', nullable: false, up: sql`total * 2` }));
    // Not in expand: an unrelated UPDATE of a row the backfill has not reached yet would violate it.
    expect(p.expand.map((s) => s.sql).join('\n')).not.toMatch(/IS NOT NULL/);
    expect(p.afterBackfill.map((s) => s.sql).join('\n')).toMatch(/CHECK \("n" IS NOT NULL\) NOT VALID/);
    const contract = p.contract.map((s) => s.sql);
    const validate = contract.findIndex((s) => s.includes('VALIDATE CONSTRAINT'));
    const setNotNull = contract.findIndex((s) => s.includes('SET NOT NULL'));
    expect(validate).toBeGreaterThan(-1);
    expect(setNotNull).toBeGreaterThan(validate);
  });

  it('a constant default with NOT NULL and nothing to compute is instant: no trigger, no backfill', () => {
    const p = plan(op.addColumn('orders', { name: 'currency', type: 'text', nullable: false, default: sql`'EUR'` }));
    expect(p.expand.map((s) => s.sql)).toEqual([`ALTER TABLE "public"."orders" ADD COLUMN "currency" text DEFAULT 'EUR' NOT NULL`]);
    expect(p.backfill).toEqual([]);
  });

  it('createIndex runs CONCURRENTLY outside a transaction with a cleanup', () => {
    const p = plan(op.createIndex('orders', { columns: ['total'], where: sql`total > 0` }));
    expect(p.expand).toEqual([
      {
        description: 'create index orders_total_idx concurrently',
        sql: `CREATE INDEX CONCURRENTLY "orders_total_idx" ON "public"."orders" ("total") WHERE (total > 0)`,
        lock: 'SHARE UPDATE EXCLUSIVE',
        transactional: false,
        cleanup: `DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_total_idx"`,
      },
    ]);
  });

  it('quotes every identifier', () => {
    const odd = table('we"ird', [col('id', 'int', { notNull: true }), col('a b', 'text')], { primaryKey: ['id'] });
    const p = planFromCatalog([op.renameColumn('we"ird', 'a b', 'c"d')], context([odd]));
    expect(p.expand[0]!.sql).toBe(`ALTER TABLE "public"."we""ird" ADD COLUMN "c""d" text`);
  });
});
