/**
 * What earlier statements in the same SQL string tell the rules about later
 * ones: transaction blocks, lock_timeout, tables created here, and NOT NULL
 * checks that were validated.
 */
import type { Node } from 'libpg-query';
import { addedColumn, addedConstraint, alterTableCmds, columnConstraints, stringValue, walk } from './ast.js';
import type { Catalog, LintOptions, Phase, RuleContext } from './types.js';

/**
 * Facts that outlive one SQL string: what earlier strings of the same
 * migration phase created, validated or SET on the session. Share them by
 * passing one {@link LintSession} to consecutive lint calls.
 */
export class SessionFacts {
  lockTimeoutSet = false;
  readonly newTables: Array<{ schema: string | undefined; table: string }> = [];
  /** `table.column` pairs with a validated CHECK (column IS NOT NULL). */
  readonly notNullChecks = new Set<string>();
  /** NOT VALID checks waiting for VALIDATE: `table.constraint` → column. */
  readonly pendingChecks = new Map<string, string>();
  /** Constraints validated whose definition was not seen (added by an earlier phase). */
  readonly validatedElsewhere: Array<{ table: string; name: string }> = [];
  /** Statements of the steps still to come (set by lintSteps), for rules that accept a later fix-up. */
  upcoming: readonly Node[] = [];
}

/**
 * Carries state across several lint calls, for SQL that runs as consecutive
 * steps (a migration plan's steps of one phase, in order).
 *
 * @example
 * const session = createLintSession();
 * for (const step of plan.contract) {
 *   findings.push(...(await lintSql(step.sql, { phase: 'contract', generated: true, inTransaction: step.transactional, session })));
 * }
 */
export interface LintSession {
  /** @internal */
  readonly facts: SessionFacts;
}

/**
 * A fresh {@link LintSession}.
 *
 * @example
 * const session = createLintSession();
 */
export function createLintSession(): LintSession {
  return { facts: new SessionFacts() };
}

export class LintState implements RuleContext {
  readonly phase: Phase;
  readonly generated: boolean;
  readonly catalog: Catalog | undefined;
  private readonly facts: SessionFacts;
  private readonly callerTransaction: boolean;
  private transactionDepth = 0;
  private readonly onceKeys = new Set<string>();
  private rest: readonly Node[] = [];

  constructor(options: LintOptions) {
    this.phase = options.phase;
    this.generated = options.generated === true;
    this.catalog = options.catalog;
    this.callerTransaction = options.inTransaction === true;
    this.facts = options.session?.facts ?? new SessionFacts();
  }

  get inTransaction(): boolean {
    return this.callerTransaction || this.transactionDepth > 0;
  }

  get lockTimeoutSet(): boolean {
    return this.facts.lockTimeoutSet;
  }

  isNewTable(schema: string | undefined, table: string): boolean {
    return this.facts.newTables.some((t) => t.table === table && (!schema || !t.schema || t.schema === schema));
  }

  hasValidatedNotNullCheck(_schema: string | undefined, table: string, column: string): boolean {
    if (this.facts.notNullChecks.has(`${table}.${column}`)) return true;
    // VALIDATE of a check added by an earlier phase, whose definition we cannot see: trust it when
    // its name mentions the column as a word, or it is curtain's own NOT NULL check
    // (`_curtain_nn_<migration>_<table>_<column>`, hashed when longer than 63 bytes).
    const word = new RegExp(`(^|_)${column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(_|$)`);
    return this.facts.validatedElsewhere.some((v) => v.table === table && (word.test(v.name) || v.name.startsWith('_curtain_nn_')));
  }

  following(): readonly Node[] {
    return [...this.rest, ...this.facts.upcoming];
  }

  /** Called by the engine before the rules see a statement: the statements after it in this string. */
  setRest(rest: readonly Node[]): void {
    this.rest = rest;
  }

  once(key: string): boolean {
    if (this.onceKeys.has(key)) return false;
    this.onceKeys.add(key);
    return true;
  }

