/**
 * Test-local stand-ins for the executor (written elsewhere): run a phase's
 * steps the way the runner will (transactional steps together in one
 * transaction, then the others alone), and snapshot the catalog so abort can
 * be compared with the state before expand.
 */
import type pg from 'pg';
import { runBackfill } from '../../../src/backfill/run.js';
import { verifyBackfill } from '../../../src/backfill/verify.js';
import type { Authority, MigrationPlan, Step } from '../../../src/ops/operation.js';
import { ensureStore } from '../../../src/store/store.js';

export const CURTAIN = 'curtain';

/** Run steps: transactional ones in one transaction first, then the others one by one. */
export async function applySteps(pool: pg.Pool, steps: Step[]): Promise<void> {
  const tx = steps.filter((s) => s.transactional);
  if (tx.length > 0) {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      for (const s of tx) {
        try {
          await c.query(s.sql);
        } catch (err) {
          throw new Error(`step "${s.description}" failed: ${(err as Error).message}\n${s.sql}`);
        }
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }
  for (const s of steps.filter((x) => !x.transactional)) {
    try {
      await pool.query(s.sql);
    } catch (err) {
      throw new Error(`step "${s.description}" failed: ${(err as Error).message}\n${s.sql}`);
    }
  }
}

/** expand → backfill → verify → afterBackfill, as the runner does it. */
export async function expand(pool: pg.Pool, plan: MigrationPlan, migration: string): Promise<void> {
  await ensureStore(pool, CURTAIN);
  await applySteps(pool, plan.expand);
  for (const task of plan.backfill) {
    await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 7 });
    const v = await verifyBackfill(pool, task);
    if (v.outOfSync !== 0) throw new Error(`${v.outOfSync} rows out of sync in ${v.table}`);
  }
  await applySteps(pool, plan.afterBackfill);
}

/** Flip the authority (what switch does in the flag's transaction). */
export async function authority(pool: pg.Pool, plan: MigrationPlan, side: Authority): Promise<void> {
  await applySteps(pool, plan.authority(side));
}

/**
 * Everything abort must restore, in a comparable form: columns (type,
 * nullability, default, identity, generated), constraints, indexes,
 * triggers, functions and views of the given schema.
 */
export async function catalogSnapshot(pool: pg.Pool, schema = 'public'): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await pool.query(sql, [schema])).rows;
  return {
    relations: await q(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = $1 ORDER BY 1`),
    columns: await q(`SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity, a.attgenerated
                        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                       WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','v','p')
                       ORDER BY c.relname, a.attname`),
    constraints: await q(`SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS def, k.convalidated
                            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 ORDER BY 1, 2`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`),
    triggers: await q(`SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2`),
    functions: await q(`SELECT p.proname, md5(pg_get_functiondef(p.oid)) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = $1 ORDER BY 1`),
    views: await q(`SELECT viewname, definition FROM pg_views WHERE schemaname = $1 ORDER BY 1`),
  };
}
