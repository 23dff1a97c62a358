import type { Command } from 'commander';
import { defaultActor } from '../../actor.js';
import { drift, recordDriftCheck } from '../../migration/drift.js';
import { GuardRefusal } from '../../errors.js';
import { withContext } from '../context.js';

export function register(program: Command): void {
  program
    .command('drift')
    .description('differences between the live schema and what the migrations (and baseline) produce; exit 3 when there are any')
    .action(async (_opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const report = await drift(ctx.config, ctx.database.pool, ctx.database.url);
        await recordDriftCheck(ctx.database.pool, ctx.config.schema, report.items, defaultActor());
        ctx.out.result({ drift: report.items.length > 0, items: report.items, replayed: report.replayed.length });
        if (report.items.length === 0) {
          ctx.out.line(`no drift: the schema is what the ${report.replayed.length} recorded migration(s) produce`);
          return;
        }
        for (const d of report.items) ctx.out.line(`${d.change === 'extra' ? '+' : '-'} ${d.kind.replace(/s$/, '')} ${d.object}${d.change === 'extra' ? '  (not from any migration)' : '  (missing)'}`);
        throw new GuardRefusal('drift', `${report.items.length} object(s) differ from what the migrations produce`, 'write a migration for changes made by hand (migrate convert), or undo them');
      });
    });
}
