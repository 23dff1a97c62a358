import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import { MigrationFileError } from '../errors.js';
import { listRecords, type MigrationRecord } from '../store/migrations.js';
import { discoverMigrations, findMigration, loadMigration, type LoadedMigration, type MigrationFile } from './loader.js';
import { isApplied, isInFlight, phaseOf, runs, type Command, type Phase } from './machine.js';
import { programOptionsOf } from './planning.js';
import { programOf, type Program } from './program.js';

/** A migration file next to what the database knows of it. */
export interface MigrationEntry {
  file?: MigrationFile;
  record?: MigrationRecord;
  name: string;
  /** The phase as the machine sees it (`pending` when the database has no live record of it). */
  phase: Phase;
  /** The applied file no longer matches the checksum recorded at expand. */
  changed: boolean;
}

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
    for (const file of files) byName.set(file.name, { file, name: file.name, phase: phaseOf(undefined), changed: false });
    for (const record of records) {
      const phase = phaseOf(record.phase);
      const entry = byName.get(record.name) ?? { name: record.name, phase, changed: false };
      entry.record = record;
      entry.phase = phase;
      entry.changed = Boolean(entry.file && isApplied(phase) && entry.file.checksum !== record.checksum);
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

  /** The entry for a name (full, the part after the timestamp, or a prefix), with or without a file. */
  find(name: string): MigrationEntry {
    const exact = this.entries.find((e) => e.name === name);
    if (exact) return exact;
    return findMigration(this.entries, name);
  }

  /** What a command with no name works on, in order: every migration the machine lets it run on (with a file). */
  targets(command: Command): MigrationEntry[] {
    return this.entries.filter((e) => e.file && runs(command, e.phase));
  }

  /** Migrations between expand and the end of contract or abort. */
  inFlight(): MigrationEntry[] {
    return this.entries.filter((e) => isInFlight(e.phase));
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

  /**
   * Load an entry for abort. A file deleted after expand is not needed when
   * the program persisted at expand calls none of its functions (every
   * operation migration): abort then runs from the database's record alone,
   * so a deleted file never strands a migration half-applied.
   */
  async loadForAbort(entry: MigrationEntry): Promise<LoadedMigration> {
    if (entry.file || !entry.record) return this.load(entry);
    const record = entry.record;
    const stored = record.plan as Partial<Program>;
    const needsFile = stored.version !== 2 || (stored.phases?.abort ?? []).some((s) => s.kind === 'custom');
    if (needsFile) {
      throw new MigrationFileError(
        entry.name,
        `has no file in ${this.config.migrationsDir}/ but is ${entry.phase} in the database, and its abort runs the file's own functions`,
        'restore the file from version control (git checkout it), then rerun abort',
      );
    }
    return {
      name: record.name,
      path: `(deleted) ${path.join(this.config.migrationsDir, `${record.name}.ts`)}`,
      checksum: record.checksum,
      definition: { operations: [], ...(record.description ? { description: record.description } : {}) } as unknown as LoadedMigration['definition'],
      flag: record.flag,
      kind: record.kind,
    };
  }

  /** The program persisted when the entry was expanded. */
  program(entry: MigrationEntry, migration: LoadedMigration): Program {
    return programOf(entry.record!.plan, programOptionsOf(migration));
  }
}
