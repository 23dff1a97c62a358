import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareStateDir } from '../../../src/db/embedded.js';
import { addGitignoreEntry } from '../../../src/files/gitignore.js';
import { ensurePrivateDir } from '../../../src/files/private.js';
import { writeBackup } from '../../../src/flags/backup.js';
import { createSnapshot } from '../../../src/snapshots/index.js';
import { findPgTools, serverMajor } from '../../../src/snapshots/pg-tools.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('files curtain writes are private and kept out of git', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let root: string;
  const umask = process.umask(0o022); // the usual umask, whatever the test runner's is

  beforeAll(async () => {
    tdb = await createTestDatabase('perms');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, 'curtain');
    await pool.query(`CREATE TABLE secrets (id int PRIMARY KEY, card text); INSERT INTO secrets SELECT i, 'card ' || i FROM generate_series(1, 20) i`);
    root = mkdtempSync(path.join(os.tmpdir(), 'curtain-perms-'));
  });
  afterAll(async () => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
    await tdb.drop();
  });

  it('writes dump snapshots 0600 in a 0700 folder under a git-ignored .curtain/', async (ctx) => {
    const major = await serverMajor(pool);
    if (!findPgTools('pg_dump').some((t) => t.major >= major)) ctx.skip();
    const dir = path.join(root, '.curtain', 'snapshots');
    const snap = await createSnapshot(pool, { schema: 'curtain', strategy: 'dump', tables: ['secrets'], dir });
    expect(mode(snap.location)).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(root, '.curtain'))).toBe(0o700);
    expect(readFileSync(path.join(root, '.curtain', '.gitignore'), 'utf8').split('\n')).toContain('*');
  });

  it('tightens an existing .curtain/snapshots of this user to 0700; folders elsewhere, or of someone else, keep their mode', async () => {
    const project = path.join(root, 'wide');
    const snapshots = path.join(project, '.curtain', 'snapshots');
    mkdirSync(snapshots, { recursive: true, mode: 0o755 }); // made by hand, or by an older version
    await ensurePrivateDir(snapshots);
    expect(mode(snapshots)).toBe(0o700);
    expect(readFileSync(path.join(project, '.curtain', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    // A folder the user configured outside .curtain/ is theirs: only created 0700, never changed.
    const elsewhere = path.join(project, 'backups');
    mkdirSync(elsewhere, { mode: 0o755 });
    await ensurePrivateDir(elsewhere);
    expect(mode(elsewhere)).toBe(0o755);
    // The embedded server run as root asks to keep .curtain/ as it is (its postgres user may live in it).
    const state = path.join(root, 'kept', '.curtain');
    mkdirSync(state, { recursive: true, mode: 0o755 });
    await ensurePrivateDir(state, { keepExistingMode: true });
    expect(mode(state)).toBe(0o755);
    // A .curtain/snapshots that links to a folder elsewhere: that folder is not tightened through the link.
    const shared = path.join(root, 'shared-dumps');
    mkdirSync(shared, { mode: 0o755 });
    const linked = path.join(root, 'linked', '.curtain');
    mkdirSync(linked, { recursive: true });
    symlinkSync(shared, path.join(linked, 'snapshots'));
    await ensurePrivateDir(path.join(linked, 'snapshots'));
    expect(mode(shared)).toBe(0o755);
    if (process.getuid?.() === 0) {
      // As root, writing the flags backup into .curtain/ leaves .curtain/ itself as it is (the embedded server's postgres user may need it).
      const rootState = path.join(root, 'root-state', '.curtain');
      mkdirSync(rootState, { recursive: true, mode: 0o755 });
      await writeBackup(path.join(rootState, 'flags.json'), 'curtain', 1, []);
      expect(mode(rootState)).toBe(0o755);
      const foreign = path.join(root, 'foreign', '.curtain', 'snapshots');
      mkdirSync(foreign, { recursive: true, mode: 0o755 });
      chownSync(foreign, 65534, 65534); // nobody's
      await ensurePrivateDir(foreign);
      expect(mode(foreign)).toBe(0o755);
    }
  });

  it('writes the flags backup file 0600, creating its folder 0700', async () => {
    const file = path.join(root, 'state', 'flags.json');
    await writeBackup(file, 'curtain', 3, [{ key: 'a.b', enabled: true, rollout: 100, group: null, retired: false, version: 3 }]);
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    // Rewritten over a file someone widened: back to 0600.
    const { chmodSync } = await import('node:fs');
    chmodSync(file, 0o644);
    await writeBackup(file, 'curtain', 4, []);
    expect(mode(file)).toBe(0o600);
  });

  it('creates the embedded server\'s .curtain/ folder 0700 with a .gitignore of *', async () => {
    const project = path.join(root, 'project');
    await prepareStateDir(path.join(project, '.curtain', 'postgres'));
    expect(mode(path.join(project, '.curtain'))).toBe(0o700);
    expect(readFileSync(path.join(project, '.curtain', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it("adds .curtain/ to the project's .gitignore once", async () => {
    const project = path.join(root, 'gitignore');
    await prepareStateDir(path.join(project, 'x')); // creates the folder
    expect(await addGitignoreEntry(project, '.curtain/')).toBe(true);
    expect(readFileSync(path.join(project, '.gitignore'), 'utf8')).toBe('.curtain/\n');
    expect(await addGitignoreEntry(project, '.curtain/')).toBe(false);
    writeFileSync(path.join(project, '.gitignore'), 'node_modules\n/.curtain');
    expect(await addGitignoreEntry(project, '.curtain/')).toBe(false);
    writeFileSync(path.join(project, '.gitignore'), 'node_modules');
    expect(await addGitignoreEntry(project, '.curtain/')).toBe(true);
    expect(readFileSync(path.join(project, '.gitignore'), 'utf8')).toBe('node_modules\n.curtain/\n');
    expect(existsSync(path.join(project, '.curtain'))).toBe(false);
  });
});
