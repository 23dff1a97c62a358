/**
 * CLI tables with colours on: the colours are ours, never the data's. An
 * actor (anyone's CURTAIN_ACTOR) holding an SGR sequence once went through
 * to the terminal raw, because colour sequences were kept in table cells
 * whenever colours were on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ESC = '\x1b';
const ACTOR = `ops${ESC}[31mred${ESC}[0m${ESC}[8mhidden`;
const NAME = '20260101000000_colors';

describe('CLI tables with colours forced on', { timeout: 120_000 }, () => {
  let tdb: TestDatabase;
  const project = tempProject();
  // FORCE_COLOR colours a pipe, as in a CI log; NO_COLOR (set by the helper) must not win here.
  const colored = (args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url, env: { NO_COLOR: '', FORCE_COLOR: '1' } });

  beforeAll(async () => {
    tdb = await createTestDatabase('colors');
    project.write(`migrations/${NAME}.ts`, migrationSource(`export default defineMigration({ flag: 'colors.code' });`));
    const r = await migrate(['expand', NAME], { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_ACTOR: ACTOR } });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => tdb.drop());

  it('prints SGR sequences from data as visible escapes, and colours its own header and phase', async () => {
    const detail = await colored(['status', NAME]);
    expect(detail.code, detail.stderr).toBe(0);
    const actorLines = detail.stdout.split('\n').filter((l) => l.includes('expand.'));
    expect(actorLines).toHaveLength(2);
    for (const line of actorLines) {
      expect(line).toContain('ops\\x1b[31mred\\x1b[0m\\x1b[8mhidden');
      expect(line).not.toContain(ESC); // nothing from the data reaches the terminal as an escape
    }
    expect(detail.stdout).toContain(`${ESC}[1mwhen`); // the header: bold, ours
    const list = await colored(['status']);
    expect(list.code, list.stderr).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith(NAME))!;
    expect(row).toContain(`${ESC}[36mexpanded${ESC}[39m`); // the phase: painted by status
  });
});
