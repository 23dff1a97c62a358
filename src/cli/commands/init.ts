import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { addGitignoreEntry } from '../../files/gitignore.js';
import { ignoreStateDir, STATE_DIR } from '../../files/private.js';
import { withContext } from '../context.js';

const CONFIG = `// curtain configuration: every key is optional. See the README for all of them.
export default {
  migrationsDir: 'migrations',
  // lockTimeout: '1s',
  // contract: { minSoak: '1h' },
  // snapshots: { strategy: 'tables' },
  // flags: { sourceGlobs: ['src/**/*.{ts,tsx,js,mjs,cjs}'] },
};
`;

export function register(program: Command): void {
  program
    .command('init')
    .description('create the curtain schema, a config file, the migrations folder and a git-ignored .curtain/')
    .action(async (_opts: unknown, command: Command) => {
      await withContext(
        command,
        async (ctx) => {
          const created: string[] = [];
          const dir = path.resolve(ctx.config.root, ctx.config.migrationsDir);
          if (!existsSync(dir)) {
            await fs.mkdir(dir, { recursive: true });
            created.push(path.relative(process.cwd(), dir) || dir);
          }
          // Local state (snapshot dumps, the embedded database) never belongs in git.
          const state = path.join(ctx.config.root, STATE_DIR);
          if (!existsSync(state)) created.push(path.relative(process.cwd(), state) || state);
          await ignoreStateDir(state);
          if (await addGitignoreEntry(ctx.config.root, `${STATE_DIR}/`)) created.push(`.gitignore entry ${STATE_DIR}/`);
          if (!ctx.config.file) {
            const file = path.join(ctx.config.root, 'curtain.config.ts');
            await fs.writeFile(file, CONFIG);
            created.push(path.relative(process.cwd(), file));
          }
          ctx.out.result({ schema: ctx.config.schema, created });
          ctx.out.line(`curtain schema "${ctx.config.schema}" is ready`);
          for (const c of created) ctx.out.line(`created ${c}`);
        },
        { mutating: 'init' },
      );
    });
}
