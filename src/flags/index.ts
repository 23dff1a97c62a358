/**
 * The flags runtime: evaluation, the client, admin, telemetry and typed keys.
 * Re-exported from the package root. The OpenFeature provider and the OFREP
 * server have sub-path exports (`curtain/openfeature`, `curtain/ofrep`) so an
 * application that only evaluates flags never loads an HTTP framework.
 */
export { createFlags, FlagsClient, type CreateFlagsOptions, type FlagChange, type FlagsStatus } from './client.js';
export {
  compileFlags,
  dependsOnContext,
  evaluate,
  isOn,
  type CompiledFlag,
  type EvaluationContext,
  type EvaluationErrorCode,
  type EvaluationReason,
  type EvaluationResult,
  type FlagDefinition,
  type FlagTable,
} from './evaluate.js';
export { bucket, bucketPrefix, murmur3, prefixedBucket, type BucketPrefix } from './hash.js';
export { layoutGroups, groupChangeProblem, type GroupMember, type Slice } from './groups.js';
export { assertFlagKey, isValidFlagKey, flagKeyProblem, MAX_KEY_LENGTH } from './keys.js';
export {
  deleteFlag,
  flagHistory,
  flagsVersion,
  getFlag,
  listFlags,
  setFlag,
  MAX_DESCRIPTION_LENGTH,
  MAX_REASON_LENGTH,
  type ChangeMeta,
  type FlagEvent,
  type FlagPatch,
  type FlagRow,
} from './store.js';
export { type UnknownSummary } from './unknown.js';
export { flagDebt, flagState, type FlagDebt } from './debt.js';
export { flagUsage, type FlagUsage } from './usage.js';
export { errorRates, type ErrorRates, type VariantErrors } from './error-rates.js';
export {
  compileConstraints,
  constraintProblem,
  describeFlagState,
  formatConstraint,
  hasTargeting,
  matchesAll,
  subjectProblem,
  targetingProblem,
  TARGETING_LIMITS,
  type CompiledConstraint,
  type Constraint,
  type ConstraintOperator,
  type Targeting,
} from './targeting.js';
export { parseConstraint, parseSubjects, parseTargeting, TargetingSyntaxError, type ParsedTargeting } from './targeting-syntax.js';
export { targetFlag, type TargetFlagInput } from './target.js';
export { retireFlag, type RetireOptions, type RetireResult } from './retire.js';
export { assertFlagWritable, changeFlag } from './ownership.js';
export { findFlagReferences, type FlagReference } from './references.js';
export { globFiles, globToRegExp } from './glob.js';
export { generateFlagTypes, type CodegenOptions } from './codegen.js';
export { readBackup, writeBackup, type FlagBackup } from './backup.js';
export type { FlagKey, FlagKeys } from './types.js';
