import { UsageError } from '../errors.js';
import { addEvent } from '../store/migrations.js';
import type { LifecycleContext, TransitionResult } from './context.js';
import { assertNotLive } from './liveness.js';
import { runs, type Phase } from './machine.js';
import { Project, type MigrationEntry } from './project.js';
import { contract } from './transitions/contract.js';
import { expand } from './transitions/expand.js';
import { switchFlag } from './transitions/switch.js';

/** Options of {@link up}. */
export interface UpOptions {
  /** Go on although the database looks live. */
  yes?: boolean;
}

/** What `migrate up` does not do, for a database without live traffic. */
export function skippedBy(kind: 'schema' | 'code'): string[] {
  return ['snapshot before switch', 'soak', 'no-false-evaluations', ...(kind === 'code' ? ['code-references'] : []), 'snapshot before contract'];
}

/**
 * Expand, switch (100%) and contract every migration that is not contracted
 * yet, up to and including `name`, one after the other: the dev/CI way to
 * reach head. Snapshots and the guards that watch live traffic are skipped
 * (listed in each result's `details.skipped` and in an `up` event). Refused
 * when the database looks live, unless `yes` or the configuration says the
 * environment is disposable. Run under the migrate lock.
 *
 * @example
 * const results = await up(ctx, '20260101000000_add_email', { yes: false });
 */
export async function up(ctx: LifecycleContext, name: string | undefined, options: UpOptions = {}): Promise<TransitionResult[]> {
  const { config, pool } = ctx;
  const project = await Project.open(config, pool);
  project.assertUnchanged();
  const last = name ? project.find(name) : undefined;
  if (last && !last.file) await project.load(last); // says the file is missing
  const targets = project.entries.filter((e) => e.file && e.phase !== 'contracted' && (!last || e.name <= last.name));
  if (targets.length === 0) return last ? [{ migration: last.name, flag: last.record?.flag ?? '', from: last.phase, to: last.phase, noop: true, durationMs: 0 }] : [];
  // Load every target first: a broken file refuses the whole run before anything changes.
  for (const t of targets) await project.load(t);
  if (!options.yes && !config.disposable) await assertNotLive(pool, config.schema);

  const results: TransitionResult[] = [];
  for (const target of targets) {
    const started = performance.now();
    const from = target.phase;
    const fresh = async (): Promise<MigrationEntry> => (await Project.open(config, pool)).find(target.name);
    let entry = await fresh();
    let flag = '';
    let kind: 'schema' | 'code' = 'schema';
    const step = async (command: 'expand' | 'switch' | 'contract', run: (p: Project, e: MigrationEntry) => Promise<TransitionResult>) => {
      if (!runs(command, entry.phase) && !(command === 'expand' && entry.phase === 'aborting')) return;
      const p = await Project.open(config, pool);
      const result = await run(p, p.find(target.name));
      flag = result.flag || flag;
      entry = await fresh();
    };
    kind = (await project.load(target)).kind;
    await step('expand', (p, e) => expand(p, e, ctx));
    await step('switch', (p, e) => switchFlag(p, e, { percent: 100, snapshot: false }, ctx));
    await step('contract', (p, e) =>
      contract(p, e, { force: ['soak', 'no-false-evaluations'], takeSnapshot: false, codeReferences: async () => [] }, ctx),
    );
    const to: Phase = entry.phase;
    if (to !== 'contracted') throw new UsageError(`${target.name} is ${to}; "migrate up" cannot move it on`, `finish it with the lifecycle commands ("migrate status ${target.name}")`);
    const skipped = skippedBy(kind);
    const durationMs = performance.now() - started;
    await addEvent(pool, config.schema, { migration: target.name, event: 'up', actor: ctx.actor, durationMs, details: { from, skipped, confirmed: Boolean(options.yes), disposable: config.disposable } });
    results.push({ migration: target.name, flag: flag || (entry.record?.flag ?? ''), from, to, noop: false, durationMs, details: { skipped } });
  }
  return results;
}
