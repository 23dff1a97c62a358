export { runBackfill, primaryKey, type BackfillOptions, type BackfillProgress, type BackfillResult } from './run.js';
export { verifyBackfill, type VerifyResult } from './verify.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
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
