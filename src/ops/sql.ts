import { quoteIdent, quoteLiteral } from '../db/identifiers.js';

/** A fragment of SQL written by the migration author: an expression over the row, or a statement. */
export interface SqlExpression {
  readonly kind: 'curtain.sql';
  readonly sql: string;
}

/** An identifier to splice into a {@link sql} template, quoted. */
export interface SqlIdentifier {
  readonly kind: 'curtain.ident';
  readonly name: string;
}

/** What a `${...}` inside {@link sql} may hold. */
export type SqlValue = SqlExpression | SqlIdentifier | string | number | boolean | null;

/** Accepted wherever an expression is expected: the `sql` tag or a plain string. */
export type Expression = SqlExpression | string;

/**
 * Template tag for SQL expressions in migrations. Interpolated strings become
 * quoted literals, numbers and booleans are inlined, nested `sql` fragments
 * are spliced as-is and `sql.ident(name)` is quoted as an identifier. The
 * text is taken as written (like `String.raw`): backslashes reach PostgreSQL
 * unchanged, so `sql\`name ~ '^[0-9]+\s*'\`` means what it says.
 *
 * @example
 * op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ${' '}, 1)` });
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlExpression {
  // The raw strings: the cooked ones would turn '\s' into 's' and '\d' into 'd'.
  const parts = strings.raw;
  let text = parts[0] ?? '';
  values.forEach((v, i) => {
    text += render(v) + (parts[i + 1] ?? '');
  });
  return { kind: 'curtain.sql', sql: text };
}

/**
 * An identifier for a {@link sql} template.
 *
 * @example
 * sql`${sql.ident('order')} + 1` // "order" + 1
 */
sql.ident = (name: string): SqlIdentifier => ({ kind: 'curtain.ident', name });

function render(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoteLiteral(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`sql: cannot inline ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v.kind === 'curtain.ident') return quoteIdent(v.name);
  return v.sql;
}

/**
 * Is `v` a fragment built by {@link sql}?
 *
 * @example
 * isSqlExpression(sql`a + 1`) // true
 */
export function isSqlExpression(v: unknown): v is SqlExpression {
  return typeof v === 'object' && v !== null && (v as SqlExpression).kind === 'curtain.sql' && typeof (v as SqlExpression).sql === 'string';
}

/**
 * The SQL text of an expression given either way.
 *
 * @example
 * expressionText(sql`a + 1`) // 'a + 1'
 */
export function expressionText(e: Expression): string {
  return typeof e === 'string' ? e : e.sql;
}
