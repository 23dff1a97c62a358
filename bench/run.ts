/**
 * `npm run bench`: every figure beside its baseline, measured in the same
 * run on the same machine and server, with ratios. Prints a table (or one
 * JSON document with `--json`) and writes bench/results/<date>.json
 * (`<date>.quick.json` for `--quick`, so a smoke run never overwrites full figures).
 *
 *   npx jiti bench/run.ts [--quick] [--json] [--only zero-downtime,backfill,...]
 *
 * Scenarios (one file each in bench/scenarios/): zero-downtime, backfill,
 * trigger, flag-eval, propagation, snapshot, scale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, USAGE } from './lib/args.js';
import { describeMachine } from './lib/machine.js';
import { renderReport } from './lib/report.js';
import { dropLiveDatabases, REPO_ROOT, startBenchServer } from './lib/server.js';
import { SkipScenario, type BenchContext, type Scenario, type ScenarioOutcome } from './lib/types.js';
import { backfill } from './scenarios/backfill.js';
import { flagEval } from './scenarios/flag-eval.js';
import { propagation } from './scenarios/propagation.js';
import { scale } from './scenarios/scale.js';
import { snapshot } from './scenarios/snapshot.js';
import { trigger } from './scenarios/trigger.js';
import { zeroDowntime } from './scenarios/zero-downtime.js';

const SCENARIOS: Scenario[] = [zeroDowntime, backfill, trigger, flagEval, propagation, snapshot, scale];

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2), process.env);
  if (options.help) {
    process.stdout.write(`${USAGE}\n\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    return 0;
  }
  const unknown = (options.only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const selected = SCENARIOS.filter((s) => !options.only || options.only.includes(s.name));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const machine = describeMachine();
  const started = new Date();
  const server = await startBenchServer(process.env);
  log(`bench: PostgreSQL ${server.serverVersion} (${server.source}); ${machine.cores} cores, ${machine.cpuModel}`);
  const interrupted = async () => {
    log('bench: interrupted, dropping the benchmark databases');
    await dropLiveDatabases();
    await server.release();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const ctx: BenchContext = { options, server, log, shared: new Map() };
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const s of selected) {
      log(`bench: ${s.name} — ${s.title}`);
      const t0 = performance.now();
      try {
        const figures = await s.run(ctx);
        outcomes.push({ name: s.name, title: s.title, status: 'ok', durationMs: performance.now() - t0, figures });
      } catch (err) {
        const skipped = err instanceof SkipScenario;
        log(`bench: ${s.name} ${skipped ? 'skipped' : 'FAILED'}: ${skipped ? (err as Error).message : ((err as Error).stack ?? err)}`);
        outcomes.push({ name: s.name, title: s.title, status: skipped ? 'skipped' : 'failed', reason: (err as Error).message, durationMs: performance.now() - t0, figures: [] });
      }
    }
  } finally {
    await dropLiveDatabases();
    await server.release();
  }

  const mode = options.quick ? 'quick' : 'full';
  const document = {
    date: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    mode,
    scale: options.scale,
    only: options.only ?? null,
    machine,
    server: { source: server.source, version: server.version, serverVersion: server.serverVersion, settings: server.settings },
    scenarios: outcomes,
  };
  const dir = path.join(REPO_ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().slice(0, 10)}${options.quick ? '.quick' : ''}.json`);
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(document)}\n`);
  else process.stdout.write(`${renderReport(machine, server, outcomes, `${mode}${options.scale !== 1 ? `, BENCH_SCALE=${options.scale}` : ''}`)}\nwritten: ${path.relative(process.cwd(), file)}\n`);
  return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  },
);
