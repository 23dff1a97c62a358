import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { globFiles, globToRegExp } from '../../../src/flags/glob.js';
import { findFlagReferences } from '../../../src/flags/references.js';

describe('globToRegExp', () => {
  const cases: [string, string, boolean][] = [
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/a/b/c.ts', true],
    ['src/**/*.ts', 'lib/a.ts', false],
    ['src/**/*.ts', 'src/a.tsx', false],
    ['src/*.ts', 'src/a/b.ts', false],
    ['src/**/*.{ts,tsx,js}', 'src/x/y.tsx', true],
    ['src/**/*.{ts,tsx,js}', 'src/x/y.mjs', false],
    ['**/*.js', 'a.js', true],
    ['**/*.js', 'deep/er/a.js', true],
    ['a?c.ts', 'abc.ts', true],
    ['a?c.ts', 'a/c.ts', false],
    ['file.ts', 'filexts', false],
  ];
  it.each(cases)('%s vs %s → %s', (glob, file, expected) => {
    expect(globToRegExp(glob).test(file)).toBe(expected);
  });
});

describe('findFlagReferences', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'curtain-refs-'));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  write('src/a.ts', `import x from 'y';\nif (flags.isEnabled('checkout.v2')) {}\n`);
  write('src/deep/b.tsx', `const k = "checkout.v2";\nconst other = "checkout.v20";\nconst more = 'checkout.v2.beta';\n`);
  write('src/c.js', `// mentions xcheckout.v2 only as part of a longer word\n`);
  write('src/notes.md', `checkout.v2\n`);
  write('node_modules/pkg/index.js', `checkout.v2\n`);
  write('src/d.ts', `// the checkout.v2. Done.\n`);

  it('lists whole-key occurrences as file:line in matching files only', async () => {
    const refs = await findFlagReferences(root, ['src/**/*.{ts,tsx,js}'], 'checkout.v2');
    expect(refs.map((r) => `${r.file}:${r.line}`)).toEqual(['src/a.ts:2', 'src/d.ts:1', 'src/deep/b.tsx:1']);
  });

  it('skips node_modules and missing directories', async () => {
    expect(await globFiles(root, ['**/*.js', 'nope/**/*.ts'])).toEqual(['src/c.js']);
  });
});
