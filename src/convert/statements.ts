/**
 * One parsed DDL statement → the `op.*` calls that make the same change
 * online, as source code. What has no online equivalent becomes `op.sql`.
 */
import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query';
import { columnConstraints, stringValue } from '../lint/ast.js';
import type { ConvertCatalog } from './catalog.js';
import { COLUMN_STOP, exprText, Sql, typeText } from './text.js';

/** One op call in the generated file. */
export interface Item {
  /** Comment lines above the call. */
  comments: string[];
  /** The call's source; for a column change, rendered from `alter` at the end. */
  code?: string;
  /** An `op.alterColumn` whose options later statements on the same column may extend. */
  alter?: { table: string; column: string; options: Map<string, string> };
  /** A dropped or added column (to offer DROP + ADD as a rename). */
  drop?: { table: string; column: string; type?: string };
  add?: { table: string; column: string; type: string };
  /** A placeholder the author must replace (declared once in the file). */
  placeholders?: Placeholder[];
  /** Statement to lint and keep as `op.sql` (the fallback). */
  rawSql?: string;
}

/** A `never`-like constant the author replaces with an expression; the file does not compile until then. */
export interface Placeholder {
  name: string;
  why: string;
}

/** JavaScript string literal of a value. */
export const js = (v: string): string => JSON.stringify(v);
/** An expression as a `sql` template (backticks and `${` escaped). */
export const sqlExpr = (e: string): string => `sql\`${e.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;

function tableOf(rel: RangeVar | undefined): string {
  if (!rel?.relname) return '?';
  return rel.schemaname && rel.schemaname !== 'public' ? `${rel.schemaname}.${rel.relname}` : rel.relname;
}
/** A JavaScript array literal of strings. */
const arr = (xs: (string | undefined)[]): string => `[${xs.map((x) => js(x ?? '')).join(', ')}]`;
const names = (nodes: Node[] | undefined): string[] => (nodes ?? []).map((n) => stringValue(n) ?? '?');
const objectObj = (o: Record<string, string | undefined>): string =>
  `{ ${Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${/^[a-z][A-Za-z]*$/.test(k) ? k : js(k)}: ${v}`)
    .join(', ')} }`;
const action = (a: string | undefined): string | undefined =>
  ({ c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT', r: 'RESTRICT' } as Record<string, string>)[a ?? ''] ?? undefined;

/**
 * The items of one statement. `text` is the statement's own source.
 *
 * @example
 * await convertStatement(stmt, new Sql(source), undefined)
 */
export async function convertStatement(stmt: Node, sql: Sql, statementText: string, catalog: ConvertCatalog | undefined): Promise<Item[]> {
  const fallback = (why?: string): Item[] => [{ comments: why ? [why] : [], rawSql: statementText }];
  if ('RenameStmt' in stmt) {
    const r = stmt.RenameStmt;
    if (r.renameType === 'OBJECT_COLUMN' && r.relationType === 'OBJECT_TABLE' && r.subname && r.newname) {
      return [{ comments: [], code: `op.renameColumn(${js(tableOf(r.relation))}, ${js(r.subname)}, ${js(r.newname)})` }];
    }
    if (r.renameType === 'OBJECT_TABLE' && r.newname) return [{ comments: [], code: `op.renameTable(${js(tableOf(r.relation))}, ${js(r.newname)})` }];
    return fallback();
  }
  if ('IndexStmt' in stmt) return createIndex(stmt.IndexStmt, sql, statementText);
  if ('DropStmt' in stmt) {
    const d = stmt.DropStmt;
    const objects = (d.objects ?? []).map((o) => ('List' in o ? names(o.List.items) : []));
    if (d.behavior === 'DROP_CASCADE') return fallback('CASCADE drops dependent objects curtain cannot see; kept as SQL');
    const qualified = (parts: string[]) => (parts.length > 1 && parts[0] !== 'public' ? parts.join('.') : parts[parts.length - 1]!);
    if (d.removeType === 'OBJECT_INDEX') return objects.map((o) => ({ comments: [], code: `op.dropIndex(${js(qualified(o))})` }));
    if (d.removeType === 'OBJECT_TABLE') return objects.map((o) => ({ comments: [], code: `op.dropTable(${js(qualified(o))})` }));
    return fallback();
  }
  if ('CreateStmt' in stmt) return createTable(stmt.CreateStmt, sql, statementText);
  if ('AlterTableStmt' in stmt && stmt.AlterTableStmt.objtype === 'OBJECT_TABLE') {
    const table = tableOf(stmt.AlterTableStmt.relation);
    const cmds: AlterTableCmd[] = (stmt.AlterTableStmt.cmds ?? []).flatMap((c) => ('AlterTableCmd' in c ? [c.AlterTableCmd] : []));
    const items: Item[] = [];
    for (const cmd of cmds) {
      const item = await alterCmd(table, cmd, sql, catalog);
      if (!item) return fallback('one of its sub-commands has no online operation; kept as SQL');
      items.push(item);
    }
    return items;
  }
  return fallback();
}

async function alterCmd(table: string, cmd: AlterTableCmd, sql: Sql, catalog: ConvertCatalog | undefined): Promise<Item | undefined> {
  const column = cmd.name ?? '';
  const alter = (entries: [string, string][], comments: string[] = [], placeholders: Placeholder[] = []): Item => ({
    comments,
    alter: { table, column, options: new Map(entries) },
    placeholders,
  });
  switch (cmd.subtype) {
    case 'AT_AddColumn': {
      const col = cmd.def && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef : undefined;
      if (!col?.colname || !col.typeName) return undefined;
      const options = columnOptions(col, sql);
      if (!options) return undefined;
      const comments: string[] = [];
      if (options.nullable === 'false' && options.default === undefined) {
        comments.push('NOT NULL without a default: existing rows need a value; give `up` (computed from the row) if the table is not empty');
      }
      return { comments, code: `op.addColumn(${js(table)}, ${objectObj({ name: js(col.colname), ...options })})`, add: { table, column: col.colname, type: typeText(sql, col.typeName) } };
    }
    case 'AT_DropColumn': {
      if (cmd.behavior === 'DROP_CASCADE') return undefined;
      const info = await catalog?.column(table, column);
      // New code stops writing the column; until contract, old code still reads it and inserts must satisfy it.
      if (info && (info.nullable || info.hasDefault)) {
        return { comments: [], code: `op.dropColumn(${js(table)}, ${js(column)})`, drop: { table, column, type: info.type } };
      }
      const name = placeholderName('down', table, column);
      const why = info
        ? `${table}.${column} is NOT NULL without a default: until contract, rows new code inserts need a value for it`
        : `${catalog ? 'the database has no such column' : 'no database to look at'} to look at: if ${table}.${column} is NOT NULL without a default, rows new code inserts need a value for it (else write sql\`NULL\`)`;
      return {
        comments: [`write \`down\`: the value of ${column} computed from the new row, for old code that still reads it`],
        code: `op.dropColumn(${js(table)}, ${js(column)}, { down: ${name} })`,
        drop: { table, column, type: info?.type },
        placeholders: [{ name, why }],
      };
    }
    case 'AT_AlterColumnType': {
      const col = cmd.def && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef : undefined;
      if (!col?.typeName || col.collClause) return undefined;
      const type = typeText(sql, col.typeName);
      const up = col.raw_default ? exprText(sql, col.raw_default, []) : `${quoteIfNeeded(column)}::${type}`;
      const info = await catalog?.column(table, column);
      const entries: [string, string][] = [
        ['type', js(type)],
        ['up', sqlExpr(up)],
      ];
      if (info && (await catalog!.canCast(type, info.type))) {
        entries.push(['down', sqlExpr(`${quoteIfNeeded(column)}::${info.type}`)]);
        return alter(entries);
      }
      const name = placeholderName('down', table, column);
      const why = info
        ? `PostgreSQL has no cast from ${type} back to ${info.type}`
        : catalog
          ? `the database has no column ${table}.${column}, so its current type is unknown`
          : `no database to look at: the current type of ${table}.${column} is unknown`;
      entries.push(['down', name]);
      return alter(entries, [`write \`down\`: ${column} as the old type, computed from the new value (${why})`], [{ name, why }]);
    }
    case 'AT_SetNotNull':
      return alter([['nullable', 'false']]);
    case 'AT_DropNotNull':
      return alter([['nullable', 'true']]);
    case 'AT_ColumnDefault':
      return alter([['default', cmd.def ? sqlExpr(exprText(sql, cmd.def, COLUMN_STOP)) : 'null']]);
    case 'AT_AddConstraint': {
      const c = cmd.def && 'Constraint' in cmd.def ? cmd.def.Constraint : undefined;
      if (!c) return undefined;
      const code = addConstraint(table, c, sql);
      return code ? { comments: [], code } : undefined;
    }
    default:
      return undefined;
  }
}

function addConstraint(table: string, c: Constraint, sql: Sql): string | undefined {
  const name = c.conname ? js(c.conname) : undefined;
  if (c.contype === 'CONSTR_CHECK' && c.raw_expr) {
    return `op.addConstraint(${js(table)}, ${objectObj({ type: js('check'), name, expression: sqlExpr(exprText(sql, c.raw_expr, COLUMN_STOP)) })})`;
  }
  if (c.contype === 'CONSTR_UNIQUE' && !c.indexname && c.keys?.length && !c.including?.length && !c.nulls_not_distinct) {
    return `op.addConstraint(${js(table)}, ${objectObj({ type: js('unique'), name, columns: arr(names(c.keys)) })})`;
  }
  if (c.contype === 'CONSTR_FOREIGN' && c.pktable && c.fk_attrs?.length && c.pk_attrs?.length && !c.fk_matchtype?.match(/f/)) {
    const onDelete = action(c.fk_del_action === 'a' ? undefined : c.fk_del_action);
    const onUpdate = action(c.fk_upd_action === 'a' ? undefined : c.fk_upd_action);
    return `op.addConstraint(${js(table)}, ${objectObj({
      type: js('foreign key'),
      name,
      columns: arr(names(c.fk_attrs)),
      references: `{ table: ${js(tableOf(c.pktable))}, columns: ${arr(names(c.pk_attrs))} }`,
      onDelete: onDelete && js(onDelete),
      onUpdate: onUpdate && js(onUpdate),
    })})`;
  }
  return undefined;
}

/** Options of a column definition for op.addColumn / op.createTable, or undefined when one has no equivalent. */
function columnOptions(col: ColumnDef, sql: Sql): Record<string, string | undefined> | undefined {
  const o: Record<string, string | undefined> = { type: js(typeText(sql, col.typeName!)) };
  for (const c of columnConstraints(col)) {
    switch (c.contype) {
      case 'CONSTR_NOTNULL':
        o.nullable = 'false';
        break;
      case 'CONSTR_NULL':
        break;
      case 'CONSTR_DEFAULT':
        o.default = sqlExpr(exprText(sql, c.raw_expr, COLUMN_STOP));
        break;
      case 'CONSTR_UNIQUE':
        o.unique = c.conname ? `{ name: ${js(c.conname)} }` : 'true';
        break;
      case 'CONSTR_PRIMARY':
        o.primaryKey = 'true';
        break;
      case 'CONSTR_CHECK': {
        const e = sqlExpr(exprText(sql, c.raw_expr, COLUMN_STOP));
        o.check = c.conname ? `{ name: ${js(c.conname)}, expression: ${e} }` : e;
        break;
      }
      case 'CONSTR_FOREIGN': {
        if (!c.pktable || (c.pk_attrs?.length ?? 0) > 1) return undefined;
        const onDelete = action(c.fk_del_action === 'a' ? undefined : c.fk_del_action);
        const ref: Record<string, string | undefined> = {
          table: js(tableOf(c.pktable)),
          column: c.pk_attrs?.length ? js(names(c.pk_attrs)[0]!) : js('id'),
          name: c.conname ? js(c.conname) : undefined,
          onDelete: onDelete && js(onDelete),
        };
        o.references = objectObj(ref);
        break;
      }
      case 'CONSTR_IDENTITY':
        o.identity = js(c.generated_when === 'a' ? 'always' : 'by default');
        break;
      default:
        return undefined;
    }
  }
  return o;
}

function createTable(s: Extract<Node, { CreateStmt: unknown }>['CreateStmt'], sql: Sql, statementText: string): Item[] {
  const fallback: Item[] = [{ comments: ['this CREATE TABLE uses something op.createTable does not express; kept as SQL'], rawSql: statementText }];
  if (s.inhRelations?.length || s.partspec || s.ofTypename || s.options?.length || s.relation?.relpersistence !== 'p') return fallback;
  const columns: string[] = [];
  let primaryKey: string[] | undefined;
  for (const elt of s.tableElts ?? []) {
    if ('ColumnDef' in elt) {
      const col = elt.ColumnDef;
      if (!col.colname || !col.typeName) return fallback;
      const o = columnOptions(col, sql);
      if (!o) return fallback;
      columns.push(`      ${objectObj({ name: js(col.colname), ...o })},`);
    } else if ('Constraint' in elt && elt.Constraint.contype === 'CONSTR_PRIMARY' && !primaryKey && !elt.Constraint.conname) {
      primaryKey = names(elt.Constraint.keys);
    } else return fallback;
  }
  if (columns.length === 0) return fallback;
  const pk = primaryKey ? `\n    primaryKey: ${arr(primaryKey)},` : '';
  return [{ comments: [], code: `op.createTable(${js(tableOf(s.relation))}, {\n    columns: [\n${columns.join('\n')}\n    ],${pk}\n  })` }];
}

function createIndex(s: Extract<Node, { IndexStmt: unknown }>['IndexStmt'], sql: Sql, statementText: string): Item[] {
  const plain = (s.indexParams ?? []).every(
    (p) => 'IndexElem' in p && p.IndexElem.name && !p.IndexElem.expr && !p.IndexElem.opclass?.length && !p.IndexElem.collation?.length && (p.IndexElem.ordering ?? 'SORTBY_DEFAULT') === 'SORTBY_DEFAULT' && (p.IndexElem.nulls_ordering ?? 'SORTBY_NULLS_DEFAULT') === 'SORTBY_NULLS_DEFAULT',
  );
  const methods = ['btree', 'hash', 'gist', 'gin', 'brin', 'spgist'];
  const table = tableOf(s.relation);
  if (plain && s.idxname && !s.nulls_not_distinct && !s.options?.length && !s.tableSpace && methods.includes(s.accessMethod ?? 'btree')) {
    const include = (s.indexIncludingParams ?? []).map((p) => ('IndexElem' in p ? p.IndexElem.name : undefined));
    if (include.every((n) => n)) {
      const o: Record<string, string | undefined> = {
        columns: arr((s.indexParams ?? []).map((p) => ('IndexElem' in p ? p.IndexElem.name : ''))),
        name: js(s.idxname),
        unique: s.unique ? 'true' : undefined,
        method: s.accessMethod && s.accessMethod !== 'btree' ? js(s.accessMethod) : undefined,
        where: s.whereClause ? sqlExpr(exprText(sql, s.whereClause, [])) : undefined,
        include: include.length ? arr(include) : undefined,
      };
      return [{ comments: [], code: `op.createIndex(${js(table)}, ${objectObj(o)})` }];
    }
  }
  // An expression index (or one with opclasses, ordering...): the statement itself, built CONCURRENTLY outside a transaction.
  const name = s.idxname;
  if (!name) return [{ comments: ['an index without a name cannot be dropped on abort; name it'], rawSql: statementText }];
  const concurrent = s.concurrent ? statementText : statementText.replace(/^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX)\s+/i, '$1 CONCURRENTLY ');
  const schema = s.relation?.schemaname && s.relation.schemaname !== 'public' ? `${s.relation.schemaname}.` : '';
  return [
    {
      comments: ['op.createIndex takes plain columns only: the statement is kept, built CONCURRENTLY outside a transaction'],
      code: `op.sql({\n    up: ${sqlExpr(concurrent.replace(/;\s*$/, ''))},\n    down: ${sqlExpr(`DROP INDEX CONCURRENTLY IF EXISTS ${schema}${quoteIfNeeded(name)}`)},\n    transactional: false,\n    lock: 'SHARE UPDATE EXCLUSIVE',\n  })`,
    },
  ];
}

/** An identifier as SQL: bare when it can be, else double-quoted. */
export function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function placeholderName(what: string, table: string, column: string): string {
  return `TODO_write_${what}_${`${table}_${column}`.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
