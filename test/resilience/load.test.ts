/**
 * Load while migrating: old-code and new-code writers run during the whole
 * lifecycle of a multi-operation migration on two tables
 * (expand → switch 50 % → 100 % → off → on → contract), each on its own
 * connection, and every write must succeed and survive.
 *
 * - Old code (OLD_WRITERS loops) knows only the old representation and stops
 *   before contract (contract removes what it uses).
 * - New code (NEW_WRITERS loops) asks a flags client, per subject (the row
 *   id), whether the flag is on: if so it writes the new representation,
 *   else the old one. It keeps running through contract and after.
 * - Each loop owns its rows (ids ≡ loop mod LOOPS) and logs a write (insert,
 *   update, delete) only once it is acknowledged, so "the last acknowledged
 *   write" of every row is known.
 * - After every command the writers are paused and every row of both tables
 *   is checked: every logged row holds its last acknowledged write in every
 *   representation that exists (old and new columns while both exist, the
 *   new ones after contract), deleted rows are gone, no unlogged row
 *   appeared, and seeded rows nobody touched still hold their seeded value.
 * - Every writer error is a failure and is reported.
 *
 * Sizes: LOAD_ORDERS / LOAD_CUSTOMERS (defaults 3000 / 600; RESILIENCE_FULL=1: 50000 / 10000).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlags, type FlagsClient } from '../../src/flags/client.js';
import { migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { envInt, FULL, prng, quietPool, sleep, startMigrate } from '../support/resilience.js';

const ORDERS = envInt('LOAD_ORDERS', FULL ? 50_000 : 3_000);
const CUSTOMERS = envInt('LOAD_CUSTOMERS', FULL ? 10_000 : 600);
const OLD_WRITERS = 2;
const NEW_WRITERS = 2;
const LOOPS = OLD_WRITERS + NEW_WRITERS;
const WRITER_BASE = 1_000_000;
const FLAG = 'load.multi';
const SEED = envInt('LOAD_SEED', 7);

const MIGRATION = migrationSource(
  `export default defineMigration({
  flag: '${FLAG}',
  description: 'orders: label, customer -> customer_name, total -> amount bigint; customers: email -> email_address, score -> score_num numeric',
  operations: [
    op.addColumn('orders', { name: 'label', type: 'text', up: sql\`upper(customer)\` }),
    op.renameColumn('orders', 'customer', 'customer_name'),
    op.alterColumn('orders', 'total', { type: 'bigint', name: 'amount', up: sql\`total::bigint\`, down: sql\`amount::integer\` }),
    op.renameColumn('customers', 'email', 'email_address'),
    op.alterColumn('customers', 'score', { type: 'numeric', name: 'score_num', up: sql\`score::numeric\`, down: sql\`score_num::integer\` }),
  ],
});`,
  'defineMigration, op, sql',
);

const SETUP = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL DEFAULT 'anon', total integer, status text NOT NULL DEFAULT 'open');
CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text, score integer);
INSERT INTO orders (id, customer, total, status) SELECT i, 'c' || (i % 97), CASE WHEN i % 11 = 0 THEN NULL ELSE i * 3 END, 'seed' FROM generate_series(1, ${ORDERS}) i;
INSERT INTO customers SELECT i, 'name ' || i, 'u' || i || '@example.com', i % 50 FROM generate_series(1, ${CUSTOMERS}) i;
ANALYZE;
`;

type Path = 'old' | 'new';
type Representation = 'both' | 'new-only';

interface OrderWrite {
  kind: 'order';
  path: Path;
  deleted?: boolean;
  customer: string;
  total: number | null;
  /** Written by new code; else derived (upper(customer)). */
  label?: string;
}
interface CustomerWrite {
  kind: 'customer';
  path: Path;
  name: string;
  email: string | null;
  score: number | null;
}

class Writer {
  readonly orders = new Map<number, OrderWrite>();
  readonly customers = new Map<number, CustomerWrite>();
  readonly errors: string[] = [];
  readonly writes: Record<Path, number> = { old: 0, new: 0 };
  private stopped = false;
  private paused = false;
  private parked: (() => void) | undefined;
  private resume: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private client: pg.Client;
  private nextInsert = 0;
  private readonly rng;

