import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';

/** Every command module exports `register(program)`; one file per command. */
type Register = (program: Command) => void;

const commandModules: Array<() => Promise<{ register: Register }>> = [
  () => import('./commands/init.js'),
  () => import('./commands/create.js'),
  () => import('./commands/convert.js'),
  () => import('./commands/status.js'),
  () => import('./commands/plan.js'),
  () => import('./commands/expand.js'),
  () => import('./commands/switch.js'),
  () => import('./commands/contract.js'),
  () => import('./commands/abort.js'),
  () => import('./commands/up.js'),
  () => import('./commands/baseline.js'),
  () => import('./commands/drift.js'),
  () => import('./commands/squash.js'),
  () => import('./commands/lint.js'),
  () => import('./commands/flags.js'),
  () => import('./commands/snapshot.js'),
  () => import('./commands/backfill.js'),
  () => import('./commands/serve.js'),
  () => import('./commands/codegen.js'),
];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The `migrate` program with every command registered.
 *
 * @example
 * const program = await createProgram();
 * await program.parseAsync(['node', 'migrate', 'status']);
 */
export async function createProgram(): Promise<Command> {
  const program = new Command('migrate')
    .description('Immutable migrations for PostgreSQL: expand, switch with a flag, contract when proven.')
    .version(version())
    .addOption(new Option('--database-url <url>', 'connection string (default: DATABASE_URL, the config file, else the embedded PostgreSQL)'))
    .option('--migrations-dir <dir>', 'folder of migration files (default: migrations)')
    .option('--config <file>', 'configuration file (default: curtain.config.{ts,js,json})')
    .option('--schema <name>', 'schema where curtain keeps its state (default: curtain)')
    .option('--lock-wait <duration>', 'how long to wait for another migrate before exit 4 (default: 10s)')
    .option('--lock-timeout <duration>', 'lock_timeout for each DDL statement (default: 1s)')
    .option('--json', 'machine-readable output on stdout')
    .option('--yes', 'confirm destructive or unusual actions')
    .option('--verbose', 'print stack traces of unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  // Subcommands inherit exitOverride so usage errors surface as exceptions with exit 2.
  for (const sub of program.commands) sub.exitOverride();
  return program;
}