  /** Records what `stmt` changes for the statements after it. */
  update(stmt: Node): void {
    if ('TransactionStmt' in stmt) {
      const kind = stmt.TransactionStmt.kind;
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') this.transactionDepth++;
      else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') this.transactionDepth = 0;
    } else if ('VariableSetStmt' in stmt) {
      const s = stmt.VariableSetStmt;
      if (s.kind === 'VAR_RESET_ALL') this.facts.lockTimeoutSet = false;
      else if (s.name?.toLowerCase() === 'lock_timeout') {
        this.facts.lockTimeoutSet = s.kind === 'VAR_SET_VALUE' && !isZeroSetting(s.args?.[0]);
      }
    } else if ('SelectStmt' in stmt) {
      // SELECT set_config('lock_timeout', '1s', is_local)
      walk(stmt, (kind, body) => {
        if (kind !== 'FuncCall') return;
        const fn = body.funcname as Node[] | undefined;
        const args = body.args as Node[] | undefined;
        if (stringValue(fn?.[fn.length - 1]) !== 'set_config' || constString(args?.[0]) !== 'lock_timeout') return;
        this.facts.lockTimeoutSet = !isZeroSetting(args?.[1]);
      });
    } else if ('CreateStmt' in stmt) {
      const rel = stmt.CreateStmt.relation;
      if (rel?.relname) this.facts.newTables.push({ schema: rel.schemaname, table: rel.relname });
    } else if ('CreateTableAsStmt' in stmt) {
      const rel = stmt.CreateTableAsStmt.into?.rel;
      if (rel?.relname) this.facts.newTables.push({ schema: rel.schemaname, table: rel.relname });
    } else {
      this.updateChecks(stmt);
    }
  }

  private updateChecks(stmt: Node): void {
    const { rel, cmds } = alterTableCmds(stmt);
    const table = rel?.relname;
    if (!table) return;
    for (const cmd of cmds) {
      const c = addedConstraint(cmd);
      if (c?.contype === 'CONSTR_CHECK') {
        const column = notNullColumn(c.raw_expr);
        if (!column) continue;
        if (!c.skip_validation) this.facts.notNullChecks.add(`${table}.${column}`);
        else if (c.conname) this.facts.pendingChecks.set(`${table}.${c.conname}`, column);
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        const column = this.facts.pendingChecks.get(`${table}.${cmd.name}`);
        if (column) this.facts.notNullChecks.add(`${table}.${column}`);
        else this.facts.validatedElsewhere.push({ table, name: cmd.name });
      }
      const col = addedColumn(cmd);
      if (col?.colname && columnConstraints(col).some((k) => k.contype === 'CONSTR_CHECK' && notNullColumn(k.raw_expr) === col.colname)) {
        this.facts.notNullChecks.add(`${table}.${col.colname}`);
      }
    }
  }
}

/** The column of `CHECK (col IS NOT NULL)`, else undefined. */
function notNullColumn(expr: Node | undefined): string | undefined {
  if (!expr || !('NullTest' in expr) || expr.NullTest.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const arg = expr.NullTest.arg;
  if (!arg || !('ColumnRef' in arg)) return undefined;
  const fields = arg.ColumnRef.fields ?? [];
  return stringValue(fields[fields.length - 1]);
}

function constString(node: Node | undefined): string | undefined {
  return node && 'A_Const' in node ? node.A_Const.sval?.sval : undefined;
}

/** `0`, `'0'`, `'0ms'`: PostgreSQL reads these as "no timeout". */
function isZeroSetting(node: Node | undefined): boolean {
  if (!node) return true;
  if ('A_Const' in node) {
    const c = node.A_Const;
    if (c.ival !== undefined) return (c.ival.ival ?? 0) === 0;
    if (c.sval !== undefined) return /^\s*0+(\.0*)?\s*(us|ms|s|min|h|d)?\s*$/i.test(c.sval.sval ?? '');
    if (c.fval !== undefined) return Number(c.fval.fval ?? '0') === 0;
  }
  return false;
}
