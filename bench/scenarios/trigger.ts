/**
 * Figure 3 — dual-write trigger overhead. On `orders` (100k and 1M rows;
 * quick: 20k, 100k) after expand's DDL and backfill, two connections run
 * many single-row UPDATEs, each its own transaction, on random ids:
 * old code's `UPDATE orders SET total = total + 1 WHERE id = $1` (the
 * trigger computes total_big) and new code's `SET total_big = total_big + 1`
 * (the trigger computes total). Same table, same statements; the only
 * difference is the trigger, toggled with ALTER TABLE ... ENABLE/DISABLE
 * TRIGGER between rounds that alternate their order (off/on, on/off, ...),
 * so drift on a busy machine hits both sides. The connections run with
 * `synchronous_commit = off`: otherwise every commit waits for a WAL flush
 * (milliseconds on a shared disk), which would hide the statement's own
 * cost — the thing the trigger changes. Figure: median over rounds of the
 * mean client-observed µs per UPDATE. Target: ≤ 1.5× without the trigger.
 */
import type pg from 'pg';
import { runBackfill } from '../../src/backfill/index.js';
import { rows } from '../lib/args.js';
import { rng } from '../lib/clock.js';
import { createOrders } from '../lib/orders.js';
import { applyExpandDdl, CURTAIN_SCHEMA, ordersTriggers, planOrdersChange, PLAN_MIGRATION } from '../lib/plan.js';
import { settle, withDatabase } from '../lib/server.js';
import { median, ratio } from '../lib/stats.js';
import type { Figure, Scenario } from '../lib/types.js';

const CONNECTIONS = 2;

const STATEMENTS = {
  'old code (SET total)': 'UPDATE orders SET total = total + 1 WHERE id = $1',
  'new code (SET total_big)': 'UPDATE orders SET total_big = total_big + 1 WHERE id = $1',
} as const;

export const trigger: Scenario = {
  name: 'trigger',
  title: 'Dual-write trigger overhead on single-row UPDATEs',
  async run(ctx) {
    const sizes = [rows(ctx.options, 100_000, 20_000), rows(ctx.options, 1_000_000, 100_000)];
    const perRound = ctx.options.quick ? 1_000 : 5_000; // updates per round and statement
    const rounds = ctx.options.quick ? 4 : 6;
    const figures: Figure[] = [];
    for (const n of sizes) {
      await withDatabase(ctx.server, 'trigger', async (db) => {
        const pool = db.pool({ max: CONNECTIONS + 1 });
        ctx.log(`  ${n.toLocaleString('en-US')} rows: expand's DDL and backfill`);
        await createOrders(pool, n);
        const plan = await planOrdersChange(pool);
        await applyExpandDdl(pool, plan);
        await runBackfill(pool, plan.backfill[0]!, { schema: CURTAIN_SCHEMA, migration: PLAN_MIGRATION });
        await settle(pool, 'orders');
        const [name] = await ordersTriggers(pool);
        if (!name) throw new Error('expand created no trigger on orders');
        const costs: Record<string, { on: number[]; off: number[] }> = {};
        for (const label of Object.keys(STATEMENTS)) costs[label] = { on: [], off: [] };
        await updates(pool, STATEMENTS['old code (SET total)'], 200, n, 0); // warm-up
        for (let round = 0; round < rounds; round++) {
          const order: ('on' | 'off')[] = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
          for (const mode of order) {
            await pool.query(`ALTER TABLE orders ${mode === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER "${name}"`);
            for (const [label, statement] of Object.entries(STATEMENTS)) {
              costs[label]![mode].push(await updates(pool, statement, perRound, n, round));
            }
          }
          ctx.log(`  ${n.toLocaleString('en-US')} rows: round ${round + 1}/${rounds}`);
        }
        for (const [label, c] of Object.entries(costs)) {
          const on = median(c.on);
          const off = median(c.off);
          const r = ratio(on, off);
          figures.push({
            scenario: 'trigger',
            label: `${n.toLocaleString('en-US')} rows: UPDATE cost, ${label}`,
            unit: 'µs/update',
            value: on,
            baseline: { label: 'no trigger', value: off },
            ratio: r,
            target: '≤ 1.5×',
            pass: r !== null && r <= 1.5,
            meaning: 'Client-observed cost of a single-row UPDATE in its own transaction (synchronous_commit off) with the dual-write trigger vs without.',
            details: { roundsOn: c.on.map(Math.round), roundsOff: c.off.map(Math.round), updatesPerRound: perRound, connections: CONNECTIONS },
          });
        }
      });
    }
    return figures;
  },
};

/** `count` autocommit UPDATEs of random ids over CONNECTIONS connections; mean µs per UPDATE. */
async function updates(pool: pg.Pool, statement: string, count: number, maxId: number, seed: number): Promise<number> {
  const per = Math.ceil(count / CONNECTIONS);
  const totals = await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      const client = await pool.connect();
      const random = rng(seed * 100 + c + 1);
      try {
        await client.query('SET synchronous_commit = off');
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < per; i++) await client.query(statement, [1 + Math.floor(random() * maxId)]);
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        await client.query('RESET synchronous_commit');
        return us;
      } finally {
        client.release();
      }
    }),
  );
  return totals.reduce((s, t) => s + t, 0) / (per * CONNECTIONS);
}
