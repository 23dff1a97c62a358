import { CommanderError } from 'commander';
import { isConnectionError } from '../db/connection-error.js';
import { redactText } from '../db/redact.js';
import { CurtainError, ExitCode } from '../errors.js';
import { escapeControl } from '../text/control.js';
import { installInterrupt } from './interrupt.js';
import { jsonResultWritten } from './output.js';
import { createProgram } from './program.js';

/** Commands that record their progress and resume where they stopped when rerun. */
const RESUMABLE = new Set(['expand', 'switch', 'contract', 'abort']);

/**
 * Run the CLI with `argv` (as in process.argv) and return the exit code. User
 * mistakes are one sentence plus a hint; stacks only with --verbose. The first
 * SIGINT/SIGTERM stops the command at its next boundary (exit 130/143); a
 * second one exits at once.
 */
export async function runCli(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const json = argv.includes('--json');
  const interrupt = installInterrupt((line) => process.stderr.write(`${line}\n`));
  try {
    let code: number;
    try {
      const program = await createProgram();
      await program.parseAsync(argv);
      code = process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode);
    } catch (err) {
      if (err instanceof CommanderError) {
        if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
        const usage = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
        if (json && usage !== ExitCode.ok && !jsonResultWritten()) printJsonError({ error: err.message.replace(/^error: /, ''), hint: null, exitCode: usage, step: null });
        return usage;
      }
      code = reportError(err, { verbose, command: commandOf(argv) });
      if (json && !jsonResultWritten()) {
        const e = err as Error & { hint?: string; step?: unknown };
        printJsonError({ error: redactText(e?.message ?? String(err)), hint: e?.hint ? redactText(e.hint) : null, exitCode: code, step: e?.step ?? null });
      }
    }
    return interrupt.exitCode() ?? code;
  } finally {
    interrupt.dispose();
  }
}

/** With --json a failure is one JSON document on stdout too, unless the command already printed its own (a refusal that reports what it found). */
function printJsonError(doc: { error: string; hint: string | null; exitCode: number; step: unknown }): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/** The subcommand named in argv (the first word that is not an option or an option's value). */
function commandOf(argv: string[]): string | undefined {
  const withValue = new Set(['--database-url', '--migrations-dir', '--config', '--schema', '--lock-wait', '--lock-timeout']);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * Print an error as one line plus a hint (passwords redacted) and return its
 * exit code. A lost connection is one line too, never a stack, and for the
 * lifecycle commands it says that a rerun resumes.
 *
 * @example
 * process.exitCode = reportError(err, { verbose: false, command: 'expand' });
 */
export function reportError(err: unknown, options: { verbose: boolean; command?: string }): number {
  // Messages quote user input (names, keys, file contents): escaped like every other output, passwords redacted.
  const write = (s: string) => process.stderr.write(`${escapeControl(redactText(s))}\n`);
  if (err instanceof CurtainError) {
    write(`error: ${err.message}`);
    if (err.hint) write(`hint: ${err.hint}`);
    if (options.verbose && err.stack) write(err.stack);
    return err.exitCode;
  }
  const e = err as Error & { code?: string; detail?: string; where?: string };
  if (isConnectionError(err)) {
    write(`error: lost the connection to the database: ${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ''}`);
    const resumable = options.command && RESUMABLE.has(options.command);
    write(`hint: ${resumable ? `every finished step is recorded: rerun "migrate ${options.command}" to resume` : 'check that the server is up, then rerun the command'}`);
    if (options.verbose && e?.stack) write(e.stack);
    return ExitCode.error;
  }
  write(`error: ${e?.message ?? String(err)}${e?.code ? ` (SQLSTATE ${e.code})` : ''}`);
  if (e?.detail) write(`detail: ${e.detail}`);
  if (options.verbose && e?.stack) write(e.stack);
  else write('hint: run with --verbose for the full stack trace');
  return ExitCode.error;
}

/**
 * The subcommand of this process's argv, for messages printed outside runCli.
 *
 * @example
 * currentCommand() // 'expand' for `migrate --json expand users`
 */
export function currentCommand(): string | undefined {
  return commandOf(process.argv);
}
