/**
 * Slicing expressions and type names out of the SQL text the user wrote, so
 * the converted migration keeps them as written (libpg-query has no deparser).
 * The parser gives byte offsets of where nodes start; the end is found by
 * scanning tokens at parenthesis depth 0 up to a clause boundary.
 */

/** A statement's text with byte → character offsets. */
export class Sql {
  private readonly bytes: Buffer;
  constructor(readonly text: string) {
    this.bytes = Buffer.from(text);
  }
  /** Character index of a parser byte offset. */
  char(byte: number): number {
    return this.bytes.subarray(0, byte).toString().length;
  }
}

/** Words that end an expression or a type inside a column definition or ALTER TABLE sub-command. */
export const COLUMN_STOP = ['USING', 'COLLATE', 'NOT', 'NULL', 'DEFAULT', 'CHECK', 'REFERENCES', 'CONSTRAINT', 'UNIQUE', 'PRIMARY', 'GENERATED', 'ON'];

/**
 * The end (exclusive) of the expression starting at `start`: the first `,`,
 * `;` or unmatched `)` at depth 0, or a stop word after the first token.
 *
 * @example
 * scanEnd("a::int, b", 0, []) // 6
 */
export function scanEnd(text: string, start: number, stop: string[]): number {
  let depth = 0;
  let i = start;
  let first = true;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if (c === "'" || c === '"') {
      i = skipQuoted(text, i, c);
      first = false;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return i;
      depth--;
    } else if ((c === ',' || c === ';') && depth === 0) return i;
    else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i))!;
      if (depth === 0 && !first && stop.includes(m[0].toUpperCase())) return i;
      i += m[0].length;
      first = false;
      continue;
    }
    i++;
    first = false;
  }
  return text.length;
}

function skipQuoted(text: string, i: number, q: string): number {
  let j = i + 1;
  while (j < text.length) {
    if (text[j] === q) {
      if (text[j + 1] === q) j += 2;
      else return j + 1;
    } else j++;
  }
  return j;
}

/** The smallest `location` anywhere in a parse-tree value (where its text starts). */
export function minLocation(value: unknown): number | undefined {
  let min: number | undefined;
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k === 'location' && typeof child === 'number' && child >= 0) min = min === undefined ? child : Math.min(min, child);
        else visit(child);
      }
    }
  };
  visit(value);
  return min;
}

/**
 * The source text of an expression node. With `outer`, parentheses right
 * before it are included (`(a + b) * 2` starts at the `(`).
 *
 * @example
 * exprText(sql, node.raw_default, COLUMN_STOP)
 */
export function exprText(sql: Sql, node: unknown, stop: string[], outer = true): string {
  const loc = minLocation(node);
  if (loc === undefined) throw new Error('expression without a location');
  let start = sql.char(loc);
  if (outer) {
    // Parentheses right before the expression belong to it ("(a + b) * 2", "CHECK (a > 0)").
    for (;;) {
      let j = start - 1;
      while (j >= 0 && /\s/.test(sql.text[j]!)) j--;
      if (j < 0 || sql.text[j] !== '(') break;
      start = j;
    }
  }
  return sql.text.slice(start, scanEnd(sql.text, start, stop)).trim();
}

/**
 * The source text of a type name, as written (`varchar(20)`, `timestamp with time zone`).
 *
 * @example
 * typeText(sql, col.typeName)
 */
export function typeText(sql: Sql, typeName: { location?: number }): string {
  const start = sql.char(typeName.location ?? 0);
  return sql.text.slice(start, scanEnd(sql.text, start, COLUMN_STOP)).trim();
}
