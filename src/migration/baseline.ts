import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import { quoteIdent } from '../db/identifiers.js';
import { transaction } from '../db/transaction.js';
import { UsageError } from '../errors.js';
import { compatibleTool, runTool, serverMajor, toolConnection } from '../snapshots/pg-tools.js';
import { addEvent, listEvents, setPhase, startRecord } from '../store/migrations.js';
import { schemaFingerprint } from '../testing/catalog.js';
import { discoverMigrations, loadMigration } from './loader.js';
import { isInFlight, phaseOf } from './machine.js';
import { programFor } from './planning.js';
import { Project } from './project.js';

/** What {@link baseline} did. */
export interface BaselineResult {
  /** The migration file that recreates the schema on an empty database. */
  file: string;
  name: string;
  /** Objects recorded, per kind (tables and columns, constraints, indexes, ...). */
  counts: Record<string, number>;
}

/** `20261125093000`: sortable, one per second. */
function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Adopt an existing database: dump its schema (pg_dump --schema-only, every
 * schema but curtain's) into `migrations/<timestamp>_baseline.ts`, which
 * recreates it on an empty database, and record that migration as contracted
 * here with the catalog fingerprint of what it stands for. Later migrations
 * are planned against the live catalog as usual; `migrate drift` compares
 * against what the baseline plus the recorded migrations produce.
 *
 * @example
 * const { file } = await baseline(config, pool, url, 'you@laptop');
 */
export async function baseline(config: Config, pool: pg.Pool, url: string, actor: string): Promise<BaselineResult> {
  const project = await Project.open(config, pool);
  const inFlight = project.entries.filter((e) => e.record && isInFlight(phaseOf(e.record.phase)));
  if (inFlight.length > 0) {
    throw new UsageError(`cannot take a baseline while ${inFlight.map((e) => `${e.name} (${e.phase})`).join(', ')} is in flight`, 'contract or abort it first');
  }
  for (const e of project.entries) {
    if (e.record && (await listEvents(pool, config.schema, e.name)).some((ev) => ev.event === 'baseline')) {
      throw new UsageError(`this database already has a baseline: ${e.name}`, 'a database is adopted once; later changes are migrations');
    }
  }
  const pending = project.entries.filter((e) => e.file && !e.record);
  if (pending.length > 0) {
    throw new UsageError(
      `${pending.length} migration file(s) are not applied here (${pending.slice(0, 3).map((e) => e.name).join(', ')}${pending.length > 3 ? ', ...' : ''})`,
      'a baseline records the schema as it is now and comes before every migration: take it in an empty migrations folder, or apply them first',
    );
  }
  const sql = await dumpSchema(pool, url, config.schema);
  const name = `${timestamp()}_baseline`;
  const dir = path.resolve(config.root, config.migrationsDir);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.ts`);
  await fs.writeFile(file, baselineSource(sql, `baseline: the schema as it was on ${new Date().toISOString().slice(0, 10)}`));

  try {
    const fingerprint = await recordContracted(config, pool, dir, name, actor, 'baseline', {});
    const counts = Object.fromEntries(Object.entries(fingerprint).map(([k, v]) => [k, v.length]));
    return { file, name, counts };
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
}

/**
 * Record a migration file that stands for schema already in place as
 * contracted, with no flag (nothing ever switched: no flag debt), with an `event` carrying the catalog
 * fingerprint; returns the fingerprint.
 */
export async function recordContracted(
  config: Config,
  pool: pg.Pool,
  dir: string,
  name: string,
  actor: string,
  event: string,
  details: Record<string, unknown>,
): Promise<Record<string, string[]>> {
  const migration = await loadMigration((await discoverMigrations(dir)).find((f) => f.name === name)!);
  const program = await programFor(migration, pool, config.schema);
  const fingerprint = await schemaFingerprint(pool, { exclude: [config.schema, 'curtain_snapshots'] });
  await transaction(pool, async (tx) => {
    await startRecord(tx, config.schema, { name, checksum: migration.checksum, flag: migration.flag, kind: migration.kind, description: migration.definition.description, plan: program, actor });
    await setPhase(tx, config.schema, name, 'contracted');
    await addEvent(tx, config.schema, { migration: name, event, actor, details: { ...details, fingerprint } });
  });
  return fingerprint;
}

/** The schema-only dump of every schema but curtain's. */
export async function dumpSchema(pool: pg.Pool, url: string, schema: string): Promise<string> {
  const tool = compatibleTool('pg_dump', await serverMajor(pool));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'curtain-baseline-'));
  try {
    const out = path.join(tmp, 'schema.sql');
    const { dbname, env } = toolConnection(url);
    await runTool(tool.path, ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', `--exclude-schema=${schema}`, '--exclude-schema=curtain_snapshots', '-f', out, '-d', dbname], env);
    const text = await fs.readFile(out, 'utf8');
    // Session settings become transaction-local (the expand runs in a transaction on a pooled
    // connection); psql meta-commands (\restrict) are not SQL.
    return text
      .split('\n')
      .filter((l) => !/^\\/.test(l) && !/^--/.test(l))
      .map((l) => l.replace(/^SET (?!LOCAL )/, 'SET LOCAL ').replace(/^(SELECT pg_catalog\.set_config\('[^']+', '[^']*', )false\)/, '$1true)'))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A migration whose expand runs the dumped DDL (on an empty database; never on the one it was taken from). */
export function baselineSource(sql: string, description: string, skipAfter?: { schema: string; migration: string }): string {
  const literal = sql.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
  return `import { defineMigration } from 'curtain';

// The schema this project started from, taken with "migrate baseline" (pg_dump --schema-only).
// On the database it was taken from it is recorded as contracted and never runs; on an empty
// database ("migrate up") its expand recreates that schema. Do not edit it: write migrations.
const schema = \`
${literal}
\`;

export default defineMigration({
  description: ${JSON.stringify(description)},
  async expand({ query }) {
${skipAfter ? `    // On a database where the migrations it folds ran, the schema is already there.
    const { rows } = await query(\`SELECT 1 FROM ${quoteIdent(skipAfter.schema)}.migrations WHERE name = $1 AND phase = 'contracted'\`, [${JSON.stringify(skipAfter.migration)}]);
    if (rows.length > 0) return;
` : ''}    await query(schema);
  },
});
`;
}
