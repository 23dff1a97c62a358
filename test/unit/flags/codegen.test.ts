import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { generateFlagTypes } from '../../../src/flags/codegen.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const options: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ['node'],
  typeRoots: [path.join(root, 'node_modules/@types')],
  // What users import as 'curtain': the flags entry point of this repository.
  paths: { curtain: [path.join(root, 'src/flags/index.ts')] },
};

// Library and source files parse once for both programs.
const host = ts.createCompilerHost(options);
const parsed = new Map<string, ts.SourceFile | undefined>();
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (file, lang, onError) => {
  if (file.startsWith(os.tmpdir())) return getSourceFile(file, lang, onError);
  if (!parsed.has(file)) parsed.set(file, getSourceFile(file, lang, onError));
  return parsed.get(file);
};

/** Type-check app files against the library, with or without the generated declarations; errors by file. */
function typecheck(apps: Record<string, string>, withGenerated: boolean): Record<string, string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'curtain-codegen-'));
  const files = Object.entries(apps).map(([name, text]) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  });
  if (withGenerated) {
    writeFileSync(path.join(dir, 'curtain-flags.d.ts'), generateFlagTypes(['checkout.v2', 'users.split-name']));
    files.push(path.join(dir, 'curtain-flags.d.ts'));
  }
  const program = ts.createProgram(files, options, host);
  const errors: Record<string, string[]> = Object.fromEntries(Object.keys(apps).map((n) => [n, []]));
  // Only the app files are checked: the library itself is type-checked by the build.
  for (const name of Object.keys(apps)) {
    const file = program.getSourceFile(path.join(dir, name))!;
    for (const d of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
      errors[name]!.push(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    }
  }
  return errors;
}

const app = (key: string) => `import type { FlagsClient } from 'curtain';
declare const flags: FlagsClient;
export const on: boolean = flags.isEnabled(${JSON.stringify(key)}, { targetingKey: 'u1' });
`;

describe('migrate codegen typing', () => {
  it('generates a module augmentation of FlagKeys', () => {
    const text = generateFlagTypes(['b.flag', 'a.flag', 'a.flag']);
    expect(text).toContain(`declare module "curtain" {`);
    expect(text).toContain(`"a.flag": true;\n    "b.flag": true;`);
    expect(text).toContain(`export type CurtainFlagKey = "a.flag" | "b.flag";`);
  });

  it('accepts any string without the declarations; with them, known keys only (tsc rejects a typo)', () => {
    expect(typecheck({ 'any.ts': app('anything.goes') }, false)).toEqual({ 'any.ts': [] });
    const typed = typecheck({ 'good.ts': app('checkout.v2'), 'typo.ts': app('checkout.v3') }, true);
    expect(typed['good.ts']).toEqual([]);
    expect(typed['typo.ts']!.join('\n')).toMatch(/"checkout\.v3"/);
  }, 60_000);
});
