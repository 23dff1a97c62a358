/** Start a TypeScript file of bench/ as a child Node process (through jiti's loader), with an IPC channel. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './server.js';

const JITI_REGISTER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/jiti/lib/jiti-register.mjs')).href;

/**
 * Fork `file` (relative to bench/) with `args`; stdout is piped, stderr inherited.
 *
 * @example
 * const child = forkTs('lib/workload-child.ts', [JSON.stringify(config)]);
 */
export function forkTs(file: string, args: string[] = []): ChildProcess {
  return fork(path.join(REPO_ROOT, 'bench', file), args, {
    execArgv: ['--import', JITI_REGISTER],
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
    cwd: REPO_ROOT,
  });
}

/** Wait for the first IPC message satisfying `test`, or reject on exit/timeout. */
export function nextMessage<T>(child: ChildProcess, test: (m: unknown) => m is T, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`child ${child.pid} sent nothing in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: unknown) => {
      if (test(m)) done(undefined, m);
    };
    const onExit = (code: number | null) => done(new Error(`child ${child.pid} exited (${code}) before answering`));
    function done(err?: Error, value?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
