import { deleteFlag, getFlag, setFlag } from '../../flags/store.js';
import { clearCheckpoints } from '../../store/checkpoints.js';
import { addEvent, clearSteps, setPhase } from '../../store/migrations.js';
import { executorOptions, type LifecycleContext, type TransitionResult } from '../context.js';
import { runProgram } from '../executor.js';
import { isApplied, toStored } from '../machine.js';
import type { MigrationEntry, Project } from '../project.js';
import { admit, stepRuntime } from './common.js';
import { drainFlag } from './drain.js';

/**
 * Undo an expand (before contract): turn the flag off first and let every
 * live client see that, then drop B and the triggers and delete the flag.
 * The schema afterwards is the schema before expand.
 */
export async function abort(project: Project, entry: MigrationEntry, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  const schema = ctx.config.schema;
  // Already aborted (a rerun after a kill that landed just after abort committed): nothing left to do.
  if (entry.record && !isApplied(entry.phase)) {
    return { migration: entry.name, flag: entry.record.flag, from: entry.phase, to: entry.phase, noop: true, durationMs: 0 };
  }
  const admitted = admit('abort', entry, entry.record?.flag);
  if ('noop' in admitted) return admitted.noop;
  const migration = await project.loadForAbort(entry);
  const record = entry.record!;
  const program = project.program(entry, migration);
  let turnedOff: number | undefined;
  const runtime = stepRuntime(ctx, migration, {
    async bookkeeping(action, tx) {
      if (action === 'abort.start') {
        if (admitted.run.resumes) return;
        await setPhase(tx, schema, entry.name, toStored(admitted.run.during ?? admitted.run.to));
        await addEvent(tx, schema, { migration: entry.name, event: 'abort.start', actor: ctx.actor, details: { from: entry.phase } });
      } else if (action === 'abort.flag-off') {
        const flag = await getFlag(tx, schema, record.flag);
        if (flag?.enabled) {
          const changed = await setFlag(tx, schema, record.flag, { enabled: false }, { actor: ctx.actor, reason: `abort ${entry.name}` });
          turnedOff = changed.version;
        }
      } else if (action === 'abort.done') {
        if (await getFlag(tx, schema, record.flag)) await deleteFlag(tx, schema, record.flag, { actor: ctx.actor, reason: `abort ${entry.name}` });
        await setPhase(tx, schema, entry.name, toStored(admitted.run.to));
        await clearCheckpoints(tx, schema, entry.name);
        // A later expand of the same file starts from scratch.
        await clearSteps(tx, schema, entry.name, ['expand', 'contract', 'abort']);
        await addEvent(tx, schema, { migration: entry.name, event: 'abort.done', actor: ctx.actor, durationMs: performance.now() - started });
      }
    },
    async drain() {
      if (turnedOff !== undefined) await drainFlag(ctx, record.flag, turnedOff);
    },
  });
  await runProgram(program.phases.abort, { ...executorOptions(ctx, entry.name, 'abort'), runtime });
  return { migration: entry.name, flag: record.flag, from: entry.phase, to: admitted.run.to, noop: false, durationMs: performance.now() - started };
}
