/**
 * curtain: immutable migrations for PostgreSQL. Build state B next to state A,
 * keep both in sync, let a persisted flag decide which one the application
 * uses, and remove A only when B has proven itself.
 */

// Writing migrations
export { defineMigration, isMigration, isCodeMigration } from './migration/define.js';
export type { Migration, MigrationDefinition, PhaseContext, PhaseFunction } from './migration/define.js';
export { op, sql, OperationError } from './ops/index.js';
export type * from './ops/index.js';

// Running them
export { createMigrator } from './migration/migrator.js';
export type { Migrator, MigratorOptions } from './migration/migrator.js';
export { Project } from './migration/project.js';
export { expand, switchFlag, contract, abort } from './migration/lifecycle.js';
export type { LifecycleContext, LifecycleReporter, TransitionResult } from './migration/lifecycle.js';
export { CONTRACT_GUARDS } from './migration/guards.js';
export { lintMigration } from './migration/lint.js';

// Configuration, connections, errors
export { defineConfig, loadConfig } from './config.js';
export type { Config, UserConfig } from './config.js';
export { CurtainError, UsageError, GuardRefusal, LockBusyError, MigrationFileError, ExitCode } from './errors.js';
export { connect } from './db/connect.js';
export type { Database } from './db/connect.js';
export { startEmbedded } from './db/embedded.js';
export type { EmbeddedServer, EmbeddedOptions } from './db/embedded.js';
export { findDependents, formatDependent, describeTarget } from './db/dependents.js';
export type { DropTarget, Dependent, DependentKind, FindDependentsOptions } from './db/dependents.js';
export { ensureStore, DEFAULT_SCHEMA } from './store/store.js';

// Flags, snapshots, lint
export * from './flags/index.js';
export * from './snapshots/index.js';
export { lintSql, lintSteps, formatFindings, rules as lintRules } from './lint/index.js';
export type { Finding, LintOptions } from './lint/index.js';
