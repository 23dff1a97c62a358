/**
 * `migrate convert`: the DDL people already write (by hand, from drizzle-kit,
 * Kysely or any tool that emits SQL) → one typed migration doing the same
 * change online with `op.*`, two-sided where the SQL was one-sided.
 */
import { loadModule, parseSync } from 'libpg-query';
import type { Node, RawStmt } from 'libpg-query';
import { UsageError } from '../errors.js';
import { lintSql } from '../lint/engine.js';
import type { ConvertCatalog } from './catalog.js';
import { convertStatement, js, sqlExpr, type Item, type Placeholder } from './statements.js';
import { Sql } from './text.js';

export { databaseCatalog, type ConvertCatalog } from './catalog.js';

/** What {@link convertSql} produced. */
export interface Conversion {
  /** The migration file's source. */
  source: string;
  /** Things the author must look at (also written as comments in the file): offered renames, placeholders, SQL kept as is. */
  notes: string[];
}

/**
 * Convert SQL statements into the source of one migration file.
 *
 * @example
 * const { source, notes } = await convertSql('ALTER TABLE users RENAME COLUMN name TO full_name;', { description: 'rename' });
 * // source contains op.renameColumn("users", "name", "full_name")
 */
export async function convertSql(text: string, options: { description?: string; catalog?: ConvertCatalog } = {}): Promise<Conversion> {
  await loadModule();
  let raw: RawStmt[];
  try {
    raw = text.trim() === '' ? [] : ((parseSync(text) as { stmts?: RawStmt[] }).stmts ?? []);
  } catch (err) {
    throw new UsageError(`cannot parse the SQL: ${(err as Error).message}`, 'convert takes PostgreSQL DDL statements separated by semicolons');
  }
  const sql = new Sql(text);
  const statements = raw.map((r) => {
    const from = sql.char(r.stmt_location ?? 0);
    const to = r.stmt_len ? sql.char((r.stmt_location ?? 0) + r.stmt_len) : text.length;
    return { node: r.stmt as Node, text: stripComments(text.slice(from, to)).trim() };
  });
  const kept = statements.filter((s) => !isTransactionControl(s.node));
  if (kept.length === 0) throw new UsageError('no statements to convert', 'give a .sql file (or "-" for stdin) with DDL statements');

  const items: Item[] = [];
  for (const s of kept) items.push(...(await convertStatement(s.node, sql, s.text, options.catalog)));
  const notes: string[] = [];
  mergeColumnChanges(items);
  offerRenames(items, notes);
  for (const item of items) {
    if (item.rawSql === undefined) continue;
    const findings = await lintSql(item.rawSql, { phase: 'expand' });
    item.comments.push('no online operation for this statement: it runs as is in expand (make it two-sided with `down`, or rewrite it with op.*)');
    for (const f of findings) item.comments.push(`lint ${f.severity} ${f.rule}: ${f.message} — ${f.fix}`);
    item.code = `op.sql({ up: ${sqlExpr(item.rawSql.replace(/;\s*$/, ''))} })`;
    notes.push(`kept as op.sql: ${oneLine(item.rawSql)}`);
  }
  const placeholders = items.flatMap((i) => i.placeholders ?? []);
  for (const p of placeholders) notes.push(`write ${p.name}: ${p.why}`);
  return { source: render(items, placeholders, kept.map((s) => s.text), options.description), notes };
}

/** Several changes to one column (SET NOT NULL, SET DEFAULT, TYPE) become one op.alterColumn. */
function mergeColumnChanges(items: Item[]): void {
  const seen = new Map<string, Item>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!item.alter) continue;
    const key = `${item.alter.table}\0${item.alter.column}`;
    const first = seen.get(key);
    if (first && [...item.alter.options.keys()].every((k) => !first.alter!.options.has(k))) {
      for (const [k, v] of item.alter.options) first.alter!.options.set(k, v);
      first.comments.push(...item.comments);
      first.placeholders = [...(first.placeholders ?? []), ...(item.placeholders ?? [])];
      items.splice(i--, 1);
    } else seen.set(key, item);
  }
  for (const item of items) {
    if (!item.alter) continue;
    const { table, column, options } = item.alter;
    item.code = `op.alterColumn(${js(table)}, ${js(column)}, { ${[...options].map(([k, v]) => `${k}: ${v}`).join(', ')} })`;
  }
}

/** DROP COLUMN a + ADD COLUMN b of the same type on one table may be a rename: say so, never choose it. */
function offerRenames(items: Item[], notes: string[]): void {
  for (const drop of items.filter((i) => i.drop)) {
    for (const add of items.filter((i) => i.add && i.add.table === drop.drop!.table)) {
      const same = drop.drop!.type === undefined ? undefined : sameType(drop.drop!.type, add.add!.type);
      if (same === false) continue;
      const { table, column } = drop.drop!;
      const line = `${table}: dropping ${column} and adding ${add.add!.column}${same ? ` (both ${add.add!.type})` : ` (${add.add!.type}; check that ${column} has the same type)`} may be a rename; if so, replace both with op.renameColumn(${js(table)}, ${js(column)}, ${js(add.add!.column)}), which keeps the data`;
      drop.comments.push(line);
      notes.push(line);
    }
  }
}

function sameType(a: string, b: string): boolean {
  const norm = (t: string) =>
    t
      .toLowerCase()
      .replace(/\s+/g, ' ')
      .replace(/^int4$|^int$/, 'integer')
      .replace(/^int8$/, 'bigint')
      .replace(/^varchar/, 'character varying')
      .replace(/^bool$/, 'boolean')
      .replace(/^timestamptz$/, 'timestamp with time zone');
  return norm(a) === norm(b);
}

function render(items: Item[], placeholders: Placeholder[], statements: string[], description?: string): string {
  const lines: string[] = ['// Converted by "migrate convert" from:'];
  for (const s of statements) for (const l of `${s};`.split("\n")) lines.push(`//   ${l}`);
  lines.push('// Each operation below does the same change online (expand, switch, contract). Review it before expanding.');
  const usesSql = items.some((i) => i.code?.includes('sql`'));
  lines.push(`import { defineMigration, op${usesSql ? ', sql' : ''} } from 'curtain';`, '');
  for (const p of placeholders) {
    lines.push(`// ${p.why}.`, '// Replace the placeholder below with an expression (e.g. sql`...`); until then this file does not compile.');
    lines.push(`declare const ${p.name}: { TODO: ${js(`write this expression: ${p.why}`)} };`, '');
  }
  lines.push('export default defineMigration({');
  lines.push(`  description: ${js(description ?? oneLine(statements.join('; ')).slice(0, 120))},`);
  lines.push('  operations: [');
  for (const item of items) {
    for (const c of item.comments) lines.push(`    // ${c.replace(/\n/g, ' ')}`);
    lines.push(`    ${item.code!.replace(/\n/g, '\n  ')},`);
  }
  lines.push('  ],', '});', '');
  return lines.join('\n');
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function stripComments(s: string): string {
  return s.replace(/^(\s*--[^\n]*\n)+/, '');
}

function isTransactionControl(node: Node): boolean {
  return 'TransactionStmt' in node || ('VariableSetStmt' in node);
}
