/**
 * The text forms of targeting, as typed after `--for` and `--where`.
 *
 *     --for      subject { "," subject }                 e.g. user:42,user:7
 *     --where    attribute operator operand              e.g. tenant in (acme, initech)
 *
 *     attribute  = [A-Za-z_][A-Za-z0-9_-]*
 *     operator   = "=" | "!=" | "in" | "not" "in"         (keywords in any case)
 *     operand    = value                                 after = and !=
 *                | "(" value { "," value } ")"           after in and not in
 *     value      = bare | '"' chars '"' | "'" chars "'"  (\" \' \\ escape inside quotes)
 *     bare       = one or more characters other than whitespace , ( ) ' " = !
 *
 * Whitespace is free between tokens. One condition per `--where`; several
 * `--where` are ANDed. Errors name the 1-based column.
 */
import { UsageError } from '../errors.js';
import { attributeProblem, constraintProblem, subjectProblem, TARGETING_LIMITS, type Constraint, type ConstraintOperator } from './targeting.js';

const SYNTAX_HINT =
  'syntax: attr = value | attr != value | attr in (a, b) | attr not in (a, b); quote values with spaces or commas ("acme, inc"); one condition per --where (several are ANDed)';

/** Bad `--where` / `--for` text: a usage error (exit 2) that knows where. */
export class TargetingSyntaxError extends UsageError {
  /** 1-based column in the text, when the problem has a place. */
  readonly column: number | undefined;
  constructor(option: string, text: string, problem: string, column?: number) {
    super(`invalid ${option} ${JSON.stringify(text)}: ${problem}${column === undefined ? '' : ` at column ${column}`}`, option === '--for' ? 'e.g. --for user:42,user:7' : SYNTAX_HINT);
    this.column = column;
  }
}

/**
 * Parse one `--where` condition.
 *
 * @example
 * parseConstraint('tenant in (acme, initech)'); // { attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }
 * parseConstraint('appName = billing-canary');  // { attribute: 'appName', operator: '=', values: ['billing-canary'] }
 * parseConstraint('tenant in acme');            // throws: expected "(" ... at column 11
 */
export function parseConstraint(text: string): Constraint {
  return new Parser(text).constraint();
}

/**
 * Parse `--for` values: comma-separated subject keys, spaces around commas
 * ignored, duplicates dropped (first one kept).
 *
 * @example
 * parseSubjects(['user:42,user:7', 'user:9']); // ['user:42', 'user:7', 'user:9']
 */
export function parseSubjects(texts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    let column = 1;
    for (const part of text.split(',')) {
      const subject = part.trim();
      const at = column + (part.length - part.trimStart().length);
      if (subject === '') throw new TargetingSyntaxError('--for', text, 'empty subject', at);
      const problem = subjectProblem(subject);
      if (problem) throw new TargetingSyntaxError('--for', text, problem, at);
      out.add(subject);
      column += part.length + 1;
    }
  }
  if (out.size > TARGETING_LIMITS.subjects) throw new UsageError(`--for lists ${out.size} subjects; the limit is ${TARGETING_LIMITS.subjects}`);
  return [...out];
}

/** What `--for` and `--where` parse into. */
export interface ParsedTargeting {
  subjects?: string[];
  constraints?: Constraint[];
}

/**
 * Parse the `--for` and `--where` options of a command (each may be given
 * several times). Absent options stay absent: they leave the stored value as
 * it is. Throws a {@link TargetingSyntaxError} (exit 2) before anything is
 * changed.
 *
 * @example
 * parseTargeting({ for: ['user:42,user:7'], where: ['tenant in (acme, initech)'] });
 * // { subjects: ['user:42', 'user:7'], constraints: [{ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }] }
 */
export function parseTargeting(input: { for?: readonly string[]; where?: readonly string[] }): ParsedTargeting {
  const out: ParsedTargeting = {};
  if (input.for !== undefined && input.for.length > 0) out.subjects = parseSubjects(input.for);
  if (input.where !== undefined && input.where.length > 0) {
    if (input.where.length > TARGETING_LIMITS.constraints) throw new UsageError(`${input.where.length} --where conditions; the limit is ${TARGETING_LIMITS.constraints}`);
    out.constraints = input.where.map(parseConstraint);
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  constraint(): Constraint {
    this.ws();
    const attribute = this.attribute();
    this.ws();
    const operator = this.operator();
    this.ws();
    const values = operator === '=' || operator === '!=' ? [this.value()] : this.list();
    this.ws();
    if (this.i < this.text.length) {
      const rest = this.text.slice(this.i);
      const word = /^\w+/.exec(rest)?.[0];
      if (word && /^(and|or)$/i.test(word)) this.fail(`unexpected "${word}": give each condition its own --where (they are ANDed)`);
      this.fail(`unexpected ${describe(rest)} after the condition`);
    }
    const c = { attribute, operator, values };
    const problem = constraintProblem(c);
    if (problem) this.fail(problem, null); // e.g. a value too long: no single place to point at
    return c;
  }

  private attribute(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.text.slice(this.i));
    if (!m) this.fail(`expected an attribute name, found ${describe(this.text.slice(this.i))}`);
    const problem = attributeProblem(m[0]);
    if (problem) this.fail(problem);
    this.i += m[0].length;
    return m[0];
  }

  private operator(): ConstraintOperator {
    const rest = this.text.slice(this.i);
    if (rest.startsWith('!=')) return this.take(2, '!=');
    if (rest.startsWith('=')) return this.take(1, '=');
    const inMatch = /^in(?=[\s(]|$)/i.exec(rest);
    if (inMatch) return this.take(2, 'in');
    const notIn = /^not\s+in(?=[\s(]|$)/i.exec(rest);
    if (notIn) return this.take(notIn[0].length, 'not in');
    this.fail(`expected an operator (=, !=, in, not in), found ${describe(rest)}`);
  }

  private list(): string[] {
    if (this.text[this.i] !== '(') this.fail(`expected "(" to open the list of values, found ${describe(this.text.slice(this.i))}`);
    this.i++;
    const values: string[] = [];
    for (;;) {
      this.ws();
      values.push(this.value());
      this.ws();
      const c = this.text[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ')') {
        this.i++;
        return values;
      }
      this.fail(c === undefined ? 'missing ")" to close the list' : `expected "," or ")", found ${describe(this.text.slice(this.i))}`);
    }
  }

  private value(): string {
    const c = this.text[this.i];
    if (c === '"' || c === "'") return this.quoted(c);
    const m = /^[^\s,()'"=!]+/.exec(this.text.slice(this.i));
    if (!m) this.fail(`expected a value, found ${describe(this.text.slice(this.i))}`);
    this.i += m[0].length;
    return m[0];
  }

  private quoted(quote: string): string {
    const start = this.i;
    this.i++;
    let out = '';
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '\\' && this.i + 1 < this.text.length) {
        out += this.text[this.i + 1];
        this.i += 2;
      } else if (c === quote) {
        this.i++;
        return out;
      } else {
        out += c;
        this.i++;
      }
    }
    this.i = start;
    this.fail(`unterminated ${quote === '"' ? 'double' : 'single'}-quoted value`);
  }

  private take<T extends ConstraintOperator>(length: number, op: T): T {
    this.i += length;
    return op;
  }

  private ws(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }

  private fail(problem: string, at: number | null = this.i): never {
    throw new TargetingSyntaxError('--where', this.text, problem, at === null ? undefined : at + 1);
  }
}

function describe(rest: string): string {
  return rest.length === 0 ? 'the end' : JSON.stringify(rest.length > 12 ? `${rest.slice(0, 12)}…` : rest);
}
