/**
 * Files curtain writes hold data (snapshot dumps are whole tables, the flags
 * backup is every flag, the embedded server's directory is a database):
 * readable by their owner only, and never committed by accident.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/** The name of the folder curtain keeps its local state in, inside a project. */
export const STATE_DIR = '.curtain';

/**
 * Create `dir` (and missing parents) as `0700`, whatever the umask. When
 * `dir` lies in a `.curtain/` folder, that folder gets a `.gitignore` of `*`,
 * so nothing in it is ever committed, and an existing `dir` there that this
 * user owns is tightened to `0700` (see {@link tightenStateDir}).
 *
 * @example
 * await ensurePrivateDir('.curtain/snapshots'); // .curtain/ and snapshots/ are 0700, .curtain/.gitignore holds "*"
 */
export async function ensurePrivateDir(dir: string, options: { keepExistingMode?: boolean } = {}): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let d = target; !existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    await fs.mkdir(d, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await fs.chmod(d, 0o700).catch(() => {}); // mkdir's mode is filtered by the umask
  }
  const state = stateDirOf(target);
  if (!state) return;
  if (missing.length === 0 && !options.keepExistingMode) await tightenStateDir(target);
  await ignoreStateDir(state);
}

/**
 * An existing folder of curtain's own (in `.curtain/`) made `0700` when this
 * user owns it: one created by hand, by an older version or under another
 * umask (`0755`) would otherwise let every local user list the dumps in it.
 * Only there: a folder configured elsewhere (`snapshots.dir: '.'`, `/tmp`) is
 * the user's, and changing its mode would be a surprise or worse. Someone
 * else's folder is left alone (chmod would fail, or as root take it over).
 */
async function tightenStateDir(dir: string): Promise<void> {
  // lstat: a link to a folder elsewhere is the user's arrangement, and that folder is not ours to tighten.
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory() || (stat.mode & 0o777) === 0o700 || stat.uid !== process.getuid?.()) return;
  // As root, `.curtain/` itself may hold the embedded server's data, which the postgres OS user must reach.
  if (process.getuid?.() === 0 && path.basename(dir) === STATE_DIR) return;
  await fs.chmod(dir, 0o700);
}

/**
 * Create the state folder (`0700`) if missing and give it a `.gitignore`
 * holding `*` (which ignores itself too).
 *
 * @example
 * await ignoreStateDir('/app/.curtain');
 */
export async function ignoreStateDir(state: string): Promise<void> {
  if (!existsSync(state)) {
    await fs.mkdir(state, { recursive: true, mode: 0o700 });
    await fs.chmod(state, 0o700);
  }
  const file = path.join(state, '.gitignore');
  if (!existsSync(file)) {
    await fs.writeFile(file, '# curtain keeps local state here (snapshot dumps, the embedded database): never commit it\n*\n', { mode: 0o600, flag: 'wx' }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      },
    );
  }
}

/**
 * Create an empty file readable by its owner only (`0600`), failing if it
 * exists; tools that then write into it (pg_dump) keep the mode.
 *
 * @example
 * await createPrivateFile('.curtain/snapshots/x.dump.partial');
 */
export async function createPrivateFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

/**
 * Write `data` to `file` with mode `0600` (also when the file existed with a
 * wider mode).
 *
 * @example
 * await writePrivateFile('/var/lib/app/flags.json.tmp', json);
 */
export async function writePrivateFile(file: string, data: string): Promise<void> {
  await fs.writeFile(file, data, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

function stateDirOf(dir: string): string | undefined {
  const parts = dir.split(path.sep);
  const i = parts.lastIndexOf(STATE_DIR);
  return i > 0 ? parts.slice(0, i + 1).join(path.sep) : undefined;
}
