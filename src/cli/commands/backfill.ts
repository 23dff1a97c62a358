import type { Command } from 'commander';
import { defaultActor } from '../../actor.js';
import { setBackfillControl, type BackfillControl, type BackfillControlPatch } from '../../backfill/control.js';
import { formatDuration, parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { Project } from '../../migration/project.js';
import { withContext } from '../context.js';
import type { Output } from '../output.js';

/**
 * `migrate backfill pause|resume|set <name>`: steer a running backfill from
 * another terminal. No migrate lock is taken (the running expand holds it);
 * the backfill reads the control row between batches.
 */
export function register(program: Command): void {
  const backfill = program.command('backfill').description('steer a running backfill from another terminal: pause, resume, batch size and delay');

  const change = (name: string, patch: BackfillControlPatch, command: Command, verb: string) =>
    withContext(command, async ({ config, out, database }) => {
      // Short names (the part after the timestamp) work as in every other command.
      const project = await Project.open(config, database.pool);
      const entry = project.find(name);
      const control = await setBackfillControl(database.pool, config.schema, entry.name, patch, { actor: defaultActor() });
      out.result({ control });
      printControl(out, verb, control);
    });

  backfill
    .command('pause <name>')
    .description('hold the backfill before its next batch (it keeps no lock and no open transaction while paused)')
    .action((name: string, _opts: unknown, command: Command) => change(name, { paused: true }, command, 'paused'));

  backfill
    .command('resume <name>')
    .description('let a paused backfill go on')
    .action((name: string, _opts: unknown, command: Command) => change(name, { paused: false }, command, 'resumed'));

  backfill
    .command('set <name>')
    .description('change batch size, delay between batches or the replica lag limit of a running backfill')
    .option('--batch-size <rows>', 'rows per batch')
    .option('--batch-delay <duration>', 'pause between batches, e.g. 50ms')
    .option('--max-replica-lag <duration>', 'wait while a replica lags more than this, e.g. 5s')
    .action((name: string, opts: { batchSize?: string; batchDelay?: string; maxReplicaLag?: string }, command: Command) => {
      const patch: BackfillControlPatch = {};
      if (opts.batchSize !== undefined) {
        const n = Number(opts.batchSize);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`--batch-size must be a positive whole number, got ${opts.batchSize}`);
        patch.batchSize = n;
      }
      if (opts.batchDelay !== undefined) patch.batchDelayMs = parseDuration(opts.batchDelay, '--batch-delay');
      if (opts.maxReplicaLag !== undefined) patch.maxReplicaLagMs = parseDuration(opts.maxReplicaLag, '--max-replica-lag');
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to change', 'give --batch-size, --batch-delay or --max-replica-lag');
      return change(name, patch, command, 'set');
    });
}

function printControl(out: Output, verb: string, c: BackfillControl): void {
  const settings = [
    c.paused ? 'paused' : 'running',
    `batch size ${c.batchSize ?? 'as configured'}`,
    `delay ${c.batchDelayMs === null ? 'as configured' : formatDuration(c.batchDelayMs)}`,
    `max replica lag ${c.maxReplicaLagMs === null ? 'as configured' : formatDuration(c.maxReplicaLagMs)}`,
  ];
  out.line(`${verb} backfill of ${c.migration}: ${settings.join(', ')} (by ${c.updatedBy})`);
}
