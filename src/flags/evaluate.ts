/**
 * Pure flag evaluation. Flags are compiled once per load into small objects
 * holding exactly what a call needs, so evaluating is a map lookup plus, for a
 * partial rollout, one hash — no allocation, never a throw.
 */
import { bucket } from './hash.js';
import { layoutGroups, type GroupMember } from './groups.js';
import { isValidFlagKey } from './keys.js';

/** The persisted state evaluation depends on. */
export interface FlagDefinition extends GroupMember {
  key: string;
  enabled: boolean;
  rollout: number;
  group: string | null;
  retired: boolean;
  version?: number;
  description?: string | null;
  migration?: string | null;
}

/** Who a flag is evaluated for. */
export interface EvaluationContext {
  /** The sticky subject: user, account, tenant... Required for partial rollouts. */
  targetingKey?: string;
  [attribute: string]: unknown;
}

/** OpenFeature's reasons, as far as curtain produces them. */
export type EvaluationReason = 'STATIC' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

/** OpenFeature's error codes, as far as curtain produces them. */
export type EvaluationErrorCode = 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'INVALID_CONTEXT' | 'GENERAL';

/** The outcome of one evaluation. */
export interface EvaluationResult {
  readonly value: boolean;
  readonly reason: EvaluationReason;
  /** `"on"` or `"off"` for known flags. */
  readonly variant?: 'on' | 'off';
  readonly errorCode?: EvaluationErrorCode;
  readonly errorMessage?: string;
}

/** How a compiled flag answers: the same for everyone, or by bucket. */
export const Mode = { Off: 0, On: 1, Split: 2 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** One flag, ready to evaluate. Counters are telemetry, incremented by the client. */
export interface CompiledFlag {
  readonly key: string;
  readonly definition: FlagDefinition;
  readonly mode: Mode;
  /** Reason when not a split. */
  readonly result: EvaluationResult;
  /** Hash prefix: `"<flag or group>:"`. */
  readonly prefix: string;
  /** Owned buckets, inclusive. */
  readonly lo: number;
  readonly hi: number;
  trueCount: number;
  falseCount: number;
}

/** Every known flag by key. */
export type FlagTable = ReadonlyMap<string, CompiledFlag>;

const RESULTS = {
  disabled: Object.freeze({ value: false, reason: 'DISABLED', variant: 'off' } as const),
  staticOn: Object.freeze({ value: true, reason: 'STATIC', variant: 'on' } as const),
  staticOff: Object.freeze({ value: false, reason: 'STATIC', variant: 'off' } as const),
  splitOn: Object.freeze({ value: true, reason: 'SPLIT', variant: 'on' } as const),
  splitOff: Object.freeze({ value: false, reason: 'SPLIT', variant: 'off' } as const),
  noSubject: Object.freeze({ value: false, reason: 'DEFAULT', variant: 'off' } as const),
  unknown: Object.freeze({ value: false, reason: 'DEFAULT', errorCode: 'FLAG_NOT_FOUND', errorMessage: 'unknown flag' } as const),
} satisfies Record<string, EvaluationResult>;

/**
 * Compile flag definitions into a lookup table. Exclusion-group slices are
 * computed here, once, from all members (see groups.ts).
 *
 * @example
 * const table = compileFlags([{ key: 'a', enabled: true, rollout: 25, group: null, retired: false }]);
 * evaluate(table, 'a', { targetingKey: 'user-1' });
 */
export function compileFlags(definitions: Iterable<FlagDefinition>): Map<string, CompiledFlag> {
  const defs = [...definitions];
  const slices = layoutGroups(defs);
  const table = new Map<string, CompiledFlag>();
  for (const d of defs) {
    const slice = slices.get(d.key) ?? { lo: 1, hi: Math.max(0, Math.min(100, d.rollout)) };
    let mode: Mode;
    let result: EvaluationResult;
    if (d.retired) [mode, result] = [Mode.On, RESULTS.staticOn];
    else if (!d.enabled) [mode, result] = [Mode.Off, RESULTS.disabled];
    else if (slice.hi < slice.lo) [mode, result] = [Mode.Off, RESULTS.staticOff];
    else if (slice.lo === 1 && slice.hi === 100) [mode, result] = [Mode.On, RESULTS.staticOn];
    else [mode, result] = [Mode.Split, RESULTS.splitOff];
    table.set(d.key, {
      key: d.key,
      definition: Object.freeze({ ...d }),
      mode,
      result,
      prefix: d.group ?? d.key,
      lo: slice.lo,
      hi: slice.hi,
      trueCount: 0,
      falseCount: 0,
    });
  }
  return table;
}

/**
 * A compiled flag's value for a subject: the hot path behind `isEnabled`.
 *
 * @example
 * isOn(table.get('checkout.v2'), 'user-42');
 */
export function isOn(flag: CompiledFlag | undefined, targetingKey: string | undefined): boolean {
  if (flag === undefined) return false;
  if (flag.mode !== Mode.Split) return flag.mode === Mode.On;
  if (typeof targetingKey !== 'string' || targetingKey === '') return false;
  const b = bucket(targetingKey, flag.prefix);
  return b >= flag.lo && b <= flag.hi;
}

/**
 * Evaluate `key` for `context` with the reason: unknown → false (DEFAULT,
 * FLAG_NOT_FOUND); disabled → false (DISABLED); retired or fully on → true
 * (STATIC); partial rollout → the subject's sticky bucket decides (SPLIT), and
 * without a targeting key → false (DEFAULT). Never throws.
 *
 * @example
 * evaluate(table, 'checkout.v2', { targetingKey: 'user-42' }); // { value: true, reason: 'SPLIT', variant: 'on' }
 */
export function evaluate(table: FlagTable, key: string, context?: EvaluationContext): EvaluationResult {
  const flag = table.get(key);
  if (flag === undefined) {
    if (!isValidFlagKey(key)) return invalidKey(key);
    return RESULTS.unknown;
  }
  return evaluateCompiled(flag, context?.targetingKey);
}

/** {@link evaluate} for an already looked-up flag. */
export function evaluateCompiled(flag: CompiledFlag, targetingKey: unknown): EvaluationResult {
  if (flag.mode !== Mode.Split) return flag.result;
  if (typeof targetingKey !== 'string' || targetingKey === '') return RESULTS.noSubject;
  const b = bucket(targetingKey, flag.prefix);
  return b >= flag.lo && b <= flag.hi ? RESULTS.splitOn : RESULTS.splitOff;
}

/** The result for a key that is not a valid flag key. */
export function invalidKey(key: unknown): EvaluationResult {
  return {
    value: false,
    reason: 'ERROR',
    errorCode: 'FLAG_NOT_FOUND',
    errorMessage: `invalid flag key ${JSON.stringify(key)}`,
  };
}

/** The result for an unknown (valid) key. */
export const UNKNOWN_RESULT: EvaluationResult = RESULTS.unknown;
