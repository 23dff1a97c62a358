/**
 * The table every schema benchmark changes: `orders`, with an integer
 * `total` that is widened to bigint (the classic "we ran out of int" change).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { REPO_ROOT } from './server.js';

/** Distinct customers; requests target one at random. */
export const CUSTOMERS = 10_000;

/** The flag of the benchmark migration. */
export const FLAG = 'orders.total-bigint';
/** New code reads and writes this column once the flag is on for it. */
export const NEW_COLUMN = 'total_big';

/**
 * Create `orders` with `rows` rows (ids 1..rows) and its indexes, then VACUUM ANALYZE it.
 *
 * @example
 * await createOrders(pool, 100_000);
 */
export async function createOrders(pool: pg.Pool, rows: number): Promise<void> {
  await pool.query(`CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL,
    status text NOT NULL DEFAULT 'new',
    total integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
  // In chunks: one huge INSERT would hold a large snapshot and WAL burst.
  const chunk = 500_000;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    await pool.query(
      `INSERT INTO orders (id, customer_id, status, total, created_at)
       SELECT g, (1 + (g::bigint * 7919) % ${CUSTOMERS})::int, CASE WHEN g % 10 = 0 THEN 'new' ELSE 'paid' END, ((g::bigint * 104729) % 100000)::int, now() - (g || ' seconds')::interval
         FROM generate_series(${from}, ${to}) g`,
    );
  }
  await pool.query(`SELECT setval('orders_id_seq', $1)`, [rows]);
  await pool.query('CREATE INDEX orders_customer_idx ON orders (customer_id)');
  await pool.query('VACUUM ANALYZE orders');
}

/** The benchmark migration, as a user would write it (new code uses `total_big`). */
export function migrationSource(): string {
  const index = path.join(REPO_ROOT, 'src/index.ts');
  return `import { defineMigration, op, sql } from ${JSON.stringify(index)};

// Widen orders.total to bigint. New code reads and writes total_big from switch on;
// old code keeps using total; the dual-write trigger keeps both equal until contract drops total.
export default defineMigration({
  flag: ${JSON.stringify(FLAG)},
  description: 'Widen orders.total from integer to bigint',
  operations: [
    op.alterColumn('orders', 'total', {
      name: ${JSON.stringify(NEW_COLUMN)},
      type: 'bigint',
      up: sql\`total::bigint\`,
      down: sql\`${NEW_COLUMN}::integer\`,
    }),
  ],
});
`;
}

export const MIGRATION_NAME = '20260101000000_orders_total_bigint';

/**
 * A throwaway project folder holding the benchmark migration; `remove()` deletes it.
 *
 * @example
 * const project = await migrationProject();
 * const migrator = await createMigrator({ connectionString, cwd: project.dir, migrationsDir: 'migrations' });
 */
export async function migrationProject(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'curtain-bench-'));
  await mkdir(path.join(dir, 'migrations'));
  await writeFile(path.join(dir, 'migrations', `${MIGRATION_NAME}.ts`), migrationSource());
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
