/**
 * Property-based lifecycle check for operations that keep two sides in sync.
 *
 * A scenario says how old code and new code write and read one logical value
 * (each in its own representation). fast-check generates interleavings of
 * inserts, updates (including NULLs), deletes and inserts that leave the
 * column to its default, by either side; after every phase each side must
 * read, for every row, exactly the value the last writer wrote, converted to
 * its representation. Phases: before expand (old code only) → expand
 * (authority old) → switched (new) → back off (old) → on (new) → contract
 * (new code only); a second run aborts after expand instead and compares the
 * catalog with the one before expand.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { expect } from 'vitest';
import { planMigration } from '../../../src/ops/plan.js';
import type { Authority, MigrationPlan, Operation } from '../../../src/ops/operation.js';
import { abort, applySteps, contract, authority, catalogSnapshot, CURTAIN, expand } from './helpers.js';

/** "The writer does not mention the column". */
export const DEFAULT = Symbol('default');

export interface Side<V> {
  insert(id: number, v: V | typeof DEFAULT): [string, unknown[]];
  update(id: number, v: V): [string, unknown[]];
  /** Every row's value, in canonical form. */
  read(pool: pg.Pool): Promise<Map<number, V>>;
  /** How this side deletes (default: DELETE FROM the scenario's table). */
  delete?(id: number): [string, unknown[]];
}

export interface Scenario<V> {
  schema: string;
  /** DDL creating the table(s) in `schema` (which is recreated for every run). */
  setup: string;
  /** `schema.table` that writers delete from. */
  table: string;
  operations(): Operation[];
  old: Side<V>;
  new: Side<V>;
  /** The new side after contract (defaults to `new`). */
  contracted?: Side<V>;
  value: fc.Arbitrary<V>;
  /** Writers that set both sides in one statement (two-way pairs): the authoritative side must win. */
  both?: {
    insert(id: number, old: V, nu: V): [string, unknown[]];
    update(id: number, old: V, nu: V): [string, unknown[]];
  };
  /** What a row inserted without the column holds, canonically. */
  defaultValue: V;
}

type Command<V> = {
  side: 'old' | 'new' | 'both';
  kind: 'insert' | 'update' | 'delete' | 'insertDefault';
  id: number;
  value: V;
  /** The new side's value when both sides write. */
  other: V;
};

