/**
 * A minimal glob matcher (`**`, `*`, `?`, `{a,b}`), enough for
 * `flags.sourceGlobs`. Node 20 has no `fs.glob`; this avoids a dependency.
 * Paths are matched relative and with `/` separators.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Compile a glob into an anchored regular expression.
 *
 * @example
 * globToRegExp('src/**\/*.{ts,js}').test('src/a/b.ts'); // true
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slashAfter = glob[i + 2] === '/';
        const atSegmentStart = i === 0 || glob[i - 1] === '/';
        if (atSegmentStart && slashAfter) {
          re += '(?:[^/]+/)*'; // zero or more whole directories
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      depth++;
      re += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]!);
    else re += escape(c);
  }
  return new RegExp(`^${re}$`);
}

function escape(c: string): string {
  return /[.+^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/** The leading directories of a glob that contain no pattern characters. */
export function globBase(glob: string): string {
  const parts = glob.split('/');
  const base: string[] = [];
  for (const p of parts.slice(0, -1)) {
    if (/[*?{}[\]]/.test(p)) break;
    base.push(p);
  }
  return base.join('/');
}

const SKIP = new Set(['node_modules', '.git']);

/**
 * Files under `root` matching any of `globs`, as sorted relative paths.
 * `node_modules` and `.git` are skipped unless a glob starts inside them.
 *
 * @example
 * await globFiles('/repo', ['src/**\/*.ts']); // ['src/index.ts', ...]
 */
export async function globFiles(root: string, globs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const glob of globs) {
    const g = glob.replace(/^\.\//, '');
    const re = globToRegExp(g);
    const base = globBase(g);
    await walk(root, base, (rel) => {
      if (re.test(rel)) found.add(rel);
    });
  }
  return [...found].sort();
}

async function walk(root: string, rel: string, visit: (rel: string) => void): Promise<void> {
  let entries;
  try {
    entries = await readdir(path.join(root, rel), { withFileTypes: true });
  } catch {
    return; // missing base directory: no matches
  }
  for (const e of entries) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!SKIP.has(e.name)) await walk(root, child, visit);
    } else if (e.isFile()) visit(child);
  }
}
