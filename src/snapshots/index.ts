/** Snapshots: take, list, compare, restore, drop. One interface, three strategies (tables, dump, clone). */
export { createSnapshot } from './create.js';
export { restoreSnapshot, previewRestore } from './restore.js';
export { listSnapshots, getSnapshot } from './list.js';
export { diffSnapshot, type SnapshotDiff } from './diff.js';
export { dropSnapshot } from './drop.js';
export { pruneSnapshots } from './prune.js';
export { STRATEGY_NAMES, strategyFor } from './strategies.js';
export { snapshotSchemaName } from './ids.js';
export { CHECKSUM_ALGORITHM } from './checksum.js';
export type { SnapshotStrategy, SnapshotRequest, RestoreRequest } from './strategy.js';
export type {
  CreateSnapshotOptions,
  RestorePreview,
  RestorePreviewTable,
  RestoreResult,
  RestoreSnapshotOptions,
  RowChanges,
  RestoredTable,
  SnapshotColumn,
  SnapshotRecord,
  SnapshotStatus,
  SnapshotStrategyName,
  SnapshotTable,
  TableDiff,
} from './types.js';
