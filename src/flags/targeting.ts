/**
 * Targeting: who gets a flag before any percentage. An allowlist of subjects
 * (matched against the context's `targetingKey`) and constraints on context
 * attributes (all must hold). Either one turns the flag on for a context;
 * everyone else falls through to the percentage rollout. This file is the
 * model: validation, compiled matching (pure), and display.
 */

/** How a constraint compares a context attribute with its values. */
export type ConstraintOperator = '=' | '!=' | 'in' | 'not in';

/** One condition on a context attribute, e.g. `tenant in (acme, initech)`. */
export interface Constraint {
  attribute: string;
  operator: ConstraintOperator;
  /** Exactly one value for `=` and `!=`. */
  values: string[];
}

/** The targeting part of a flag. */
export interface Targeting {
  /** Subject keys (the context's `targetingKey`) that always get the flag while it is enabled. */
  subjects: string[];
  /** Conditions on context attributes, ANDed: a context meeting all of them gets the flag. */
  constraints: Constraint[];
}

export const OPERATORS: readonly ConstraintOperator[] = ['=', '!=', 'in', 'not in'];
/** Limits, so a flag row (loaded by every client) stays small. */
export const TARGETING_LIMITS = { subjects: 10_000, subjectLength: 256, constraints: 20, values: 1_000, valueLength: 256, attributeLength: 64 } as const;

const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `name` is not a valid attribute name, or undefined. */
export function attributeProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !ATTRIBUTE.test(name)) {
    return `invalid attribute name ${JSON.stringify(name)}: use letters, digits, "_" and "-", starting with a letter or "_"`;
  }
  if (name.length > TARGETING_LIMITS.attributeLength) return `attribute name ${JSON.stringify(name)} is longer than ${TARGETING_LIMITS.attributeLength} characters`;
  return undefined;
}

/** Why `subject` is not a valid subject key, or undefined. */
export function subjectProblem(subject: unknown): string | undefined {
  if (typeof subject !== 'string') return `a subject must be a string, got ${typeof subject}`;
  if (subject.length === 0) return 'a subject cannot be empty';
  if (subject.length > TARGETING_LIMITS.subjectLength) return `subject ${JSON.stringify(subject.slice(0, 40))}... is longer than ${TARGETING_LIMITS.subjectLength} characters`;
  if (subject.trim() !== subject) return `subject ${JSON.stringify(subject)} has leading or trailing spaces`;
  if (subject.includes(',') || CONTROL.test(subject)) return `subject ${JSON.stringify(subject)} contains a comma or a control character`;
  return undefined;
}

/** Why `c` is not a valid constraint, or undefined. */
export function constraintProblem(c: unknown): string | undefined {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return 'a constraint must be an object { attribute, operator, values }';
  const { attribute, operator, values } = c as Partial<Constraint>;
  const a = attributeProblem(attribute);
  if (a) return a;
  if (!OPERATORS.includes(operator as ConstraintOperator)) return `invalid operator ${JSON.stringify(operator)}: use ${OPERATORS.join(', ')}`;
  if (!Array.isArray(values) || values.length === 0) return `constraint on "${attribute}" needs at least one value`;
  if ((operator === '=' || operator === '!=') && values.length !== 1) return `"${attribute} ${operator}" takes exactly one value; use "in" for a list`;
  if (values.length > TARGETING_LIMITS.values) return `constraint on "${attribute}" has ${values.length} values; the limit is ${TARGETING_LIMITS.values}`;
  for (const v of values) {
    if (typeof v !== 'string') return `constraint values must be strings, got ${typeof v}`;
    if (v.length > TARGETING_LIMITS.valueLength) return `a value of "${attribute}" is longer than ${TARGETING_LIMITS.valueLength} characters`;
    if (CONTROL.test(v)) return `a value of "${attribute}" contains a control character`;
  }
  return undefined;
}

/** Why a whole targeting is invalid, or undefined. */
export function targetingProblem(t: { subjects?: unknown; constraints?: unknown }): string | undefined {
  if (t.subjects !== undefined) {
    if (!Array.isArray(t.subjects)) return 'subjects must be an array of strings';
    if (t.subjects.length > TARGETING_LIMITS.subjects) return `${t.subjects.length} subjects; the limit is ${TARGETING_LIMITS.subjects}`;
    for (const s of t.subjects) {
      const p = subjectProblem(s);
      if (p) return p;
    }
  }
  if (t.constraints !== undefined) {
    if (!Array.isArray(t.constraints)) return 'constraints must be an array';
    if (t.constraints.length > TARGETING_LIMITS.constraints) return `${t.constraints.length} constraints; the limit is ${TARGETING_LIMITS.constraints}`;
    for (const c of t.constraints) {
      const p = constraintProblem(c);
      if (p) return p;
    }
  }
  return undefined;
}

