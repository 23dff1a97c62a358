import type { Catalog, ColumnShape, TableShape } from '../../../src/db/catalog.js';
import type { PlanContext } from '../../../src/ops/operation.js';

/** A column as the catalog would report it. */
export function col(name: string, type: string, extra: Partial<ColumnShape> = {}): ColumnShape {
  return { name, attnum: 0, type, notNull: false, defaultVolatile: false, identity: null, generated: false, ...extra };
}

/** A table shape without a database. */
export function table(name: string, columns: ColumnShape[], extra: Partial<TableShape> = {}): TableShape {
  return {
    schema: 'public',
    name,
    kind: 'r',
    columns: columns.map((c, i) => ({ ...c, attnum: i + 1 })),
    primaryKey: [],
    indexes: [],
    constraints: [],
    referencedBy: [],
    triggers: [],
    ...extra,
  };
}

export const users = table(
  'users',
  [
    col('id', 'bigint', { notNull: true, identity: 'always' }),
    col('full_name', 'text', { notNull: true }),
    col('email', 'text', { default: "'none'::text" }),
    col('token', 'uuid', { default: 'gen_random_uuid()', defaultVolatile: true }),
  ],
  {
    primaryKey: ['id'],
    indexes: [
      { name: 'users_pkey', unique: true, primary: true, valid: true, columns: ['id'], uses: ['id'], simple: true, method: 'btree', definition: 'CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)', constraint: 'users_pkey' },
      { name: 'users_email_key', unique: true, primary: false, valid: true, columns: ['email'], uses: ['email'], simple: true, method: 'btree', definition: 'CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)', constraint: 'users_email_key' },
      { name: 'users_lower_email', unique: false, primary: false, valid: true, columns: [null], uses: ['full_name'], simple: false, method: 'btree', definition: 'CREATE INDEX users_lower_email ON public.users USING btree (lower(full_name))' },
    ],
    constraints: [
      { name: 'users_pkey', type: 'primary key', definition: 'PRIMARY KEY (id)', columns: ['id'], validated: true },
      { name: 'users_email_key', type: 'unique', definition: 'UNIQUE (email)', columns: ['email'], validated: true },
    ],
  },
);

export const orders = table('orders', [col('id', 'integer', { notNull: true }), col('total', 'integer', { default: '0' })], { primaryKey: ['id'] });

/** A planning context over `users` and `orders`. */
export function context(tables: TableShape[] = [users, orders]): PlanContext {
  const catalog: Catalog = { tables: new Map(tables.map((t) => [`${t.schema}.${t.name}`, t])), indexes: new Map() };
  for (const t of tables) for (const i of t.indexes) catalog.indexes.set(`${t.schema}.${i.name}`, `${t.schema}.${t.name}`);
  return { catalog, migration: '20240101_m', flag: 'm', curtainSchema: 'curtain', defaultSchema: 'public' };
}
