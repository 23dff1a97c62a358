/**
 * `migrate lint` colours like every other command (TTY or FORCE_COLOR, never
 * with NO_COLOR or --json), and what it quotes from a migration file is data:
 * an escape sequence in a statement is printed visibly, colours on or off.
 */
import { describe, expect, it } from 'vitest';
import { migrate, migrationSource, tempProject } from '../support/cli.js';

const ESC = '\x1b';
const NAME = '20260101000000_index';

describe('migrate lint colours', { timeout: 120_000 }, () => {
  const project = tempProject();
  // A finding whose statement carries a window-title escape (OSC) and a colour (SGR) from the file.
  project.write(
    `migrations/${NAME}.ts`,
    migrationSource(`export default defineMigration({ flag: 'lint.colors', operations: [op.sql({ up: "CREATE INDEX users_note ON users (note) WHERE note <> '\\x1b]0;pwned\\x07 \\x1b[31mred'" })] });`, 'defineMigration, op'),
  );
  const lint = (env: Record<string, string>) => migrate(['lint'], { cwd: project.dir, env: { DATABASE_URL: '', ...env } });

  it('colours its findings with FORCE_COLOR, and escapes the statement quoted from the file', async () => {
    const r = await lint({ NO_COLOR: '', FORCE_COLOR: '1' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`${ESC}[31merror${ESC}[39m`);
    expect(r.stdout).toContain(`${ESC}[36mcreate-index-non-concurrently${ESC}[39m`);
    const statement = r.stdout.split('\n').find((l) => l.includes('statement:'))!;
    expect(statement).toContain('\\x1b]0;pwned\\x07 \\x1b[31mred');
    expect(statement.replace(/\x1b\[[0-9;]*m/g, '')).not.toContain(ESC); // only our own colours are escapes
  });

  it('prints no escape at all with NO_COLOR', async () => {
    const r = await lint({ NO_COLOR: '1', FORCE_COLOR: '1' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('create-index-non-concurrently');
    expect(r.stdout).not.toContain(ESC);
  });
});
