import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import { MigrationFileError } from '../errors.js';
import { discoverMigrations, findMigration, loadMigration, type LoadedMigration, type MigrationFile } from './loader.js';
import { listRecords, type MigrationRecord } from './records.js';

/** A migration file next to what the database knows of it. */
export interface MigrationEntry {
  file?: MigrationFile;
  record?: MigrationRecord;
  name: string;
  /** `pending` when the database has no live record of it. */
  phase: MigrationRecord['phase'] | 'pending';
  /** The applied file no longer matches the checksum recorded at expand. */
  changed: boolean;
}

/** Phases between the start of expand and the end of contract or abort. */
const IN_FLIGHT = new Set(['expanding', 'expanded', 'switched', 'contracting', 'aborting']);

/** Phases in which a migration's file is "applied" and so immutable. */
const APPLIED = new Set(['expanding', 'expanded', 'switched', 'contracting', 'contracted', 'aborting']);

/** The state of a project's migrations: files on disk and rows in the database, joined by name. */
export class Project {
  private constructor(
    readonly config: Config,
    readonly pool: pg.Pool,
    readonly entries: MigrationEntry[],
  ) {}

  /**
   * Read the migrations folder and the curtain schema.
   *
   * @example
   * const project = await Project.open(config, pool);
   * project.assertUnchanged();
   */
  static async open(config: Config, pool: pg.Pool): Promise<Project> {
    const dir = path.resolve(config.root, config.migrationsDir);
    const files = await discoverMigrations(dir);
    const records = await listRecords(pool, config.schema);
    const byName = new Map<string, MigrationEntry>();
    for (const file of files) byName.set(file.name, { file, name: file.name, phase: 'pending', changed: false });
    for (const record of records) {
      const entry = byName.get(record.name) ?? { name: record.name, phase: 'pending' as const, changed: false };
      entry.record = record;
      entry.phase = record.phase === 'aborted' ? 'pending' : record.phase;
      entry.changed = Boolean(entry.file && APPLIED.has(record.phase) && entry.file.checksum !== record.checksum);
      byName.set(record.name, entry);
    }
    const entries = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return new Project(config, pool, entries);
  }

  /** Refuse to go on when an applied migration's file was edited: history must not be rewritten. */
  assertUnchanged(): void {
    const changed = this.entries.find((e) => e.changed);
    if (changed) {
      throw new MigrationFileError(
        path.relative(process.cwd(), changed.file!.path) || changed.file!.path,
        `was changed after it was applied (phase ${changed.phase}); applied migrations are immutable`,
        'restore the file as it was (e.g. git checkout it) and write a new migration for the change',
      );
    }
  }

  /** The entry for a name (full, or the part after the timestamp). */
  find(name: string): MigrationEntry {
    const withFiles = this.entries.filter((e) => e.file).map((e) => ({ ...e.file!, entry: e }));
    const exactRecord = this.entries.find((e) => e.name === name);
    if (exactRecord) return exactRecord;
    return findMigration(withFiles, name).entry;
  }

  /** What `expand` with no name works on, in order: pending migrations and interrupted expands. */
  expandable(): MigrationEntry[] {
    return this.entries.filter((e) => e.file && (e.phase === 'pending' || e.phase === 'expanding'));
  }

  /** Migrations between expand and the end of contract or abort. */
  inFlight(): MigrationEntry[] {
    return this.entries.filter((e) => IN_FLIGHT.has(e.phase));
  }

  /** Load an entry's file, which must exist. */
  async load(entry: MigrationEntry): Promise<LoadedMigration> {
    if (!entry.file) {
      throw new MigrationFileError(
        entry.name,
        `has no file in ${this.config.migrationsDir}/ but is ${entry.phase} in the database`,
        'restore the file from version control',
      );
    }
    return loadMigration(entry.file);
  }
}
