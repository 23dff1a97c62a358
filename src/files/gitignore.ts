import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Make sure the project's `.gitignore` ignores `entry` (a folder such as
 * `.curtain/`): appended when missing, the file created when there is none.
 * Returns whether the file changed. Equivalent spellings (`.curtain`,
 * `/.curtain/`) count as present.
 *
 * @example
 * await addGitignoreEntry(process.cwd(), '.curtain/'); // true the first time, false after
 */
export async function addGitignoreEntry(root: string, entry: string): Promise<boolean> {
  const file = path.join(root, '.gitignore');
  const text = existsSync(file) ? await fs.readFile(file, 'utf8') : '';
  const bare = entry.replace(/^\/|\/$/g, '');
  const present = text.split(/\r?\n/).some((line) => line.trim().replace(/^\/|\/$/g, '') === bare);
  if (present) return false;
  const prefix = text === '' || text.endsWith('\n') ? '' : '\n';
  await fs.writeFile(file, `${text}${prefix}${entry}\n`);
  return true;
}
