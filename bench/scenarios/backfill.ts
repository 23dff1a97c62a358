/**
 * Figure 2 — backfill throughput. Curtain's backfill (keyset batches on the
 * primary key, each its own short transaction with a persisted checkpoint,
 * batch size adapting to 200 ms, lock_timeout 1 s) fills `total_big` from
 * `total` on an `orders` table of 100k and 1M rows (quick: 20k, 100k), with
 * expand's dual-write trigger installed, as expand runs it. Baseline: the
 * same table with the same new column but no trigger, filled by one
 * `UPDATE orders SET total_big = total::bigint` — the fastest possible,
 * but it locks every row for the whole statement. Target: ≥ 0.8× the baseline's rows/s.
 * Then the cost of the throttle checks (replica lag, a throttle query, load)
 * when nothing throttles, target ≤ 5 %, measured two ways: the checks' own
 * time (median of 100 `check()` calls × the backfill's batches, over the
 * backfill's time: exact, little noise), and end to end (the backfill run
 * again with the checks on; a single run's noise is larger than 5 %).
 */
import { runBackfill } from '../../src/backfill/index.js';
import { createThrottle } from '../../src/backfill/throttle.js';
import { verifyBackfill } from '../../src/backfill/verify.js';
import { rows } from '../lib/args.js';
import { timed } from '../lib/clock.js';
import { createOrders } from '../lib/orders.js';
import { applyExpandDdl, CURTAIN_SCHEMA, ordersTriggers, planOrdersChange, PLAN_MIGRATION } from '../lib/plan.js';
import { settle, withDatabase } from '../lib/server.js';
import { median, ratio } from '../lib/stats.js';
import type { Figure, Scenario } from '../lib/types.js';

/** Every check the throttle has, set so that none throttles. */
const THROTTLE_CHECKS = { maxReplicaLagMs: 5_000, throttleQuery: 'SELECT false', maxActiveBackends: 10_000, maxLockWaiters: 10_000 };

export const backfill: Scenario = {
  name: 'backfill',
  title: 'Backfill throughput vs one UPDATE',
  async run(ctx) {
    const sizes = [rows(ctx.options, 100_000, 20_000), rows(ctx.options, 1_000_000, 100_000)];
    const figures: Figure[] = [];
    for (const n of sizes) {
      const result = await withDatabase(ctx.server, 'backfill', async (db) => {
        const pool = db.pool();
        // A freshly loaded table with expand's DDL applied (new column, dual-write trigger): each run starts from it.
        const freshOrders = async () => {
          await pool.query('DROP TABLE IF EXISTS orders');
          await createOrders(pool, n);
          const plan = await planOrdersChange(pool);
          await applyExpandDdl(pool, plan);
          return plan.backfill[0]!;
        };
        ctx.log(`  ${n.toLocaleString('en-US')} rows: one UPDATE`);
        const task = await freshOrders();
        for (const t of await ordersTriggers(pool)) await pool.query(`DROP TRIGGER "${t}" ON orders`);
        await settle(pool, 'orders');
        const update = await timed(() => pool.query(`UPDATE orders SET ${Object.entries(task.set).map(([c, e]) => `"${c}" = ${e}`).join(', ')}`));

        ctx.log(`  ${n.toLocaleString('en-US')} rows: curtain backfill`);
        const task2 = await freshOrders();
        await settle(pool, 'orders');
        const bf = await timed(() => runBackfill(pool, task2, { schema: CURTAIN_SCHEMA, migration: PLAN_MIGRATION }));
        const verify = await timed(() => verifyBackfill(pool, task2));
        if (verify.value.outOfSync !== 0) throw new Error(`backfill left ${verify.value.outOfSync} rows out of sync`);

        // The same backfill with every throttle check on and nothing to throttle: their cost alone.
        ctx.log(`  ${n.toLocaleString('en-US')} rows: curtain backfill with throttle checks`);
        const task3 = await freshOrders();
        await pool.query(`DELETE FROM "${CURTAIN_SCHEMA}".backfill_checkpoints`);
        await settle(pool, 'orders');
        const throttled = await timed(() => runBackfill(pool, task3, { schema: CURTAIN_SCHEMA, migration: PLAN_MIGRATION, throttle: THROTTLE_CHECKS }));
        // The checks' own time, as the backfill pays it between two batches.
        const throttle = await createThrottle(pool, THROTTLE_CHECKS);
        const checks: number[] = [];
        try {
          for (let i = 0; i < 100; i++) checks.push((await timed(() => throttle.check())).ms);
        } finally {
          await throttle.close();
        }
        return {
          updateMs: update.ms,
          backfillMs: bf.ms,
          batches: bf.value.batches,
          verifyMs: verify.ms,
          throttledMs: throttled.ms,
          throttledBatches: throttled.value.batches,
          checkMs: median(checks),
        };
      });
      const curtain = n / (result.backfillMs / 1000);
      const baseline = n / (result.updateMs / 1000);
      const r = ratio(curtain, baseline);
      figures.push({
        scenario: 'backfill',
        label: `${n.toLocaleString('en-US')} rows: backfill throughput`,
        unit: 'rows/s',
        value: curtain,
        baseline: { label: 'one UPDATE', value: baseline },
        ratio: r,
        target: '≥ 0.8×',
        pass: r !== null && r >= 0.8,
        meaning: 'Rows per second filled by the batched, resumable backfill (trigger installed) vs one whole-table UPDATE.',
        note: `${result.batches} batches in ${(result.backfillMs / 1000).toFixed(2)} s vs one UPDATE in ${(result.updateMs / 1000).toFixed(2)} s; verification ${(result.verifyMs / 1000).toFixed(2)} s (not counted)`,
        details: {
          throttledMs: Math.round(result.throttledMs),
          backfillMs: Math.round(result.backfillMs),
          updateMs: Math.round(result.updateMs),
          batches: result.batches,
          verifyMs: Math.round(result.verifyMs),
        },
      });
      const endToEnd = ratio(result.throttledMs, result.backfillMs);
      const accounted = 1 + (result.checkMs * result.throttledBatches) / result.backfillMs;
      figures.push({
        scenario: 'backfill',
        label: `${n.toLocaleString('en-US')} rows: backfill time with throttle checks`,
        unit: 's',
        value: (result.backfillMs + result.checkMs * result.throttledBatches) / 1000,
        baseline: { label: 'no throttle checks', value: result.backfillMs / 1000 },
        ratio: accounted,
        target: '≤ 1.05×',
        pass: accounted <= 1.05,
        meaning: 'Cost of checking replica lag (pg_stat_replication), a throttle query and load between batches when nothing throttles: the checks\' own time added to the backfill.',
        note: `${result.throttledBatches} batches × ${result.checkMs.toFixed(2)} ms per check (median of 100); end to end, one run with the checks took ${endToEnd?.toFixed(2) ?? '?'}× one without (single runs: noise above 5 %)`,
        details: {
          checkMs: Number(result.checkMs.toFixed(3)),
          batches: result.throttledBatches,
          throttledMs: Math.round(result.throttledMs),
          backfillMs: Math.round(result.backfillMs),
          endToEndRatio: endToEnd,
        },
      });
    }
    return figures;
  },
};