  constructor(
    private readonly url: string,
    readonly code: 'old' | 'new',
    private readonly slot: number,
    private readonly flags: FlagsClient | undefined,
  ) {
    this.rng = prng(SEED * 1000 + slot);
    this.client = new pg.Client({ connectionString: url, application_name: `load writer ${slot} (${code} code)` });
    this.client.on('error', (e) => this.errors.push(`connection: ${e.message}`));
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.loop = this.run();
  }

  /** Wait until the loop is between two writes, and keep it there. */
  pause(): Promise<void> {
    this.paused = true;
    return new Promise((r) => (this.parked = r));
  }

  unpause(): void {
    this.paused = false;
    this.resume?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unpause();
    await this.loop;
    await this.client.end().catch(() => {});
  }

  private owned(max: number): number {
    // A seeded row this loop owns: ids ≡ slot (mod LOOPS).
    return LOOPS * this.rng.int(0, Math.floor((max - 1 - this.slot) / LOOPS)) + this.slot || LOOPS + this.slot;
  }

  private path(id: number): Path {
    if (this.code === 'old') return 'old';
    return this.flags!.isEnabled(FLAG, { targetingKey: String(id) }) ? 'new' : 'old';
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        await new Promise<void>((r) => {
          this.resume = r;
          this.parked?.();
        });
        continue;
      }
      try {
        await this.step();
      } catch (err) {
        this.errors.push((err as Error).message);
      }
      await sleep(this.rng.int(0, 4));
    }
    this.parked?.();
  }

  private async step(): Promise<void> {
    const r = this.rng.int(0, 99);
    const q = (sql: string, values: unknown[]) =>
      this.client.query(sql, values).catch((err: Error & { code?: string }) => {
        throw new Error(`${sql.split(' ').slice(0, 3).join(' ')} ... ${JSON.stringify(values)}: ${err.message}${err.code ? ` [${err.code}]` : ''}`);
      });
    if (r < 65) {
      // orders: insert 20 %, delete 5 %, update the rest
      const insert = r < 13;
      const del = !insert && r < 16;
      const id = insert ? WRITER_BASE + LOOPS * this.nextInsert++ + this.slot : this.pickOrder();
      if (id === undefined) return;
      const path = this.path(id);
      if (del) {
        await q(`DELETE FROM orders WHERE id = $1`, [id]);
        this.orders.set(id, { kind: 'order', path, deleted: true, customer: '', total: null });
        this.writes[path]++;
        return;
      }
      const w: OrderWrite = {
        kind: 'order',
        path,
        customer: `${path}${this.slot}-${this.rng.int(0, 9999)}`,
        total: this.rng.int(0, 7) === 0 ? null : this.rng.int(-1_000_000, 1_000_000),
      };
      if (path === 'old') {
        if (insert) await q(`INSERT INTO orders (id, customer, total) VALUES ($1, $2, $3)`, [id, w.customer, w.total]);
        else await q(`UPDATE orders SET customer = $2, total = $3 WHERE id = $1`, [id, w.customer, w.total]);
      } else {
        w.label = `L-${this.rng.int(0, 99999)}`;
        if (insert) await q(`INSERT INTO orders (id, customer_name, amount, label) VALUES ($1, $2, $3, $4)`, [id, w.customer, w.total, w.label]);
        else await q(`UPDATE orders SET customer_name = $2, amount = $3, label = $4 WHERE id = $1`, [id, w.customer, w.total, w.label]);
      }
      this.orders.set(id, w);
      this.writes[path]++;
    } else {
      const insert = r < 72;
      const id = insert ? WRITER_BASE + LOOPS * this.nextInsert++ + this.slot : this.owned(CUSTOMERS + 1);
      const path = this.path(id);
      const w: CustomerWrite = {
        kind: 'customer',
        path,
        name: `n${this.rng.int(0, 9999)}`,
        email: this.rng.int(0, 5) === 0 ? null : `${path}${this.rng.int(0, 9999)}@x.org`,
        score: this.rng.int(0, 5) === 0 ? null : this.rng.int(-500, 500),
      };
      if (path === 'old') {
        if (insert) await q(`INSERT INTO customers (id, name, email, score) VALUES ($1, $2, $3, $4)`, [id, w.name, w.email, w.score]);
        else await q(`UPDATE customers SET name = $2, email = $3, score = $4 WHERE id = $1`, [id, w.name, w.email, w.score]);
      } else {
        if (insert) await q(`INSERT INTO customers (id, name, email_address, score_num) VALUES ($1, $2, $3, $4)`, [id, w.name, w.email, w.score]);
        else await q(`UPDATE customers SET name = $2, email_address = $3, score_num = $4 WHERE id = $1`, [id, w.name, w.email, w.score]);
      }
      this.customers.set(id, w);
      this.writes[path]++;
    }
  }

  /** An order this loop owns that still exists (seeded or inserted by it). */
  private pickOrder(): number | undefined {
    for (let i = 0; i < 10; i++) {
      const inserted = [...this.orders.entries()].filter(([id, w]) => id >= WRITER_BASE && !w.deleted);
      const id = this.rng.int(0, 1) === 0 && inserted.length > 0 ? inserted[this.rng.int(0, inserted.length - 1)]![0] : this.owned(ORDERS + 1);
      if (!this.orders.get(id)?.deleted) return id;
    }
    return undefined;
  }
}

