import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, tempProject } from '../support/cli.js';

/** True while a postmaster runs on the data directory. */
function serverRunning(dataDir: string): boolean {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('with no database configured', () => {
  it('starts the embedded PostgreSQL under .curtain/postgres, says so in one line, and stops it at the end', async () => {
    const project = tempProject();
    const r = await migrate(['init', '--json'], { cwd: project.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^using embedded PostgreSQL \d+ at \.curtain\/postgres; set DATABASE_URL to use your own$/)]);
    expect(r.json().schema).toBe('curtain'); // stdout holds only the JSON document
    const dataDir = path.join(project.dir, '.curtain/postgres');
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(serverRunning(dataDir)).toBe(false);
    // A database on disk: owner-only, and never committed.
    expect(statSync(path.join(project.dir, '.curtain')).mode & 0o777).toBe(0o700);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(project.dir, '.curtain/.gitignore'), 'utf8')).toMatch(/^\*$/m);

    // Two commands at once share one server; the last one out stops it; the data persists.
    const [a, b] = await Promise.all([migrate(['status', '--json'], { cwd: project.dir }), migrate(['flags', 'list', '--json'], { cwd: project.dir })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.json().migrations).toEqual([]);
    expect(serverRunning(dataDir)).toBe(false);
    rmSync(project.dir, { recursive: true, force: true });
  });
});
