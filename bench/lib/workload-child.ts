/**
 * The "application" of the zero-downtime benchmark, in its own process (as
 * an app server would be): several client loops, each on its own
 * connection, send a steady open-loop mix of requests against `orders` —
 * 70 % read by id, 25 % update by id, 5 % insert. Each request asks the
 * flags client which path to take for its subject: old code uses `total`,
 * new code the new column. Meanwhile a sampler polls `pg_stat_activity`
 * every few ms for client backends waiting on a lock.
 *
 * Requests are scheduled at a fixed rate per loop; a request's latency is
 * counted from when it was due, not when the loop got round to sending it,
 * so a stall counts against every request it delays (no coordinated omission).
 *
 * Started by lib/workload.ts with the config as argv[2]; answers `ready`,
 * then on `stop` sends the per-request log and exits.
 */
import pg from 'pg';
import { createFlags, type FlagsClient } from '../../src/flags/index.js';
import { nowMs, rng, sleep } from './clock.js';
import { CUSTOMERS } from './orders.js';
import type { LockSample, RequestLog, WorkloadConfig, WorkloadMessage } from './workload-protocol.js';

const APP = 'bench-app';
const config = JSON.parse(process.argv[2]!) as WorkloadConfig;
const send = (m: WorkloadMessage): Promise<void> => new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));

const log: RequestLog = { due: [], start: [], end: [], ok: [], newPath: [], pid: [] };
const samples: LockSample[] = [];
const errors: Record<string, number> = {};
let stopping = false;
const loops: Promise<void>[] = [];

async function connect(applicationName: string, statementTimeoutMs?: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: config.url, application_name: applicationName, statement_timeout: statementTimeoutMs });
  client.on('error', () => {});
  await client.connect();
  return client;
}

function request(flags: FlagsClient | undefined, random: () => number): { sql: string; params: unknown[]; newPath: boolean } {
  const r = random();
  const id = 1 + Math.floor(random() * config.maxId);
  const customer = 1 + Math.floor(random() * CUSTOMERS);
  const subject = String(r < 0.95 ? id : customer);
  const newPath = config.flag !== undefined && config.newColumn !== undefined && flags!.isEnabled(config.flag, { targetingKey: subject });
  const col = newPath ? config.newColumn! : 'total';
  if (r < 0.7) return { sql: `SELECT id, customer_id, status, ${col} AS total FROM orders WHERE id = $1`, params: [id], newPath };
  if (r < 0.95) return { sql: `UPDATE orders SET ${col} = ${col} + 1 WHERE id = $1`, params: [id], newPath };
  return { sql: `INSERT INTO orders (customer_id, ${col}) VALUES ($1, $2)`, params: [customer, Math.floor(random() * 100_000)], newPath };
}

async function clientLoop(index: number, flags: FlagsClient | undefined, startAt: number): Promise<pg.Client> {
  const client = await connect(APP, config.statementTimeoutMs);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const random = rng(config.seed * 1000 + index);
  const interval = 1000 / config.ratePerClient;
  let due = startAt + (index * interval) / config.clients; // spread the loops over one interval
  const run = async () => {
    while (!stopping) {
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      if (stopping) break;
      const thisDue = due;
      due += interval;
      const q = request(flags, random);
      const start = nowMs();
      let ok = 1;
      try {
        await client.query(q.sql, q.params);
      } catch (err) {
        ok = 0;
        const key = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim().slice(0, 160);
        errors[key] = (errors[key] ?? 0) + 1;
      }
      log.due.push(thisDue);
      log.start.push(start);
      log.end.push(nowMs());
      log.ok.push(ok);
      log.newPath.push(q.newPath ? 1 : 0);
      log.pid.push(pid);
    }
  };
  loops.push(run());
  return client;
}

async function sampler(): Promise<void> {
  const client = await connect('bench-sampler');
  try {
    while (!stopping) {
      const t0 = nowMs();
      const { rows } = await client.query<{ pid: number; running_ms: number; wait_event: string }>(
        `SELECT pid, (extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS running_ms, wait_event
           FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock' AND state = 'active'`,
        [APP],
      );
      const at = (t0 + nowMs()) / 2;
      for (const r of rows) samples.push({ pid: r.pid, at, runningMs: r.running_ms, waitEvent: r.wait_event });
      await sleep(config.sampleMs - (nowMs() - t0));
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<void> {
  const flags =
    config.flag === undefined
      ? undefined
      : await createFlags({ connectionString: config.url, telemetry: false, appName: APP, logger: { warn: () => {} } });
  const sampling = sampler();
  const startAt = nowMs() + 200;
  const clients = await Promise.all(Array.from({ length: config.clients }, (_, i) => clientLoop(i, flags, startAt)));
  process.on('message', async (m: unknown) => {
    if ((m as { type?: string }).type !== 'stop') return;
    stopping = true;
    await Promise.all(loops);
    await sampling.catch(() => {});
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await flags?.close();
    await send({ type: 'result', requests: log, samples, errors });
    process.disconnect();
  });
  await send({ type: 'ready' });
}

main().catch(async (err: Error) => {
  await send({ type: 'fatal', message: err.stack ?? err.message });
  process.exit(1);
});