describe('load while migrating: old and new code write through the whole lifecycle', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  const project = tempProject();
  project.write('migrations/20260101000000_load.ts', MIGRATION);
  const flagClients: FlagsClient[] = [];
  /** Every writer that ran (their logs), and the ones still running. */
  const writers: Writer[] = [];
  let active: Writer[] = [];
  const log: string[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('load');
    pool = quietPool(tdb.url, 3);
    await pool.query(SETUP);
  });
  afterAll(async () => {
    await Promise.all(active.map((w) => w.stop()));
    await Promise.all(flagClients.map((f) => f.close()));
    await pool?.end();
    await tdb?.drop();
  });

  const cli = async (...args: string[]) => {
    const r = await startMigrate(['--lock-wait', '60s', ...args], { cwd: project.dir, databaseUrl: tdb.url }).done;
    log.push(`migrate ${args.join(' ')} → ${r.code}`);
    expect(r.code, `migrate ${args.join(' ')}:\n${r.stderr}`).toBe(0);
  };

  /** Pause every writer, check every row, resume. */
  const checkpoint = async (what: string, representation: Representation) => {
    await Promise.all(active.map((w) => w.pause()));
    try {
      const errors = writers.flatMap((w) => w.errors.map((e) => `writer ${w.code}: ${e}`));
      const problems = await checkRows(pool, writers, representation);
      expect({ failedWrites: errors.slice(0, 20), lostOrInconsistent: problems.slice(0, 20), counts: [errors.length, problems.length] }, what).toEqual({
        failedWrites: [],
        lostOrInconsistent: [],
        counts: [0, 0],
      });
    } finally {
      active.forEach((w) => w.unpause());
    }
  };

  it('zero failed writes and zero lost or inconsistent rows across expand → 50 % → 100 % → off → on → contract', async () => {
    for (let i = 0; i < NEW_WRITERS; i++) {
      const flags = await createFlags({ connectionString: tdb.url, telemetry: false, pollIntervalMs: 500, logger: { warn() {} } });
      flagClients.push(flags);
    }
    for (let slot = 0; slot < LOOPS; slot++) {
      const code = slot < OLD_WRITERS ? 'old' : 'new';
      const w = new Writer(tdb.url, code, slot, code === 'new' ? flagClients[slot - OLD_WRITERS] : undefined);
      await w.start();
      writers.push(w);
    }
    active = [...writers];
    await sleep(200);
    await checkpoint('before expand', 'old-only' as Representation);

    await cli('expand', '--batch-size', '200', '--batch-delay', '5ms');
    await checkpoint('expanded', 'both');
    await cli('switch', 'load', '--percent', '50');
    await sleep(300);
    await checkpoint('switched 50 %', 'both');
    await cli('switch', 'load');
    await sleep(300);
    await checkpoint('switched 100 %', 'both');
    await cli('switch', 'load', '--off');
    await sleep(300);
    await checkpoint('switched back off', 'both');
    await cli('switch', 'load');
    await sleep(300);
    await checkpoint('switched on again', 'both');

    // Old code is retired before contract removes what it uses.
    const old = writers.filter((w) => w.code === 'old');
    await Promise.all(old.map((w) => w.stop()));
    active = writers.filter((w) => w.code === 'new');
    await cli('contract', 'load');
    await sleep(300);
    await checkpoint('contracted', 'new-only');

    const all = writers;
    const byPath = { old: all.reduce((n, w) => n + w.writes.old, 0), new: all.reduce((n, w) => n + w.writes.new, 0) };
    process.stderr.write(`load: ${byPath.old} old-path and ${byPath.new} new-path acknowledged writes; ${log.join(', ')}\n`);
    // Both code paths really wrote (otherwise the test proves nothing).
    expect(byPath.old).toBeGreaterThan(50);
    expect(byPath.new).toBeGreaterThan(50);
  }, 600_000);
});

