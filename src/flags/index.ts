/**
 * The flags runtime: evaluation, the client, admin, telemetry and typed keys.
 * Re-exported from the package root. The OpenFeature provider and the OFREP
 * server have sub-path exports (`curtain/openfeature`, `curtain/ofrep`) so an
 * application that only evaluates flags never loads an HTTP framework.
 */
export { createFlags, FlagsClient, type CreateFlagsOptions, type FlagChange, type FlagsStatus } from './client.js';
export {
  compileFlags,
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
export { bucket, murmur3 } from './hash.js';
export { layoutGroups, groupChangeProblem, type GroupMember, type Slice } from './groups.js';
export { assertFlagKey, isValidFlagKey, flagKeyProblem, MAX_KEY_LENGTH } from './keys.js';
export { deleteFlag, flagHistory, flagsVersion, getFlag, listFlags, setFlag, type ChangeMeta, type FlagEvent, type FlagPatch, type FlagRow } from './store.js';
export { flagUsage, type FlagUsage } from './usage.js';
export { retireFlag, type RetireOptions, type RetireResult } from './retire.js';
export { assertFlagWritable, changeFlag, FLAG_OWNING_PHASES } from './ownership.js';
export { findFlagReferences, type FlagReference } from './references.js';
export { globFiles, globToRegExp } from './glob.js';
export { generateFlagTypes, type CodegenOptions } from './codegen.js';
export { readBackup, writeBackup, type FlagBackup } from './backup.js';
export type { FlagKey, FlagKeys } from './types.js';
