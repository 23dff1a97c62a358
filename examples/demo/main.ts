/**
 * `npm start`: the zero-downtime story, end to end. A shop runs on the
 * embedded PostgreSQL (or DATABASE_URL) with old-code and new-code requests
 * in flight, while every migration in migrations/ goes expand → switch 50 %
 * → switch 100 % → contract. Every request is counted; none may fail.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pc from 'picocolors';
import { loadConfig } from '../../src/config.js';
import { openProjectDatabase } from '../../src/db/open.js';
import { quoteIdent } from '../../src/db/identifiers.js';
import { GuardRefusal } from '../../src/errors.js';
import { createFlags } from '../../src/flags/index.js';
import { loadMigration } from '../../src/migration/loader.js';
import { createMigrator } from '../../src/migration/migrator.js';
import { ShopApp } from './app.js';
import { seedShop } from './schema.js';
import { newPhase, type PhaseStats } from './stats.js';
import { LiveView } from './view.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USERS = Number(process.env.DEMO_USERS ?? 20_000);
const ORDERS = Number(process.env.DEMO_ORDERS ?? 100_000);
const WORKERS = Number(process.env.DEMO_WORKERS ?? 6);
const SOAK_MS = Number(process.env.DEMO_SOAK_MS ?? 1500);
const DEMO_DB = 'curtain_demo';

const view = new LiveView();
const config = await loadConfig({ cwd: root });
const server = await openProjectDatabase(config, { announce: (line) => console.log(pc.dim(line)) });
let exitCode = 0;
try {
  await server.pool.query(`DROP DATABASE IF EXISTS ${quoteIdent(DEMO_DB)} WITH (FORCE)`);
  await server.pool.query(`CREATE DATABASE ${quoteIdent(DEMO_DB)}`);
  const url = new URL(server.url);
  url.pathname = `/${DEMO_DB}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: WORKERS + 4 });
  pool.on('error', () => {});

  console.log(`seeding the shop: ${USERS} users, ${ORDERS} orders ...`);
  await seedShop(pool, { users: USERS, orders: ORDERS });

  let current: PhaseStats | undefined;
  const migrator = await createMigrator({
    pool,
    cwd: root,
    actor: 'demo',
    reporter: {
      backfill: (_m, p) => {
        if (p.rowsTotal && p.rowsDone >= p.rowsTotal) view.note(`backfilled ${p.table}: ${p.rowsDone} rows at ${Math.round(p.rowsPerSecond)} rows/s`);
      },
      step: (_m, e) => {
        if (e.type === 'retry') view.note(`${e.step.description}: ${e.reason}, retrying`);
      },
    },
  });
  const flags = await createFlags({ connectionString: url.toString(), appName: 'curtain-demo', logger: { warn: () => {} } });
  const app = new ShopApp(pool, flags, USERS);

  // The application: WORKERS loops of back-to-back requests for random users.
  let running = true;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (running) {
      const userId = 1 + Math.floor(Math.random() * USERS);
      const phase = current;
      const path = phase && flags.isEnabled(phase.flag, { targetingKey: String(userId) }) ? 'new' : 'old';
      const t0 = performance.now();
      let error: unknown;
      try {
        await app.request(userId, Math.floor(Math.random() * 1000));
      } catch (err) {
        error = err;
      }
      phase?.[path].record(performance.now() - t0, error);
    }
  });

  const entries = (await migrator.status()).filter((e) => e.file);
  const phases: PhaseStats[] = [];
  const ticker = setInterval(() => view.render(current, phases.length ? entries.findIndex((e) => e.name === current?.migration) + 1 : 0, entries.length), 150);
  const soak = () => new Promise((r) => setTimeout(r, SOAK_MS));
  const step = async (migration: string, flag: string, phase: string, action: () => Promise<unknown>, wait = true) => {
    current = newPhase(migration, flag, phase);
    phases.push(current);
    await action();
    if (wait) await soak();
    current.ended = Date.now();
    view.endPhase(current);
  };

  // A code migration's contract refuses while the source still has the old path:
  // the demo cannot delete its own code, so it shows the refusal and overrides it.
  const contractShowingGuards = async (name: string) => {
    try {
      // The telemetry guard decides on evidence: wait until every client has reported the switch.
      await migrator.contract(name, { waitMs: 60_000 });
    } catch (err) {
      if (!(err instanceof GuardRefusal) || err.guard !== 'code-references') throw err;
      view.note(`contract refused by guard code-references (the old path is still in examples/demo/app.ts); forcing it for the demo`);
      await migrator.contract(name, { force: ['code-references'], waitMs: 60_000 });
    }
  };

  for (const entry of entries) {
    const { flag } = await loadMigration(entry.file!);
    await step(entry.name, flag, 'expand', () => migrator.expand(entry.name));
    await step(entry.name, flag, 'switch 50%', () => migrator.switch(entry.name, { percent: 50 }));
    await step(entry.name, flag, 'switch 100%', () => migrator.switch(entry.name));
    await step(entry.name, flag, 'contract', () => contractShowingGuards(entry.name), false);
  }
  running = false;
  await Promise.all(workers);
  clearInterval(ticker);

  const summary = new Map<string, { old: number; new: number; failed: number; p99: number; errors: Set<string> }>();
  for (const p of phases) {
    const s = summary.get(p.migration) ?? { old: 0, new: 0, failed: 0, p99: 0, errors: new Set<string>() };
    s.old += p.old.total;
    s.new += p.new.total;
    s.failed += p.old.failed + p.new.failed;
    s.p99 = Math.max(s.p99, p.old.percentile(99), p.new.percentile(99));
    for (const e of [p.old.lastError, p.new.lastError]) if (e) s.errors.add(e);
    summary.set(p.migration, s);
  }
  const final = await migrator.status();
  console.log(`\n${pc.bold('summary')}`);
  console.log(`${'migration'.padEnd(40)} ${'phase'.padEnd(11)} ${'old req'.padStart(8)} ${'new req'.padStart(8)} ${'failed'.padStart(7)} ${'p99'.padStart(9)}`);
  let failed = 0;
  for (const e of final) {
    const s = summary.get(e.name);
    failed += s?.failed ?? 0;
    console.log(
      `${e.name.padEnd(40)} ${e.phase.padEnd(11)} ${String(s?.old ?? 0).padStart(8)} ${String(s?.new ?? 0).padStart(8)} ${String(s?.failed ?? 0).padStart(7)} ${`${(s?.p99 ?? 0).toFixed(1)}ms`.padStart(9)}`,
    );
    for (const err of s?.errors ?? []) console.log(pc.red(`    ${err}`));
  }
  const allContracted = final.every((e) => e.phase === 'contracted');
  const total = phases.reduce((n, p) => n + p.old.total + p.new.total, 0);
  console.log(
    `\n${allContracted ? pc.green('every migration contracted') : pc.red('not every migration contracted')}; ${total} requests, ${failed === 0 ? pc.green('0 failed') : pc.red(`${failed} failed`)}`,
  );
  if (!allContracted || failed > 0) exitCode = 1;
  await flags.close();
  await migrator.close();
  await pool.end();
} catch (err) {
  console.error(pc.red(`demo failed: ${(err as Error).message}`));
  exitCode = 1;
} finally {
  await server.close();
}
process.exit(exitCode);