/** Compare every row of both tables with the writers' logs (and seeded rows with their seed). */
async function checkRows(pool: pg.Pool, writers: Writer[], rep: Representation | 'old-only'): Promise<string[]> {
  const problems: string[] = [];
  const orders = new Map<number, OrderWrite>();
  const customers = new Map<number, CustomerWrite>();
  for (const w of writers) {
    for (const [id, v] of w.orders) orders.set(id, v);
    for (const [id, v] of w.customers) customers.set(id, v);
  }
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const { rows: orderRows } = await pool.query(`SELECT to_jsonb(o) AS r FROM orders o ORDER BY id`);
  const seenOrders = new Set<number>();
  for (const { r } of orderRows) {
    const id = Number(r.id);
    seenOrders.add(id);
    const w = orders.get(id);
    let want: { customer: string; total: number | null; label?: string };
    if (w?.deleted) {
      problems.push(`orders ${id}: deleted (acknowledged) but present`);
      continue;
    } else if (w) want = { customer: w.customer, total: w.total, label: w.label ?? w.customer.toUpperCase() };
    else if (id >= WRITER_BASE) {
      problems.push(`orders ${id}: present but no acknowledged insert`);
      continue;
    } else want = { customer: `c${id % 97}`, total: id % 11 === 0 ? null : id * 3, label: `C${id % 97}` };
    const got: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    if (rep !== 'new-only') Object.assign(got, { customer: r.customer, total: num(r.total) }), Object.assign(expected, { customer: want.customer, total: want.total });
    if (rep !== 'old-only') {
      Object.assign(got, { customer_name: r.customer_name, amount: num(r.amount), label: r.label });
      Object.assign(expected, { customer_name: want.customer, amount: want.total, label: want.label });
    }
    if (rep === 'new-only' && ('customer' in r || 'total' in r)) problems.push(`orders ${id}: old columns still present after contract`);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      problems.push(`orders ${id} (last write: ${w ? `${w.path} path` : 'seed'}): ${JSON.stringify(got)} ≠ ${JSON.stringify(expected)}`);
    }
  }
  for (const [id, w] of orders) if (!w.deleted && !seenOrders.has(id)) problems.push(`orders ${id}: acknowledged ${w.path}-path write lost (row missing)`);
  for (let id = 1; id <= ORDERS; id++) if (!orders.has(id) && !seenOrders.has(id)) problems.push(`orders ${id}: seeded row missing`);

  const { rows: customerRows } = await pool.query(`SELECT to_jsonb(c) AS r FROM customers c ORDER BY id`);
  const seenCustomers = new Set<number>();
  for (const { r } of customerRows) {
    const id = Number(r.id);
    seenCustomers.add(id);
    const w = customers.get(id);
    if (!w && id >= WRITER_BASE) {
      problems.push(`customers ${id}: present but no acknowledged insert`);
      continue;
    }
    const want = w ?? { name: `name ${id}`, email: `u${id}@example.com`, score: id % 50, path: 'seed' };
    const got: Record<string, unknown> = { name: r.name };
    const expected: Record<string, unknown> = { name: want.name };
    if (rep !== 'new-only') Object.assign(got, { email: r.email, score: num(r.score) }), Object.assign(expected, { email: want.email, score: want.score });
    if (rep !== 'old-only') {
      Object.assign(got, { email_address: r.email_address, score_num: num(r.score_num) });
      Object.assign(expected, { email_address: want.email, score_num: want.score });
    }
    if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`customers ${id} (last write: ${want.path}): ${JSON.stringify(got)} ≠ ${JSON.stringify(expected)}`);
  }
  for (const [id, w] of customers) if (!seenCustomers.has(id)) problems.push(`customers ${id}: acknowledged ${w.path}-path write lost (row missing)`);
  return problems;
}

