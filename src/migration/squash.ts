import { promises as fs } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import { GuardRefusal, UsageError } from '../errors.js';
import { addEvent } from '../store/migrations.js';
import { baselineSource, dumpSchema, recordContracted } from './baseline.js';
import { replayInto } from './drift.js';
import { Project } from './project.js';

/** What {@link squash} did. */
export interface SquashResult {
  /** The new file that replaces the folded ones. */
  file: string;
  name: string;
  /** The migrations folded into it (their files were removed; version control keeps them). */
  folded: string[];
}

/**
 * Fold every migration up to and including `through` (all contracted) into
 * one baseline file, so a new database replays one file. The schema it holds
 * is the one those migrations produce (replayed into a scratch database and
 * dumped). Here it is recorded as contracted and the folded migrations are
 * marked squashed; on other databases where they ran, its expand sees that
 * and does nothing.
 *
 * @example
 * const { file, folded } = await squash(config, pool, url, '20260101000500_order_notes', 'you@laptop');
 */
export async function squash(config: Config, pool: pg.Pool, url: string, through: string, actor: string): Promise<SquashResult> {
  const project = await Project.open(config, pool);
  project.assertUnchanged();
  const last = project.find(through);
  if (!last.file) throw new UsageError(`${last.name} has no file to squash`);
  const folded = project.entries.filter((e) => e.file && e.name <= last.name);
  const open = folded.filter((e) => e.phase !== 'contracted');
  if (open.length > 0) {
    throw new GuardRefusal(
      'squash',
      `only contracted migrations can be folded; ${open.map((e) => `${e.name} is ${e.phase}`).join(', ')}`,
      `contract (or abort and delete) them first, or squash through an earlier migration`,
    );
  }
  const stamp = /^(\d{14})_/.exec(last.name)?.[1];
  if (!stamp) throw new UsageError(`${last.name} has no timestamp prefix`);
  const name = `${stamp}_squashed`;
  const after = project.entries.find((e) => e.name > last.name);
  if (after && after.name <= name) throw new UsageError(`the squashed file ${name} would not sort before ${after.name}`, 'squash through a migration whose successor has a later timestamp');

  const dir = path.resolve(config.root, config.migrationsDir);
  const sql = await replayInto(config, pool, url, folded, async (db, _replayed, scratchUrl) => dumpSchema(db.pool, scratchUrl, config.schema));
  const file = path.join(dir, `${name}.ts`);
  await fs.writeFile(file, baselineSource(sql, `squashed: ${folded.length} migration(s) through ${last.name}`, { schema: config.schema, migration: last.name }));
  try {
    await recordContracted(config, pool, dir, name, actor, 'squash', { folded: folded.map((e) => e.name) });
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
  for (const e of folded) {
    await addEvent(pool, config.schema, { migration: e.name, event: 'squashed', actor, details: { into: name } });
    await fs.rm(e.file!.path, { force: true });
  }
  return { file, name, folded: folded.map((e) => e.name) };
}
