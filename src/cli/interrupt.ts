/**
 * SIGINT/SIGTERM for the CLI. The first signal aborts the command's signal
 * and says so in one line: the command stops at its next batch or step
 * boundary (every finished step and backfill batch is recorded, so a rerun
 * resumes) and the process exits 130 (SIGINT) or 143 (SIGTERM). A second
 * signal exits at once with the same code.
 */

const CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

let current: Interrupt | undefined;

/**
 * The interrupt of the running CLI (undefined outside `runCli`).
 *
 * @example
 * const signal = currentInterrupt()?.signal;
 */
export function currentInterrupt(): Interrupt | undefined {
  return current;
}

/** The process-wide interrupt state of one CLI run. */
export interface Interrupt {
  /** Aborted by the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /**
   * For commands that run until interrupted (`serve`): resolves on the first
   * signal, which then is the command's normal end (no "stopping" line, exit 0).
   */
  untilSignal(): Promise<NodeJS.Signals>;
  /** The exit code the signal asks for: 130/143, or undefined (none received, or it was expected). */
  exitCode(): number | undefined;
  /** Remove the handlers. */
  dispose(): void;
}

/**
 * Install the SIGINT/SIGTERM handlers for one CLI run.
 *
 * @example
 * const interrupt = installInterrupt((line) => process.stderr.write(`${line}\n`));
 * try { await run({ signal: interrupt.signal }); } finally { interrupt.dispose(); }
 * return interrupt.exitCode() ?? 0;
 */
export function installInterrupt(write: (line: string) => void, exit: (code: number) => void = (code) => process.exit(code)): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let expected = false;
  const waiters: ((s: NodeJS.Signals) => void)[] = [];
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      write(`${sig} again: exiting now`);
      exit(CODES[sig] ?? 1);
      return;
    }
    received = sig;
    if (!expected) write(`${sig}: stopping after the current batch/step (Ctrl-C again to force)`);
    controller.abort(sig);
    for (const w of waiters.splice(0)) w(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const interrupt: Interrupt = {
    signal: controller.signal,
    get received() {
      return received;
    },
    untilSignal() {
      expected = true;
      return new Promise((resolve) => (received ? resolve(received) : waiters.push(resolve)));
    },
    exitCode() {
      return received && !expected ? (CODES[received] ?? 1) : undefined;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      if (current === interrupt) current = undefined;
    },
  };
  current = interrupt;
  return interrupt;
}
