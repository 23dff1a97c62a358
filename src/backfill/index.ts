export { runBackfill, primaryKey, type BackfillOptions, type BackfillProgress, type BackfillResult, type BlockingSession } from './run.js';
export { verifyBackfill, describeOutOfSync, type VerifyResult } from './verify.js';
export { backfillLeaves, uncoveredPartitions, type UncoveredPartition } from './partitions.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint } from '../store/checkpoints.js';
export {
  createThrottle,
  throttleOptionsFrom,
  checkReplicaTarget,
  type ReplicaLag,
  type ReplicaTarget,
  type Throttle,
  type ThrottleOptions,
  type ThrottleState,
} from './throttle.js';
export {
  getBackfillControl,
  listBackfillControls,
  setBackfillControl,
  pauseBackfill,
  resumeBackfill,
  reportBackfillThrottle,
  UnknownMigrationError,
  CONTROL_LIMITS,
  type BackfillControl,
  type BackfillControlPatch,
} from './control.js';
