/**
 * Abort from `switched` while new code writes: the flag goes off in its own
 * transaction, abort waits until every live flags client has loaded that
 * version (telemetry), and only then drops B. No request of the new code may
 * fail: before it sees the flag off it writes B (still there), after it
 * writes A. Old code writes A throughout.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlags, type FlagsClient } from '../../src/flags/client.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { sleep } from '../support/resilience.js';

const FLAG = 'abort.load';
const ROWS = 2_000;

class Writer {
  readonly errors: string[] = [];
  readonly writes = { old: 0, new: 0 };
  /** Last value written per row id, and which path wrote it. */
  readonly last = new Map<number, { customer: string; path: 'old' | 'new' }>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly client: pg.Client;
  private n = 0;

  constructor(
    url: string,
    private readonly slot: number,
    private readonly flags: FlagsClient | undefined,
  ) {
    this.client = new pg.Client({ connectionString: url, application_name: `abort writer ${slot}` });
    this.client.on('error', (e) => this.errors.push(`connection: ${e.message}`));
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.client.end().catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // Each writer owns the ids ≡ slot (mod 3).
      const id = 3 * ((this.n++ * 7) % Math.floor(ROWS / 3)) + this.slot + 1;
      const path = this.flags?.isEnabled(FLAG, { targetingKey: String(id) }) ? 'new' : 'old';
      const customer = `${path}${this.slot}-${this.n}`;
      try {
        if (path === 'new') await this.client.query(`UPDATE orders SET customer_name = $2, label = $3 WHERE id = $1`, [id, customer, `L${this.n}`]);
        else await this.client.query(`UPDATE orders SET customer = $2 WHERE id = $1`, [id, customer]);
        this.writes[path]++;
        this.last.set(id, { customer, path });
      } catch (err) {
        this.errors.push(`${path} path, id ${id}: ${(err as Error).message}`);
      }
      await sleep(2);
    }
  }
}

describe('abort from switched under load', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  const project = tempProject();
  const flagClients: FlagsClient[] = [];
  const writers: Writer[] = [];
  const cli = async (...args: string[]) => {
    const r = await migrate(['--yes', ...args], { cwd: project.dir, databaseUrl: tdb.url });
    expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };

  beforeAll(async () => {
    tdb = await createTestDatabase('abortload');
    pool = new pg.Pool({ connectionString: tdb.url, max: 2 });
    await pool.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL);
                      INSERT INTO orders SELECT i, 'seed' || i FROM generate_series(1, ${ROWS}) i;`);
    project.write(
      'migrations/20240101000000_rename_customer.ts',
      migrationSource(
        `export default defineMigration({
  flag: '${FLAG}',
  operations: [op.renameColumn('orders', 'customer', 'customer_name'), op.addColumn('orders', { name: 'label', type: 'text' })],
});`,
        'defineMigration, op',
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await Promise.all(flagClients.map((f) => f.close()));
    await pool?.end();
    await tdb?.drop();
  });

  it('turns the flag off, waits for every live client, then drops B: zero failed requests', async () => {
    await cli('expand');
    await cli('switch', 'rename_customer');
    // Two new-code processes' worth of clients that learn of changes only by polling (as behind a
    // transaction pooler), so they keep seeing the flag on for up to a second after abort turns it off.
    for (let i = 0; i < 2; i++) {
      flagClients.push(
        await createFlags({ connectionString: tdb.url, appName: `new-code-${i}`, listen: false, pollIntervalMs: 1000, telemetry: { flushIntervalMs: 300 }, logger: { warn() {} } }),
      );
    }
    writers.push(new Writer(tdb.url, 0, undefined), new Writer(tdb.url, 1, flagClients[0]), new Writer(tdb.url, 2, flagClients[1]));
    await Promise.all(writers.map((w) => w.start()));
    // Wait on observed state: both new-code writers write B and both clients are live in telemetry.
    for (;;) {
      const live = (await pool.query(`SELECT count(*)::int AS n FROM curtain.clients WHERE app_name LIKE 'new-code-%'`)).rows[0].n;
      if (writers[1]!.writes.new > 50 && writers[2]!.writes.new > 50 && live === 2) break;
      expect(writers.flatMap((w) => w.errors)).toEqual([]);
      await sleep(50);
    }

    const newBefore = writers.map((w) => w.writes.new);
    const r = await cli('abort', 'rename_customer', '--json');
    const oldAfterAbort = writers.map((w) => w.writes.old);
    // Keep writing a little after B is gone: the new code is on the old path now.
    while (writers[1]!.writes.old <= oldAfterAbort[1]! + 20 || writers[2]!.writes.old <= oldAfterAbort[2]! + 20) await sleep(20);
    await Promise.all(writers.map((w) => w.stop()));

    expect(writers.flatMap((w) => w.errors)).toEqual([]);
    // The new code did write B during the abort window, then A.
    expect(writers[1]!.writes.new).toBeGreaterThan(newBefore[1]!);
    expect(writers[1]!.writes.old).toBeGreaterThan(0);
    expect(r.json().migrations?.[0]?.to ?? r.json().to).toMatch(/pending|aborted/);
    const cols = (await pool.query(`SELECT array_agg(attname::text ORDER BY attnum) AS c FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped`)).rows[0].c;
    expect(cols).toEqual(['id', 'customer']);
    const flag = (await pool.query(`SELECT enabled FROM curtain.flags WHERE key = $1`, [FLAG])).rows[0];
    expect(flag?.enabled ?? false).toBe(false);
    // Every acknowledged write is in A, whichever path wrote it (B's writes were copied to A by the trigger).
    const rows = new Map<number, string>((await pool.query(`SELECT id::int, customer FROM orders`)).rows.map((x) => [x.id, x.customer]));
    const lost = writers.flatMap((w) => [...w.last].filter(([id, v]) => rows.get(id) !== v.customer).map(([id, v]) => `${id}: ${v.customer} ≠ ${rows.get(id)}`));
    expect(lost).toEqual([]);
  });
});
