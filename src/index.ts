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
// Running them: every lifecycle command goes through the migrator, which holds the migrate lock.
export { createMigrator, openMigrator } from './migration/migrator.js';
export type { Migrator, MigratorOptions, PlannedMigration, RunOptions } from './migration/migrator.js';
export type { LifecycleReporter, TransitionResult } from './migration/context.js';
export type { StepEvent } from './migration/executor.js';
export type { SwitchOptions } from './migration/transitions/switch.js';
export { RolloutStoppedError, RolloutCancelledError, type RolloutOptions, type RolloutResult } from './migration/rollout.js';
export { rolloutPlan, parsePercentages, describePlan, type RolloutPlan } from './migration/rollout-plan.js';
export { getRollout, listRollouts, type RolloutRow, type RolloutStatus, type RolloutTargeting } from './store/rollouts.js';
export type { MigrationEntry } from './migration/project.js';
export { TABLE as lifecycleTable, PHASES, COMMANDS, outcome, commandsFrom, commandsAhead, mermaid as lifecycleDiagram } from './migration/machine.js';
export type { Phase, Command as LifecycleCommand, Outcome } from './migration/machine.js';
export type * from './migration/program.js';
export { CONTRACT_GUARDS } from './migration/guards.js';
export type { GuardOptions } from './migration/guards.js';
export { lintMigration } from './migration/lint.js';
export { createThrottle, checkReplicaTarget, throttleOptionsFrom } from './backfill/throttle.js';
export type { ReplicaLag, ReplicaTarget, Throttle, ThrottleOptions, ThrottleState } from './backfill/throttle.js';
export {
  getBackfillControl,
  listBackfillControls,
  setBackfillControl,
  pauseBackfill,
  resumeBackfill,
  reportBackfillThrottle,
  UnknownMigrationError,
  type BackfillControl,
  type BackfillControlPatch,
} from './backfill/control.js';
export { liveness, assertNotLive, type Liveness } from './migration/liveness.js';
export type { UpOptions } from './migration/up.js';

// From SQL you already have
export { convertSql, databaseCatalog, type Conversion, type ConvertCatalog } from './convert/index.js';
export { baseline, type BaselineResult } from './migration/baseline.js';
export { drift, type DriftItem, type DriftReport } from './migration/drift.js';
export { squash, type SquashResult } from './migration/squash.js';

// Configuration, connections, errors
export { defineConfig, loadConfig } from './config.js';
export type { Config, ServeKey, UserConfig } from './config.js';
export { CurtainError, UsageError, GuardRefusal, LockBusyError, LockLostError, BackfillPausedError, BackfillRowError, MigrationFileError, ExitCode } from './errors.js';
export type { StepInfo } from './errors.js';
export { connect } from './db/connect.js';
export type { Database } from './db/connect.js';
export { startEmbedded } from './db/embedded.js';
export type { EmbeddedServer, EmbeddedOptions } from './db/embedded.js';
export { findDependents, formatDependent, describeTarget } from './db/dependents.js';
export type { DropTarget, Dependent, DependentKind, FindDependentsOptions } from './db/dependents.js';
export { ensureStore, DEFAULT_SCHEMA } from './store/store.js';

// Flags, snapshots, lint
export { createFlags, FlagsClient, type CreateFlagsOptions, type FlagChange, type FlagsStatus } from './flags/client.js';
export { compileFlags, evaluate, isOn } from './flags/evaluate.js';
export type { CompiledFlag, EvaluationContext, EvaluationErrorCode, EvaluationReason, EvaluationResult, FlagDefinition, FlagTable } from './flags/evaluate.js';
export { assertFlagKey, isValidFlagKey, flagKeyProblem, MAX_KEY_LENGTH } from './flags/keys.js';
export { flagHistory, flagsVersion, getFlag, listFlags, type FlagEvent, type FlagRow } from './flags/store.js';
export { flagUsage, type FlagUsage } from './flags/usage.js';
export { errorRates, type ErrorRates, type VariantErrors } from './flags/error-rates.js';
export { describeFlagState, formatConstraint, type Constraint, type ConstraintOperator, type Targeting } from './flags/targeting.js';
export { parseConstraint, parseSubjects, parseTargeting, TargetingSyntaxError, type ParsedTargeting } from './flags/targeting-syntax.js';
export { targetFlag, type TargetFlagInput } from './flags/target.js';
export { retireFlag, type RetireOptions, type RetireResult } from './flags/retire.js';
export { findFlagReferences, type FlagReference } from './flags/references.js';
export { generateFlagTypes, type CodegenOptions } from './flags/codegen.js';
export type { FlagKey, FlagKeys } from './flags/types.js';
export * from './snapshots/index.js';
export { lintSql, lintSteps, formatFindings, rules as lintRules } from './lint/index.js';
export type { Finding, LintOptions } from './lint/index.js';
