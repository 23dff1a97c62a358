/**
 * Figure 6 — snapshot and restore. On an `orders` table of 1,000,000 rows
 * (quick: 100,000): `createSnapshot` with the `tables` strategy (a copy
 * into the curtain_snapshots schema in one REPEATABLE READ transaction,
 * with row count and checksum, the checksum computed on a second session
 * while the copy is written) and `restoreSnapshot` of it (which first
 * copies the current state as a safety snapshot, then TRUNCATE, drop the
 * indexes, INSERT ... SELECT, rebuild the indexes, in one transaction), and
 * a row-granular restore (`where`) of the 1 % of rows changed since.
 * Baseline: `CREATE TABLE copy AS SELECT * FROM orders` of the same table,
 * the copy-speed limit of the server. Each is measured in 3 interleaved
 * rounds (quick: 1) and the medians are compared, so a busy machine skews
 * both sides alike. Ratios above 1 are the price of consistency, checksums,
 * the safety copy and the index builds.
 */
import { createSnapshot, dropSnapshot, restoreSnapshot } from '../../src/snapshots/index.js';
import { ensureStore } from '../../src/store/store.js';
import { rows } from '../lib/args.js';
import { timed } from '../lib/clock.js';
import { createOrders } from '../lib/orders.js';
import { settle, withDatabase } from '../lib/server.js';
import { median, ratio } from '../lib/stats.js';
import type { Figure, Scenario } from '../lib/types.js';

export const snapshot: Scenario = {
  name: 'snapshot',
  title: 'Snapshot and restore vs CREATE TABLE AS',
  async run(ctx) {
    const n = rows(ctx.options, 1_000_000, 100_000);
    const rounds = ctx.options.quick ? 1 : 3;
    return withDatabase(ctx.server, 'snapshot', async (db) => {
      const pool = db.pool();
      const schema = 'curtain';
      ctx.log(`  ${n.toLocaleString('en-US')} rows: creating the table`);
      await createOrders(pool, n);
      await ensureStore(pool, schema);
      const ctas: number[] = [];
      const snaps: number[] = [];
      const restores: number[] = [];
      const partial: number[] = [];
      let details: Record<string, unknown> = {};
      for (let round = 1; round <= rounds; round++) {
        ctx.log(`  ${n.toLocaleString('en-US')} rows: round ${round}/${rounds}`);
        await settle(pool);
        ctas.push((await timed(() => pool.query('CREATE TABLE orders_copy AS SELECT * FROM orders'))).ms);
        await pool.query('DROP TABLE orders_copy');
        await settle(pool);
        const snap = await timed(() => createSnapshot(pool, { schema, tables: ['orders'], strategy: 'tables', reason: 'bench', actor: 'bench' }));
        snaps.push(snap.ms);
        const taken = snap.value.tables[0]?.rows;
        if (taken !== n) throw new Error(`snapshot recorded ${taken} rows, expected ${n}`);
        await pool.query('UPDATE orders SET total = total + 1 WHERE id % 100 = 0'); // something to undo
        await settle(pool);
        const restore = await timed(() => restoreSnapshot(pool, snap.value.id, { schema, actor: 'bench' }));
        restores.push(restore.ms);
        await pool.query('UPDATE orders SET total = total + 1 WHERE id % 100 = 0'); // poison 1 % again
        await settle(pool);
        const rowwise = await timed(() => restoreSnapshot(pool, snap.value.id, { schema, actor: 'bench', tables: ['orders'], where: 'id % 100 = 0' }));
        partial.push(rowwise.ms);
        details = { rows: n, rounds, restored: restore.value.restored, rowGranular: rowwise.value.restored[0]?.changes };
        for (const id of [snap.value.id, restore.value.safetySnapshotId, rowwise.value.safetySnapshotId]) await dropSnapshot(pool, id, { schema });
      }
      const size = `${n.toLocaleString('en-US')} rows`;
      const base = { label: 'CREATE TABLE AS', value: median(ctas) / 1000 };
      const figure = (label: string, samples: number[], meaning: string): Figure => ({
        scenario: 'snapshot',
        label: `${size}: ${label}`,
        unit: 's',
        value: median(samples) / 1000,
        baseline: base,
        ratio: ratio(median(samples), median(ctas)),
        meaning,
        details: { ...details, samplesMs: samples.map(Math.round), baselineSamplesMs: ctas.map(Math.round) },
      });
      return [
        figure('snapshot (tables strategy)', snaps, 'Time to take an online, consistent, checksummed copy vs a bare copy of the table.'),
        figure(
          'restore (incl. safety snapshot)',
          restores,
          'Time to put the table back (after copying the current state so the restore is undoable) vs a bare copy.',
        ),
        figure(
          'row-granular restore of 1 % (incl. safety snapshot)',
          partial,
          'Time to put back only the rows matching --where (10,000 of 1M), after the same safety snapshot, vs a bare copy.',
        ),
      ];
    });
  },
};
