/**
 * Pure flag evaluation. Flags are compiled once per load into small objects
 * holding exactly what a call needs, so evaluating is a map lookup plus, when
 * the value depends on the context, a set lookup, a few attribute compares
 * and one hash of the subject (the flag's part of the hash is precomputed) —
 * no allocation, never a throw.
 *
 * The order, for a known flag: retired → on; disabled → off; targetingKey in
 * the allowlist → on; every constraint holds → on; bucket within the rollout
 * → on; otherwise off.
 */
import { bucketPrefix, prefixedBucket, type BucketPrefix } from './hash.js';
import { layoutGroups, type GroupMember } from './groups.js';
import { isValidFlagKey } from './keys.js';
import { compileConstraints, matchesAll, type CompiledConstraint, type Constraint } from './targeting.js';

/** The persisted state evaluation depends on. */
export interface FlagDefinition extends GroupMember {
  key: string;
  enabled: boolean;
  rollout: number;
  group: string | null;
  retired: boolean;
  /** Allowlist: these targeting keys get the flag (while enabled), whatever the rollout. */
  subjects?: readonly string[];
  /** Conditions on context attributes, ANDed: a context meeting all of them gets the flag. */
  constraints?: readonly Constraint[];
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
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

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

/** How a compiled flag answers: the same for everyone, or by context (targeting, then bucket). */
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
  /** The prefix's hash state, computed once. */
  readonly hash: BucketPrefix;
  /** Owned buckets, inclusive (empty when hi < lo). */
  readonly lo: number;
  readonly hi: number;
  /** Allowlisted targeting keys, or null. */
  readonly subjects: ReadonlySet<string> | null;
  /** Constraints (ANDed), or null. */
  readonly constraints: readonly CompiledConstraint[] | null;
  trueCount: number;
  falseCount: number;
  /** The value this process last got (telemetry: what `track` without a context attributes to). */
  last: boolean | undefined;
}

/** Every known flag by key. */
export type FlagTable = ReadonlyMap<string, CompiledFlag>;

const RESULTS = {
  disabled: Object.freeze({ value: false, reason: 'DISABLED', variant: 'off' } as const),
  staticOn: Object.freeze({ value: true, reason: 'STATIC', variant: 'on' } as const),
  staticOff: Object.freeze({ value: false, reason: 'STATIC', variant: 'off' } as const),
  splitOn: Object.freeze({ value: true, reason: 'SPLIT', variant: 'on' } as const),
  splitOff: Object.freeze({ value: false, reason: 'SPLIT', variant: 'off' } as const),
  targeted: Object.freeze({ value: true, reason: 'TARGETING_MATCH', variant: 'on' } as const),
  untargeted: Object.freeze({ value: false, reason: 'DEFAULT', variant: 'off' } as const),
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
    const subjects = Array.isArray(d.subjects) && d.subjects.length > 0 ? new Set(d.subjects.filter((s) => typeof s === 'string')) : null;
    const constraints = compileConstraints(d.constraints);
    const targeted = subjects !== null || constraints !== null;
    let mode: Mode;
    let result: EvaluationResult;
    if (d.retired) [mode, result] = [Mode.On, RESULTS.staticOn];
    else if (!d.enabled) [mode, result] = [Mode.Off, RESULTS.disabled];
    else if (slice.lo === 1 && slice.hi === 100) [mode, result] = [Mode.On, RESULTS.staticOn];
    else if (slice.hi < slice.lo && !targeted) [mode, result] = [Mode.Off, RESULTS.staticOff];
    else [mode, result] = [Mode.Split, RESULTS.splitOff];
    const prefix = d.group ?? d.key;
    table.set(d.key, {
      key: d.key,
      definition: Object.freeze({ ...d }),
      mode,
      result,
      prefix,
      hash: bucketPrefix(prefix),
      lo: slice.lo,
      hi: slice.hi,
      subjects,
      constraints,
      trueCount: 0,
      falseCount: 0,
      last: undefined,
    });
  }
  return table;
}

/**
 * A compiled flag's value for a context (or just a targeting key): the hot
 * path behind `isEnabled`. Same order as {@link evaluate}, without the reason.
 *
 * @example
 * isOn(table.get('checkout.v2'), { targetingKey: 'user-42', tenant: 'acme' });
 * isOn(table.get('checkout.v2'), 'user-42');
 */
export function isOn(flag: CompiledFlag | undefined, context: EvaluationContext | string | undefined): boolean {
  if (flag === undefined) return false;
  if (flag.mode !== Mode.Split) return flag.mode === Mode.On;
  if (context === undefined || context === null) return false;
  const byKey = typeof context === 'string';
  const key = byKey ? context : context.targetingKey;
  const hasKey = typeof key === 'string' && key !== '';
  if (hasKey && flag.subjects !== null && flag.subjects.has(key)) return true;
  if (!byKey && flag.constraints !== null && matchesAll(flag.constraints, context)) return true;
  if (!hasKey || flag.hi < flag.lo) return false;
  const b = prefixedBucket(flag.hash, key);
  return b >= flag.lo && b <= flag.hi;
}

/**
 * Evaluate `key` for `context` with the reason, in this order: unknown →
 * false (DEFAULT, FLAG_NOT_FOUND); retired → true (STATIC); disabled → false
 * (DISABLED); fully on → true (STATIC); `targetingKey` in the allowlist, or
 * every constraint met → true (TARGETING_MATCH); partial rollout → the
 * subject's sticky bucket decides (SPLIT); no targeting key, or no rollout
 * left → false (DEFAULT); rollout 0 and no targeting → false (STATIC).
 * Never throws on a well-formed context.
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
  return evaluateCompiled(flag, context);
}

/** {@link evaluate} for an already looked-up flag. */
export function evaluateCompiled(flag: CompiledFlag, context: EvaluationContext | undefined): EvaluationResult {
  if (flag.mode !== Mode.Split) return flag.result;
  const key = context?.targetingKey;
  const hasKey = typeof key === 'string' && key !== '';
  if (hasKey && flag.subjects !== null && flag.subjects.has(key)) return RESULTS.targeted;
  if (context && flag.constraints !== null && matchesAll(flag.constraints, context)) return RESULTS.targeted;
  if (flag.hi < flag.lo) return RESULTS.untargeted;
  if (!hasKey) return RESULTS.noSubject;
  const b = prefixedBucket(flag.hash, key);
  return b >= flag.lo && b <= flag.hi ? RESULTS.splitOn : RESULTS.splitOff;
}

/** True when a flag's value depends on the context (targeting or a partial rollout). */
export function dependsOnContext(flag: CompiledFlag): boolean {
  return flag.mode === Mode.Split;
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
