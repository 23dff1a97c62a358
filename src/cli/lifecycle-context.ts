import { defaultActor } from '../actor.js';
import type { LifecycleContext } from '../migration/lifecycle.js';
import { Project } from '../migration/project.js';
import type { CommandContext } from './context.js';
import { cliReporter } from './reporter.js';

/** Open the project (files + records), refuse edited applied files, and build the lifecycle context. */
export async function openLifecycle(ctx: CommandContext, extra: Partial<LifecycleContext> = {}) {
  const project = await Project.open(ctx.config, ctx.database.pool);
  project.assertUnchanged();
  const reporter = cliReporter(ctx.out, { verbose: ctx.globals.verbose });
  const lifecycle: LifecycleContext = {
    config: ctx.config,
    pool: ctx.database.pool,
    actor: defaultActor(),
    reporter,
    // The first SIGINT/SIGTERM stops the lifecycle at its next batch or step boundary.
    signal: ctx.signal,
    ...extra,
  };
  return { project, lifecycle, reporter };
}
