import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';

/** A PostgreSQL client program found on this machine. */
export interface PgTool {
  path: string;
  major: number;
}

/** Directories where distributions put versioned PostgreSQL binaries. */
function candidateDirs(): string[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const globbed = (root: string, sub: string) => {
    try {
      return readdirSync(root).map((d) => path.join(root, d, sub));
    } catch {
      return [];
    }
  };
  if (process.env.CURTAIN_PG_BIN) dirs.unshift(process.env.CURTAIN_PG_BIN);
  dirs.push(
    ...globbed('/usr/lib/postgresql', 'bin'),
    ...readdirSafe('/usr').filter((d) => d.startsWith('pgsql-')).map((d) => path.join('/usr', d, 'bin')),
    ...globbed('/opt/homebrew/opt', 'bin').filter((d) => d.includes('postgresql')),
    ...globbed('/usr/local/opt', 'bin').filter((d) => d.includes('postgresql')),
    ...globbed('/Applications/Postgres.app/Contents/Versions', 'bin'),
  );
  return [...new Set(dirs)];
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every copy of `program` (pg_dump, pg_restore) found, with its major version. */
export function findPgTools(program: string): PgTool[] {
  const found: PgTool[] = [];
  const seen = new Set<string>();
  for (const dir of candidateDirs()) {
    const file = path.join(dir, program);
    if (!existsSync(file) || seen.has(file)) continue;
    seen.add(file);
    const res = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const m = /\)\s*(\d+)/.exec(res.stdout ?? '') ?? /(\d+)\.\d+/.exec(res.stdout ?? '');
    if (res.status === 0 && m) found.push({ path: file, major: Number(m[1]) });
  }
  return found;
}

/** The server's major version (e.g. 15, 18). */
export async function serverMajor(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Math.floor(Number(rows[0]!.v) / 10000);
}

/**
 * The newest `program` whose major version is at least the server's (pg_dump
 * refuses older servers' newer catalogs), or a clear error that says what was
 * found and suggests the `tables` strategy.
 */
export function compatibleTool(program: string, major: number): PgTool {
  const all = findPgTools(program);
  const ok = all.filter((t) => t.major >= major).sort((a, b) => b.major - a.major);
  if (ok[0]) return ok[0];
  const seen = all.length ? all.map((t) => `${program} ${t.major} at ${t.path}`).join(', ') : `no ${program} at all`;
  throw new CurtainError(`the dump strategy needs ${program} ${major} or newer for this PostgreSQL ${major} server; found ${seen}`, {
    hint: `use --strategy tables (the default, needs no tools), or install the PostgreSQL ${major} client programs (or set CURTAIN_PG_BIN to their directory)`,
  });
}

/** Run a program to completion; a non-zero exit becomes an error carrying its stderr. */
export function runTool(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new CurtainError(`${path.basename(file)} failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/**
 * How to hand a connection string to libpq programs without putting the
 * password on the command line (visible in `ps`): it travels in PGPASSWORD.
 */
export function toolConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  try {
    const u = new URL(url);
    const password = decodeURIComponent(u.password);
    u.password = '';
    return { dbname: u.toString(), env: password ? { PGPASSWORD: password } : {} };
  } catch {
    return { dbname: url, env: {} };
  }
}
