import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createJiti } from 'jiti';
import { z } from 'zod';
import { CurtainError, MigrationFileError, UsageError } from '../errors.js';
import { flagKeyProblem } from '../flags/keys.js';
import { isCodeMigration, isMigration, type MigrationDefinition } from './define.js';

/** `<timestamp>_<name>.(ts|js|mts|mjs)`: the timestamp orders, the name identifies. */
const FILE_NAME = /^(\d{8,17})_([a-z0-9][a-z0-9_.-]*)\.(ts|mts|js|mjs)$/;

/** A migration file found on disk, loaded or not. */
export interface MigrationFile {
  /** File name without extension, e.g. `20261125120000_split_name`: the migration's identity. */
  name: string;
  path: string;
  /** sha256 of the file's text (line endings normalised). */
  checksum: string;
}

/** A loaded and validated migration. */
export interface LoadedMigration extends MigrationFile {
  definition: MigrationDefinition;
  flag: string;
  kind: 'schema' | 'code';
}

/**
 * The migration files of a folder, in order. Files that do not follow the
 * naming rule are reported rather than silently ignored.
 *
 * @example
 * const files = await discoverMigrations('migrations');
 */
export async function discoverMigrations(dir: string): Promise<MigrationFile[]> {
  if (!existsSync(dir)) return [];
  const entries = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink());
  const files: MigrationFile[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name.endsWith('.d.ts') || !/\.(ts|mts|js|mjs)$/.test(entry.name)) continue;
    if (!FILE_NAME.test(entry.name)) {
      throw new MigrationFileError(
        path.join(dir, entry.name),
        'is not named <timestamp>_<name>.ts',
        'rename it, e.g. 20261125120000_add_users_email.ts (lower-case name: letters, digits, "_", "-", ".")',
      );
    }
    const full = path.join(dir, entry.name);
    files.push({ name: entry.name.replace(/\.(ts|mts|js|mjs)$/, ''), path: full, checksum: await checksumOf(full) });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.name)) throw new MigrationFileError(f.path, 'has the same name as another migration (differs only in extension)');
    seen.add(f.name);
  }
  return files;
}

/** sha256 of a file's text with CRLF normalised, so a checkout on Windows does not look "changed". */
export async function checksumOf(file: string): Promise<string> {
  const text = (await fs.readFile(file, 'utf8')).replace(/\r\n/g, '\n');
  return createHash('sha256').update(text).digest('hex');
}

const definitionShape = z
  .object({
    flag: z.string().optional(),
    description: z.string().optional(),
    operations: z.array(z.object({ kind: z.string() }).passthrough()).optional(),
    expand: z.function().optional(),
    contract: z.function().optional(),
    abort: z.function().optional(),
    snapshot: z
      .object({ beforeSwitch: z.boolean().optional(), beforeContract: z.boolean().optional(), tables: z.array(z.string()).optional() })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Load one migration file (TypeScript needs no build step) and validate its
 * default export. Every problem names the file.
 *
 * @example
 * const m = await loadMigration(files[0]);
 * console.log(m.flag, m.kind);
 */
export async function loadMigration(file: MigrationFile): Promise<LoadedMigration> {
  // A file is evaluated once per process and content: phases load the same file several times.
  const key = `${file.path}\0${file.checksum}`;
  let loading = loaded.get(key);
  if (!loading) {
    loading = evaluate(file);
    loaded.set(key, loading);
    loading.catch(() => loaded.delete(key));
  }
  return loading;
}

const loaded = new Map<string, Promise<LoadedMigration>>();

async function evaluate(file: MigrationFile): Promise<LoadedMigration> {
  let mod: unknown;
  try {
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    // Through links to the real file, so its own imports resolve from where it really lives.
    mod = await jiti.import(await fs.realpath(file.path));
  } catch (err) {
    // An operation that rejected its options while the file was evaluated.
    if (err instanceof CurtainError) throw new MigrationFileError(file.path, err.message, err.hint);
    const text = (err as Error).message ?? String(err);
    const position = /\.(?:ts|mts|js|mjs):(\d+):(\d+)/.exec(text);
    const first = text.split('\n')[0]!.trim().replace(/^_curtain\./, '');
    const where = position ? ` at line ${position[1]}, column ${Number(position[2]) + 1}` : '';
    throw new MigrationFileError(file.path, `cannot be loaded${where}: ${first}`, 'fix the file: it is evaluated as a module, so its syntax and imports must be valid');
  }
  const exported = mod && typeof mod === 'object' && 'default' in mod ? (mod as { default: unknown }).default : undefined;
  if (exported === undefined) {
    throw new MigrationFileError(file.path, 'has no default export', "export default defineMigration({ ... }) from 'curtain'");
  }
  if (!isMigration(exported) && (typeof exported !== 'object' || exported === null)) {
    throw new MigrationFileError(file.path, `default export is ${typeof exported}, not a migration`, 'export default defineMigration({ ... })');
  }
  const parsed = definitionShape.safeParse({ ...(exported as object) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : `${where ? `${where}: ` : ''}${issue.message}`;
    throw new MigrationFileError(file.path, `invalid migration: ${message}`, 'allowed: flag, description, operations, expand, contract, abort, snapshot');
  }
  const definition = exported as MigrationDefinition;
  for (const [i, o] of (definition.operations ?? []).entries()) {
    if (typeof (o as { plan?: unknown }).plan !== 'function') {
      throw new MigrationFileError(file.path, `operations[${i}] (${(o as { kind: string }).kind}) is not an operation`, 'build operations with op.*');
    }
  }
  const flag = definition.flag ?? defaultFlag(file.name);
  const problem = flagKeyProblem(flag);
  if (problem) {
    throw new MigrationFileError(file.path, problem, definition.flag ? 'fix the flag option' : 'set flag: "..." explicitly in the migration');
  }
  return { ...file, definition, flag, kind: isCodeMigration(definition) ? 'code' : 'schema' };
}

/** The flag a migration gets by default: its file name without the timestamp. */
export function defaultFlag(name: string): string {
  return name.replace(/^\d+_/, '');
}

/** Find one migration by full name or by the part after the timestamp. */
export function findMigration<T extends { name: string }>(files: T[], name: string): T {
  const exact = files.find((f) => f.name === name);
  if (exact) return exact;
  const matches = files.filter((f) => defaultFlag(f.name) === name || f.name.startsWith(name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UsageError(`"${name}" matches several migrations: ${matches.map((m) => m.name).join(', ')}`);
  throw new UsageError(`no migration named "${name}"`, `run "migrate status" to see the migrations`);
}

