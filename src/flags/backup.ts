/**
 * The local backup file: the last flags a client loaded, so a process that
 * starts while the database is unreachable still serves real values.
 */
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, writePrivateFile } from '../files/private.js';
import type { FlagDefinition } from './evaluate.js';

/** What the backup file holds. */
export interface FlagBackup {
  format: 'curtain.flags/1';
  schema: string;
  version: number;
  savedAt: string;
  flags: FlagDefinition[];
}

/**
 * Write the backup atomically (temporary file, then rename), so a crash
 * mid-write never leaves a torn file behind. The file is `0600` and a folder
 * it creates `0700`: flag descriptions are nobody else's business.
 *
 * @example
 * await writeBackup('/var/lib/app/flags.json', 'curtain', 42, flags);
 */
export async function writeBackup(file: string, schema: string, version: number, flags: FlagDefinition[]): Promise<void> {
  const body: FlagBackup = { format: 'curtain.flags/1', schema, version, savedAt: new Date().toISOString(), flags };
  await ensurePrivateDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  await writePrivateFile(tmp, `${JSON.stringify(body)}\n`);
  await rename(tmp, file);
}

/**
 * Read a backup written by {@link writeBackup}; undefined when the file is
 * missing, unreadable, or for another schema.
 *
 * @example
 * const backup = await readBackup('/var/lib/app/flags.json', 'curtain');
 */
export async function readBackup(file: string, schema: string): Promise<FlagBackup | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<FlagBackup>;
    if (parsed.format !== 'curtain.flags/1' || parsed.schema !== schema || !Array.isArray(parsed.flags)) return undefined;
    const flags = parsed.flags.filter(
      (f): f is FlagDefinition =>
        !!f && typeof f.key === 'string' && typeof f.enabled === 'boolean' && typeof f.rollout === 'number' && typeof f.retired === 'boolean',
    );
    return { format: parsed.format, schema, version: Number(parsed.version) || 0, savedAt: String(parsed.savedAt), flags: flags.map((f) => ({ ...f, group: f.group ?? null })) };
  } catch {
    return undefined;
  }
}
