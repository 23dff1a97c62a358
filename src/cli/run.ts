import { CommanderError } from 'commander';
import { CurtainError, ExitCode } from '../errors.js';
import { jsonResultWritten } from './output.js';
import { escapeControl } from '../text/control.js';
import { createProgram } from './program.js';

/**
 * Run the CLI with `argv` (as in process.argv) and return the exit code. User
 * mistakes are one sentence plus a hint; stacks only with --verbose.
 */
export async function runCli(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const json = argv.includes('--json');
  try {
    const program = await createProgram();
    await program.parseAsync(argv);
    return process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      const code = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      if (json && code !== ExitCode.ok && !jsonResultWritten()) printJsonError({ error: err.message.replace(/^error: /, ''), hint: null, exitCode: code, step: null });
      return code;
    }
    const code = reportError(err, verbose);
    if (json && !jsonResultWritten()) {
      const e = err as Error & { hint?: string; step?: unknown };
      printJsonError({ error: e?.message ?? String(err), hint: e?.hint ?? null, exitCode: code, step: e?.step ?? null });
    }
    return code;
  }
}

/** With --json a failure is one JSON document on stdout too, unless the command already printed its own (a refusal that reports what it found). */
function printJsonError(doc: { error: string; hint: string | null; exitCode: number; step: unknown }): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

function reportError(err: unknown, verbose: boolean): number {
  // Messages quote user input (names, keys, file contents): escaped like every other output.
  const write = (s: string) => process.stderr.write(`${escapeControl(s)}\n`);
  if (err instanceof CurtainError) {
    write(`error: ${err.message}`);
    if (err.hint) write(`hint: ${err.hint}`);
    if (verbose && err.stack) write(err.stack);
    return err.exitCode;
  }
  const e = err as Error & { code?: string; detail?: string; where?: string };
  write(`error: ${e?.message ?? String(err)}${e?.code ? ` (SQLSTATE ${e.code})` : ''}`);
  if (e?.detail) write(`detail: ${e.detail}`);
  if (verbose && e?.stack) write(e.stack);
  else write('hint: run with --verbose for the full stack trace');
  return ExitCode.error;
}