/**
 * A constraint ready to evaluate: a few values are compared one by one (no
 * hashing of the attribute), many through a set.
 */
export interface CompiledConstraint {
  readonly attribute: string;
  readonly negate: boolean;
  /** Up to {@link SMALL} values, else null. */
  readonly list: readonly string[] | null;
  readonly set: ReadonlySet<string> | null;
}

/** Up to this many values, a linear scan beats hashing the attribute. */
const SMALL = 8;

/** A constraint list that can never match (stored constraints that fail validation: fail closed). */
const NEVER: readonly CompiledConstraint[] = Object.freeze([{ attribute: '', negate: false, list: [], set: null }]);

/**
 * Compile stored constraints; null when there are none. Invalid ones (e.g.
 * from a hand-edited backup file) make the whole rule never match.
 *
 * @example
 * compileConstraints([{ attribute: 'tenant', operator: 'in', values: ['acme'] }]);
 */
export function compileConstraints(constraints: unknown): readonly CompiledConstraint[] | null {
  if (constraints === undefined || constraints === null) return null;
  if (!Array.isArray(constraints)) return NEVER;
  if (constraints.length === 0) return null;
  const out: CompiledConstraint[] = [];
  for (const c of constraints) {
    if (constraintProblem(c)) return NEVER;
    const { attribute, operator, values } = c as Constraint;
    const negate = operator === '!=' || operator === 'not in';
    out.push(values.length <= SMALL ? { attribute, negate, list: [...values], set: null } : { attribute, negate, list: null, set: new Set(values) });
  }
  return Object.freeze(out);
}

/**
 * Whether `context` meets every constraint. An attribute is compared as a
 * string (numbers and booleans by their JSON text); a missing attribute, or
 * one of another type, fails its constraint whatever the operator, so a
 * context that does not say what it is never gets in by a negation.
 *
 * @example
 * matchesAll(compileConstraints([{ attribute: 'tenant', operator: '=', values: ['acme'] }])!, { tenant: 'acme' }); // true
 */
export function matchesAll(constraints: readonly CompiledConstraint[], context: Readonly<Record<string, unknown>>): boolean {
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    const raw = context[c.attribute];
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (value === undefined) return false;
    if (contains(c, value) === c.negate) return false;
  }
  return true;
}

function contains(c: CompiledConstraint, value: string): boolean {
  const list = c.list;
  if (list === null) return c.set!.has(value);
  for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
  return false;
}

/** True when a flag has an allowlist or constraints. */
export function hasTargeting(t: { subjects?: readonly unknown[] | null; constraints?: readonly unknown[] | null }): boolean {
  return (t.subjects?.length ?? 0) > 0 || (t.constraints?.length ?? 0) > 0;
}

const BARE = /^[^\s,()'"=!]+$/;
const KEYWORD = /^(in|not)$/i;

/** A value as the `--where` grammar reads it back: bare when possible, else double-quoted. */
export function formatValue(v: string): string {
  return BARE.test(v) && !KEYWORD.test(v) ? v : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A constraint in the `--where` syntax; parsing the text gives it back.
 *
 * @example
 * formatConstraint({ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }); // 'tenant in (acme, initech)'
 */
export function formatConstraint(c: Constraint): string {
  const values = c.operator === '=' || c.operator === '!=' ? formatValue(c.values[0] ?? '') : `(${c.values.map(formatValue).join(', ')})`;
  return `${c.attribute} ${c.operator} ${values}`;
}

/**
 * A flag's state in a few words, targeting included: `off`, `on`, `on 25%`,
 * `retired (on)`, `on for user:42, user:7; where tenant in (acme); else 0%`.
 *
 * @example
 * describeFlagState({ enabled: true, rollout: 0, retired: false, subjects: ['user:42'], constraints: [] }); // 'on for user:42; else 0%'
 */
export function describeFlagState(f: { enabled: boolean; rollout: number; retired: boolean; subjects?: readonly string[]; constraints?: readonly Constraint[] }): string {
  if (f.retired) return 'retired (on)';
  if (!f.enabled) return 'off';
  if (f.rollout === 100) return 'on';
  if (!hasTargeting(f)) return `on ${f.rollout}%`;
  const parts: string[] = [];
  const subjects = f.subjects ?? [];
  if (subjects.length > 0) parts.push(`for ${subjects.slice(0, 5).join(', ')}${subjects.length > 5 ? ` (+${subjects.length - 5} more)` : ''}`);
  if ((f.constraints ?? []).length > 0) parts.push(`where ${f.constraints!.map(formatConstraint).join(' and ')}`);
  return `on ${parts.join('; ')}; else ${f.rollout}%`;
}
