import { describeFlagState } from './targeting.js';
import { formatDuration } from '../duration.js';
import { findFlagReferences } from './references.js';
import type { FlagRow } from './store.js';

/** A flag that should be gone: its migration is contracted, or it has been on for too long. */
export interface FlagDebt {
  flag: string;
  migration: string | null;
  reason: string;
  /** `file:line: text` of each reference still in the source. */
  references: string[];
}

/**
 * Flags that keep the system away from its steady state (all flags off):
 * retired flags of contracted migrations (locked on until the code stops
 * referencing them, with the references found under `sourceGlobs`), and flags
 * fully on for longer than `maxAgeMs`. `migrate status` and the console show it.
 *
 * @example
 * const debt = await flagDebt(await listFlags(pool, 'curtain'), { root: process.cwd(), sourceGlobs: ['src/**\/*.ts'], maxAgeMs: 30 * 86_400_000 });
 */
export async function flagDebt(flags: FlagRow[], options: { root: string; sourceGlobs: string[]; maxAgeMs: number }): Promise<FlagDebt[]> {
  const debt: FlagDebt[] = [];
  for (const flag of flags) {
    if (flag.retired) {
      const refs = await findFlagReferences(options.root, options.sourceGlobs, flag.key);
      debt.push({
        flag: flag.key,
        migration: flag.migration,
        reason: refs.length
          ? `locked on since contract; ${refs.length} reference(s) left in the source: remove them, then "migrate flags retire ${flag.key}"`
          : `locked on since contract and no longer referenced: run "migrate flags retire ${flag.key}"`,
        references: refs.map((r) => `${r.file}:${r.line}: ${r.text.trim()}`),
      });
    } else if (flag.fullyOnSince && Date.now() - flag.fullyOnSince.getTime() > options.maxAgeMs) {
      debt.push({
        flag: flag.key,
        migration: flag.migration,
        reason: `fully on for ${formatDuration(Date.now() - flag.fullyOnSince.getTime())} (flags.maxAge is ${formatDuration(options.maxAgeMs)}): contract its migration or remove it`,
        references: [],
      });
    }
  }
  return debt;
}

/**
 * The flag's state in a few words: off, on, on 25%, locked on.
 *
 * @example
 * flagState({ enabled: true, rollout: 25, retired: false }) // 'on 25%'
 */
export function flagState(flag: FlagRow): string {
  if (flag.retired) return 'locked on';
  return describeFlagState(flag);
}
