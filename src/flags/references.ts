/**
 * Where source code still mentions a flag key: retiring a flag that code
 * still evaluates would silently turn that code path off.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { globFiles } from './glob.js';

/** One mention of a key. */
export interface FlagReference {
  /** Relative to the scanned root, `/`-separated. */
  file: string;
  line: number;
  column: number;
  text: string;
}

const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Every occurrence of `key` as a whole key (not as part of a longer key like
 * `key.v2` or `prefix-key`) in files under `root` matching `globs`.
 *
 * @example
 * const refs = await findFlagReferences(config.root, config.flags.sourceGlobs, 'checkout.v2');
 * for (const r of refs) console.log(`${r.file}:${r.line}`);
 */
export async function findFlagReferences(root: string, globs: readonly string[], key: string): Promise<FlagReference[]> {
  const refs: FlagReference[] = [];
  for (const file of await globFiles(root, globs)) {
    const full = path.join(root, file);
    try {
      if ((await stat(full)).size > MAX_FILE_BYTES) continue;
    } catch {
      continue;
    }
    const text = await readFile(full, 'utf8').catch(() => '');
    if (!text.includes(key)) continue;
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      for (let at = line.indexOf(key); at !== -1; at = line.indexOf(key, at + 1)) {
        if (isWhole(line, at, key.length)) refs.push({ file, line: i + 1, column: at + 1, text: line.trim().slice(0, 200) });
      }
    });
  }
  return refs;
}

function isWhole(line: string, at: number, length: number): boolean {
  const before = line[at - 1];
  const after = line[at + length];
  const next = line[at + length + 1];
  if (before !== undefined && /[A-Za-z0-9_.-]/.test(before)) return false;
  if (after === undefined) return true;
  if (/[A-Za-z0-9_-]/.test(after)) return false;
  // "key.more" is another key; "key." ending a sentence is this one.
  return !(after === '.' && next !== undefined && /[A-Za-z0-9]/.test(next));
}
