/**
 * Figure 6 — snapshot and restore. On an `orders` table of 1,000,000 rows
 * (quick: 100,000): `createSnapshot` with the `tables` strategy (a copy
 * into the curtain_snapshots schema in one REPEATABLE READ transaction,
 * with row count and checksum) and `restoreSnapshot` of it (which first
 * copies the current state as a safety snapshot, then TRUNCATE + INSERT ...
 * SELECT into the live table, maintaining its indexes, in one transaction).
 * Baseline: `CREATE TABLE copy AS SELECT * FROM orders` of the same table,
 * the copy-speed limit of the server. Ratios above 1 are the price of
 * consistency, checksums, the safety copy and index maintenance.
 */
import { createSnapshot, restoreSnapshot } from '../../src/snapshots/index.js';
import { ensureStore } from '../../src/store/store.js';
import { rows } from '../lib/args.js';
import { timed } from '../lib/clock.js';
import { createOrders } from '../lib/orders.js';
import { settle, withDatabase } from '../lib/server.js';
import { ratio } from '../lib/stats.js';
import type { Figure, Scenario } from '../lib/types.js';

export const snapshot: Scenario = {
  name: 'snapshot',
  title: 'Snapshot and restore vs CREATE TABLE AS',
  async run(ctx) {
    const n = rows(ctx.options, 1_000_000, 100_000);
    return withDatabase(ctx.server, 'snapshot', async (db) => {
      const pool = db.pool();
      ctx.log(`  ${n.toLocaleString('en-US')} rows: creating the table`);
      await createOrders(pool, n);
      await ensureStore(pool, 'curtain');
      await settle(pool);
      const ctas = await timed(() => pool.query('CREATE TABLE orders_copy AS SELECT * FROM orders'));
      await pool.query('DROP TABLE orders_copy');
      await settle(pool);
      ctx.log(`  ${n.toLocaleString('en-US')} rows: snapshot`);
      const snap = await timed(() => createSnapshot(pool, { schema: 'curtain', tables: ['orders'], strategy: 'tables', reason: 'bench', actor: 'bench' }));
      const taken = snap.value.tables[0]?.rows;
      if (taken !== n) throw new Error(`snapshot recorded ${taken} rows, expected ${n}`);
      await pool.query('UPDATE orders SET total = total + 1 WHERE id % 100 = 0'); // something to undo
      await settle(pool);
      ctx.log(`  ${n.toLocaleString('en-US')} rows: restore`);
      const restore = await timed(() => restoreSnapshot(pool, snap.value.id, { schema: 'curtain', actor: 'bench' }));
      const size = `${n.toLocaleString('en-US')} rows`;
      const base = { label: 'CREATE TABLE AS', value: ctas.ms / 1000 };
      const figures: Figure[] = [
        {
          scenario: 'snapshot',
          label: `${size}: snapshot (tables strategy)`,
          unit: 's',
          value: snap.ms / 1000,
          baseline: base,
          ratio: ratio(snap.ms, ctas.ms),
          meaning: 'Time to take an online, consistent, checksummed copy vs a bare copy of the table.',
          details: { snapshotId: snap.value.id, rows: taken },
        },
        {
          scenario: 'snapshot',
          label: `${size}: restore (incl. safety snapshot)`,
          unit: 's',
          value: restore.ms / 1000,
          baseline: base,
          ratio: ratio(restore.ms, ctas.ms),
          meaning: 'Time to put the table back (after copying the current state so the restore is undoable) vs a bare copy.',
          details: { restored: restore.value.restored, safetySnapshotId: restore.value.safetySnapshotId },
        },
      ];
      return figures;
    });
  },
};
