export { runBackfill, primaryKey, type BackfillOptions, type BackfillProgress, type BackfillResult, type BlockingSession } from './run.js';
export { verifyBackfill, type VerifyResult } from './verify.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
