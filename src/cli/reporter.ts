import cliProgress from 'cli-progress';
import { describeBlocker } from '../backfill/blockers.js';
import { formatDuration } from '../duration.js';
import { terminalSafe } from '../text/control.js';
import type { LifecycleReporter } from '../migration/context.js';
import type { Output } from './output.js';

/**
 * Render lifecycle progress for people: one line per step on stderr, and for
 * backfills a progress bar on a TTY or a line every few seconds elsewhere.
 */
export function cliReporter(out: Output, options: { verbose?: boolean } = {}): LifecycleReporter & { finish(): void } {
  const c = out.color;
  let bar: cliProgress.SingleBar | undefined;
  let barTable = '';
  let lastLine = 0;
  let lastShown = '';
  let lastBlocker = '';
  let lastBlockerLine = 0;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    phase(migration, message) {
      stopBar();
      out.info(`${c.cyan('›')} ${migration}: ${message}`);
    },
    step(_migration, e) {
      const bookkeeping = e.step.kind === 'bookkeeping' && !options.verbose;
      if (e.type === 'done' && !bookkeeping) out.info(`  ${c.green('✓')} ${e.step.description} ${c.dim(`(${formatDuration(e.durationMs)}${e.attempts > 1 ? `, ${e.attempts} attempts` : ''})`)}`);
      else if (e.type === 'retry') out.info(`  ${c.yellow('↻')} ${bookkeeping ? 'waiting for the table lock' : e.step.description}: ${e.reason}, retrying in ${formatDuration(e.delayMs)} (attempt ${e.attempt})`);
      else if (e.type === 'autovacuum') {
        const { pid, cancelled, why } = e.conflict;
        const activity = terminalSafe(e.conflict.activity, { singleLine: true });
        out.info(
          cancelled
            ? `  ${c.yellow('↻')} ${e.step.description}: cancelled ${activity || 'autovacuum'} (pid ${pid}), which held the table; PostgreSQL starts it again later`
            : `  ${c.yellow('!')} ${e.step.description}: ${activity || 'autovacuum'} (pid ${pid}) holds the table and could not be cancelled: ${why}`,
        );
      } else if (e.type === 'skip' && options.verbose && !bookkeeping) out.info(`  ${c.dim(`- ${e.step.description} (already done)`)}`);
    },
    backfill(_migration, p) {
      if (p.waitingFor) {
        // A line of its own, when the blocker changes or every 10 s: the user can act on it (or wait).
        const who = describeBlocker(p.waitingFor);
        const now = Date.now();
        if (who === lastBlocker && now - lastBlockerLine < 10_000) return;
        lastBlocker = who;
        lastBlockerLine = now;
        stopBar();
        out.info(`  ${c.yellow('⏸')} backfill ${p.table}: waiting ${formatDuration(p.waitingFor.waitedMs)} for row locks held by ${who}`);
        return;
      }
      lastBlocker = '';
      if (p.throttled) {
        stopBar();
        out.info(`  ${c.yellow('⏸')} backfill ${p.table}: ${p.throttled}, ${p.rowsDone}/${p.rowsTotal} rows so far`);
        return;
      }
      if (out.interactive) {
        if (!bar || barTable !== p.table) {
          stopBar();
          barTable = p.table;
          bar = new cliProgress.SingleBar(
            { format: `  backfill ${p.table} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(p.rowsTotal ?? p.rowsDone, p.rowsDone, 1), p.rowsDone, { rate: 0 });
        }
        bar.setTotal(Math.max(p.rowsTotal ?? p.rowsDone, p.rowsDone, 1));
        bar.update(p.rowsDone, { rate: Math.round(p.rowsPerSecond) });
        return;
      }
      const now = Date.now();
      const finished = p.rowsTotal !== null && p.rowsDone >= p.rowsTotal;
      const line = `${p.table}:${p.rowsDone}`;
      if ((now - lastLine < 2000 && !finished) || line === lastShown) return;
      lastLine = now;
      lastShown = line;
      const eta = p.etaSeconds === null ? '' : `, ETA ${formatDuration(p.etaSeconds * 1000)}`;
      out.info(`  backfill ${p.table}: ${p.rowsDone}${p.rowsTotal === null ? '' : `/${p.rowsTotal}`} rows, ${Math.round(p.rowsPerSecond)} rows/s${eta}`);
    },
    finish: stopBar,
  };
}