function commands<V>(value: fc.Arbitrary<V>, sides: ('old' | 'new' | 'both')[], max = 12): fc.Arbitrary<Command<V>[]> {
  return fc.array(
    fc.record({
      side: fc.constantFrom(...sides),
      kind: fc.constantFrom('insert', 'update', 'delete', 'insertDefault', 'update') as fc.Arbitrary<Command<V>['kind']>,
      id: fc.integer({ min: 1, max: 6 }),
      value,
      other: value,
    }),
    { maxLength: max },
  );
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function run<V>(
  pool: pg.Pool,
  s: Scenario<V>,
  model: Map<number, V>,
  cmds: Command<V>[],
  sides: Record<'old' | 'new', Side<V>>,
  auth: Authority = 'old',
) {
  for (const c of cmds) {
    if (c.side === 'both') {
      if (!s.both || c.kind === 'delete' || c.kind === 'insertDefault') continue;
      let winner = auth === 'old' ? c.value : c.other;
      if (c.kind === 'update') {
        if (!model.has(c.id)) continue;
        // A side set to the value it already holds did not change: the side that changed wins.
        const current = model.get(c.id);
        if (same(c.value, current)) winner = c.other;
        else if (same(c.other, current)) winner = c.value;
        const [q, p] = s.both.update(c.id, c.value, c.other);
        await pool.query(q, p);
      } else {
        // An INSERT of a side's default value is indistinguishable from not mentioning it.
        if (model.has(c.id) || same(c.value, s.defaultValue) || same(c.other, s.defaultValue)) continue;
        const [q, p] = s.both.insert(c.id, c.value, c.other);
        await pool.query(q, p);
      }
      model.set(c.id, winner);
      continue;
    }
    const side = sides[c.side];
    if (c.kind === 'delete') {
      const [q, p] = side.delete?.(c.id) ?? [`DELETE FROM ${s.table} WHERE id = $1`, [c.id]];
      await pool.query(q, p);
      model.delete(c.id);
    } else if (c.kind === 'update') {
      if (!model.has(c.id)) continue;
      const [q, p] = side.update(c.id, c.value);
      await pool.query(q, p);
      model.set(c.id, c.value);
    } else {
      if (model.has(c.id)) continue;
      const v = c.kind === 'insert' ? c.value : DEFAULT;
      const [q, p] = side.insert(c.id, v);
      await pool.query(q, p);
      model.set(c.id, v === DEFAULT ? s.defaultValue : v);
    }
  }
}

async function check<V>(pool: pg.Pool, model: Map<number, V>, side: Side<V>, what: string) {
  const seen = await side.read(pool);
  expect(Object.fromEntries(seen), what).toEqual(Object.fromEntries(model));
}

let counter = 0;

/** Run the full lifecycle property for a scenario. */
export async function lifecycleProperty<V>(pool: pg.Pool, s: Scenario<V>, numRuns = Number(process.env.CURTAIN_RUNS ?? 8)): Promise<void> {
  const both: ('old' | 'new' | 'both')[] = s.both ? ['old', 'new', 'both'] : ['old', 'new'];
  await fc.assert(
    fc.asyncProperty(
      commands(s.value, ['old'], 6),
      commands(s.value, both),
      commands(s.value, both),
      commands(s.value, both),
      commands(s.value, ['new'], 8),
      async (seed, expanded, switched, backOff, contracted) => {
        const migration = `m${++counter}`;
        await reset(pool, s);
        const model = new Map<number, V>();
        const sides = { old: s.old, new: s.new };
        await run(pool, s, model, seed, sides);
        const plan = await planMigration(s.operations(), { db: pool, migration, flag: migration, schema: CURTAIN });
        await expand(pool, plan, migration);
        await check(pool, model, s.old, 'old side after expand');
        await check(pool, model, s.new, 'new side after expand (backfill)');
        const phase = async (side: Authority, cmds: Command<V>[], name: string) => {
          await authority(pool, plan, side);
          await run(pool, s, model, cmds, sides, side);
          await check(pool, model, s.old, `old side, ${name}`);
          await check(pool, model, s.new, `new side, ${name}`);
        };
        await run(pool, s, model, expanded, sides, 'old');
        await check(pool, model, s.old, 'old side, expanded');
        await check(pool, model, s.new, 'new side, expanded');
        await phase('new', switched, 'switched');
        await phase('old', backOff, 'switched back off');
        await authority(pool, plan, 'new');
        await contract(pool, plan);
        const after = s.contracted ?? s.new;
        await check(pool, model, after, 'after contract');
        await run(pool, s, model, contracted.filter((c) => c.side !== 'both'), { old: after, new: after });
        await check(pool, model, after, 'written after contract');
      },
    ),
    { numRuns },
  );
}

/** Abort after expand and writes by both sides: the catalog is the one before, and old code's data is intact. */
export async function abortProperty<V>(pool: pg.Pool, s: Scenario<V>, numRuns = Number(process.env.CURTAIN_RUNS ?? 5)): Promise<void> {
  await fc.assert(
    fc.asyncProperty(commands(s.value, ['old'], 6), commands(s.value, s.both ? ['old', 'new', 'both'] : ['old', 'new']), async (seed, expanded) => {
      const migration = `m${++counter}`;
      await reset(pool, s);
      const model = new Map<number, V>();
      await run(pool, s, model, seed, { old: s.old, new: s.new });
      const before = await catalogSnapshot(pool, s.schema);
      const plan: MigrationPlan = await planMigration(s.operations(), { db: pool, migration, flag: migration, schema: CURTAIN });
      await expand(pool, plan, migration);
      await authority(pool, plan, 'new');
      await run(pool, s, model, expanded, { old: s.old, new: s.new }, 'new');
      await abort(pool, plan);
      expect(await catalogSnapshot(pool, s.schema)).toEqual(before);
      await check(pool, model, s.old, 'old side after abort');
    }),
    { numRuns },
  );
}

async function reset<V>(pool: pg.Pool, s: Scenario<V>) {
  await pool.query(`DROP SCHEMA IF EXISTS ${s.schema} CASCADE; CREATE SCHEMA ${s.schema}; ${s.setup}`);
}

/** Read `SELECT id, <expr> AS v FROM table` into a map. */
export async function readMap<V>(pool: pg.Pool, sql: string, convert: (row: Record<string, unknown>) => V): Promise<Map<number, V>> {
  const { rows } = await pool.query(sql);
  return new Map(rows.map((r) => [Number(r.id), convert(r)]));
}
