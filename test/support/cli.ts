import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (npm test builds first). */
export const BIN = path.join(root, 'dist/cli/bin.js');
/** The built library, for fixture migration files to import. */
export const LIB = path.join(root, 'dist/index.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/**
 * Run `migrate ...args` as a child process.
 *
 * @example
 * const r = await migrate(['status', '--json'], { cwd, databaseUrl });
 * expect(r.code).toBe(0);
 */
export function migrate(args: string[], options: { cwd: string; databaseUrl?: string; env?: Record<string, string> }): Promise<CliResult> {
  const full = options.databaseUrl ? ['--database-url', options.databaseUrl, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...full], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json() {
          return JSON.parse(stdout);
        },
      }),
    );
  });
}

/** A throwaway project folder with a migrations/ directory. */
export function tempProject(): { dir: string; write(file: string, text: string): string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'curtain-project-'));
  mkdirSync(path.join(dir, 'migrations'));
  return {
    dir,
    write(file, text) {
      const full = path.join(dir, file);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, text);
      return full;
    },
  };
}

/** Source of a migration file importing the built library. */
export function migrationSource(body: string, imports = 'defineMigration'): string {
  return `import { ${imports} } from ${JSON.stringify(LIB)};\n${body}\n`;
}
