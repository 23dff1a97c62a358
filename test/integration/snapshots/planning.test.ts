import { describe, expect, it } from 'vitest';
import { parentsFirst, type ForeignKey } from '../../../src/snapshots/foreign-keys.js';
import { cloneDatabaseName, copyTableName, newSnapshotId, snapshotSchemaName } from '../../../src/snapshots/ids.js';
import { tablesToMerge } from '../../../src/snapshots/merge.js';
import { toolConnection } from '../../../src/snapshots/pg-tools.js';

// Pure planning helpers of snapshots/restore (no database needed).
const t = (name: string) => ({ schema: 'public', name });
const fk = (from: string, to: string): ForeignKey => ({
  constraint: `${from}_${to}_fkey`,
  from: t(from),
  fromColumns: [`${to}_id`],
  to: t(to),
  toColumns: ['id'],
});

describe('restore planning', () => {
  it('orders parents before children, tolerating self references and cycles', () => {
    const order = parentsFirst([t('items'), t('orders'), t('users')], [fk('items', 'orders'), fk('orders', 'users'), fk('users', 'users')]);
    expect(order.map((x) => x.name)).toEqual(['users', 'orders', 'items']);
    expect(parentsFirst([t('a'), t('b')], [fk('a', 'b'), fk('b', 'a')]).map((x) => x.name).sort()).toEqual(['a', 'b']);
  });

  it('merges exactly the tables something outside the truncated set references', () => {
    // orders → users, audit (not restored) → orders: orders must be merged, then users too (orders is no longer truncated).
    const merged = tablesToMerge([t('users'), t('orders'), t('tags')], [fk('orders', 'users'), fk('audit', 'orders'), fk('tags', 'tags')]);
    expect([...merged].sort()).toEqual(['public.orders', 'public.users']);
    expect(tablesToMerge([t('users'), t('orders')], [fk('orders', 'users')]).size).toBe(0);
  });
});

describe('snapshot names', () => {
  it('are sortable, lower-case and fit in 63 bytes', () => {
    const id = newSnapshotId(new Date('2026-11-25T07:47:31Z'));
    expect(id).toMatch(/^20261125-074731-[0-9a-f]{6}$/);
    expect(Buffer.byteLength(copyTableName(id, 3, 'x'.repeat(80)))).toBeLessThanOrEqual(63);
    expect(Buffer.byteLength(cloneDatabaseName('d'.repeat(80), id))).toBeLessThanOrEqual(63);
    expect(cloneDatabaseName('app', id)).toBe(`app_snap_${id}`);
    expect(snapshotSchemaName('curtain')).toBe('curtain_snapshots');
    expect(snapshotSchemaName('ops')).toBe('ops_snapshots');
  });

  it('keep passwords off the command line of pg_dump', () => {
    expect(toolConnection('postgres://me:s%40cret@db:5432/app?sslmode=require')).toEqual({
      dbname: 'postgres://me@db:5432/app?sslmode=require',
      env: { PGPASSWORD: 's@cret' },
    });
  });
});
