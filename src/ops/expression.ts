/**
 * Which columns an expression reads. Expressions reference columns by bare
 * name (`split_part(full_name, ' ', 1)`); the trigger declares one local
 * variable per referenced column and watches those columns for changes, so we
 * need the set. A light tokenizer is enough: string literals and comments are
 * skipped, names after `.` or `::` or before `(` are not columns, and only
 * names of real columns count (a false positive only costs a little work).
 */

/**
 * Column names of `columns` referenced by `expr`, in first-use order.
 *
 * @example
 * referencedColumns(`split_part(full_name, ' ', 1)`, ['id', 'full_name']) // ['full_name']
 */
export function referencedColumns(expr: string, columns: readonly string[]): string[] {
  const known = new Set(columns);
  const lower = new Map(columns.map((c) => [c.toLowerCase(), c]));
  const found: string[] = [];
  const add = (name: string | undefined) => {
    if (name !== undefined && !found.includes(name)) found.push(name);
  };
  let i = 0;
  let prev = '';
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch === "'") {
      i = skipQuoted(expr, i, "'");
      prev = 'lit';
    } else if (ch === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(expr.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(expr.slice(i))![0];
      const end = expr.indexOf(tag, i + tag.length);
      i = end === -1 ? expr.length : end + tag.length;
      prev = 'lit';
    } else if (ch === '-' && expr[i + 1] === '-') {
      const nl = expr.indexOf('\n', i);
      i = nl === -1 ? expr.length : nl + 1;
    } else if (ch === '/' && expr[i + 1] === '*') {
      const end = expr.indexOf('*/', i + 2);
      i = end === -1 ? expr.length : end + 2;
    } else if (ch === '"') {
      const end = skipQuoted(expr, i, '"');
      const name = expr.slice(i + 1, end - 1).replace(/""/g, '"');
      if (isColumnPosition(prev, expr, end)) add(known.has(name) ? name : undefined);
      i = end;
      prev = 'ident';
    } else if (/[A-Za-z_\u0080-\uffff]/.test(ch)) {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(expr.slice(i))!;
      // E'...' and similar prefixed literals.
      if (/^[eEbBxXuU]$/.test(m[0]) && expr[i + 1] === "'") {
        i = skipQuoted(expr, i + 1, "'");
        prev = 'lit';
        continue;
      }
      const end = i + m[0].length;
      if (isColumnPosition(prev, expr, end)) add(lower.get(m[0].toLowerCase()));
      i = end;
      prev = 'ident';
    } else {
      if (ch === '.') prev = '.';
      else if (ch === ':' && expr[i + 1] === ':') {
        prev = '::';
        i++;
      } else if (!/\s/.test(ch)) prev = ch;
      i++;
    }
  }
  return found;
}

function skipQuoted(s: string, start: number, q: string): number {
  let i = start + 1;
  while (i < s.length) {
    if (s[i] === q) {
      if (s[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return s.length;
}

function isColumnPosition(prev: string, s: string, end: number): boolean {
  if (prev === '.' || prev === '::') return false;
  let j = end;
  while (j < s.length && /\s/.test(s[j]!)) j++;
  return s[j] !== '(' && s[j] !== '.';
}