describe('contract after new code wrote its own value into an added column', () => {
  let tdb: TestDatabase;
  const project = tempProject();
  project.write(
    'migrations/20260101000000_note.ts',
    migrationSource(
      `export default defineMigration({ flag: 'things.note', operations: [op.addColumn('things', { name: 'note', type: 'text', up: sql\`upper(name)\` })] });`,
      'defineMigration, op, sql',
    ),
  );
  beforeAll(async () => {
    tdb = await createTestDatabase('guard');
  });
  afterAll(() => tdb?.drop());

  // An added column has no old representation: old code never writes it, `up` only fills it for
  // rows old code writes (and the backfill), and the trigger keeps whatever new code writes
  // (there is no `down`). The contract guard "verification" re-counts rows where note differs
  // from up(name) and refuses (exit 3) as soon as new code wrote any note of its own.
  it('contract is not refused because new code wrote its own value into an added column (no down)', async () => {
    const pool = quietPool(tdb.url, 1);
    try {
      await pool.query(`CREATE TABLE things (id bigint PRIMARY KEY, name text); INSERT INTO things SELECT i, 'n' || i FROM generate_series(1, 10) i`);
      const run = (...args: string[]) => startMigrate(args, { cwd: project.dir, databaseUrl: tdb.url }).done;
      expect((await run('expand')).code).toBe(0);
      expect((await run('switch', 'note')).code).toBe(0);
      await pool.query(`UPDATE things SET note = 'reviewed by new code' WHERE id = 1`);
      await pool.query(`INSERT INTO things (id, name, note) VALUES (11, 'n11', 'written by new code')`);
      const r = await run('contract', 'note');
      expect(r.code, r.stderr).toBe(0);
      const { rows } = await pool.query(`SELECT id, note FROM things WHERE id IN (1, 2, 11) ORDER BY id`);
      expect(rows).toEqual([
        { id: 1, note: 'reviewed by new code' },
        { id: 2, note: 'N2' },
        { id: 11, note: 'written by new code' },
      ]);
    } finally {
      await pool.end();
    }
  });
});

describe('a stale new-code instance right after "switch --off"', () => {
  let tdb: TestDatabase;
  const project = tempProject();
  project.write(
    'migrations/20260101000000_label.ts',
    migrationSource(
      `export default defineMigration({ flag: 'items.label', operations: [op.addColumn('items', { name: 'label', type: 'text', up: sql\`'item-' || id::text\` })] });`,
      'defineMigration, op, sql',
    ),
  );
  beforeAll(async () => {
    tdb = await createTestDatabase('stale');
  });
  afterAll(() => tdb?.drop());

  // The flag was just turned off; a new-code instance has not seen it yet and inserts a row with
  // the new column. Old code never writes `label` (it does not know it), so the value can only
  // come from new code and must be kept. The trigger counts the primary key `id` (read by `up`)
  // as "the old side was supplied", decides both sides were written, and the old authority
  // replaces the label with up(row): the acknowledged write is lost.
  it('keeps the value a new-code INSERT wrote into an added column whose up expression reads the primary key', async () => {
    const pool = quietPool(tdb.url, 1);
    try {
      await pool.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text); INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 10) i`);
      const run = async (...args: string[]) => {
        const r = await startMigrate(args, { cwd: project.dir, databaseUrl: tdb.url }).done;
        expect(r.code, r.stderr).toBe(0);
      };
      await run('expand');
      await run('switch', 'label');
      await pool.query(`INSERT INTO items (id, name, label) VALUES (100, 'while on', 'mine-100')`);
      await run('switch', 'label', '--off');
      await pool.query(`INSERT INTO items (id, name, label) VALUES (101, 'stale client', 'mine-101')`);
      await pool.query(`UPDATE items SET label = 'mine-1' WHERE id = 1`);
      const { rows } = await pool.query(`SELECT id, label FROM items WHERE id IN (1, 100, 101) ORDER BY id`);
      expect(rows).toEqual([
        { id: 1, label: 'mine-1' },
        { id: 100, label: 'mine-100' },
        { id: 101, label: 'mine-101' },
      ]);
    } finally {
      await pool.end();
    }
  });
});
