import { UsageError } from '../errors.js';
import { cloneStrategy } from './clone.js';
import { dumpStrategy } from './dump.js';
import type { SnapshotStrategy } from './strategy.js';
import { tablesStrategy } from './tables.js';
import type { SnapshotStrategyName } from './types.js';

const strategies: Record<SnapshotStrategyName, SnapshotStrategy> = {
  tables: tablesStrategy,
  dump: dumpStrategy,
  clone: cloneStrategy,
};

/** Every strategy name, for option validation and help texts. */
export const STRATEGY_NAMES = Object.keys(strategies) as SnapshotStrategyName[];

/** The strategy called `name`, or a usage error listing the valid ones. */
export function strategyFor(name: string): SnapshotStrategy {
  const s = (strategies as Record<string, SnapshotStrategy | undefined>)[name];
  if (!s) throw new UsageError(`unknown snapshot strategy "${name}"`, `use one of: ${STRATEGY_NAMES.join(', ')}`);
  return s;
}
