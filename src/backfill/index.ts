export { runBackfill, primaryKey, type BackfillOptions, type BackfillProgress, type BackfillResult } from './run.js';
export { verifyBackfill, type VerifyResult } from './verify.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint } from '../store/checkpoints.js';
