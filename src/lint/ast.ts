/**
 * Small helpers over libpg-query's JSON tree. Nodes are `{ Kind: body }`
 * wrappers and every default (false, 0, empty) is omitted, so absent fields
 * are read as their zero value.
 */
import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar, TypeName } from 'libpg-query';

/** The node's kind (`'AlterTableStmt'`) — the single key of its wrapper. */
export function kindOf(node: Node | undefined): string | undefined {
  return node ? Object.keys(node)[0] : undefined;
}

/** Depth-first walk over every wrapped node below `value`, kind and body. */
export function walk(value: unknown, visit: (kind: string, body: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    // Node kinds are PascalCase; field names are not.
    if (/^[A-Z]/.test(key) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      visit(key, child as Record<string, unknown>);
    }
    walk(child, visit);
  }
}

/** The `sval` of a `{ String: { sval } }` node. */
export function stringValue(node: Node | undefined): string | undefined {
  return node && 'String' in node ? node.String.sval : undefined;
}

/** `schema.table` or `table`, as written. */
export function qualifiedName(rel: RangeVar | undefined): string {
  if (!rel) return '?';
  return rel.schemaname ? `${rel.schemaname}.${rel.relname ?? ''}` : (rel.relname ?? '?');
}

/** The ALTER TABLE sub-commands of a statement, or none. */
export function alterTableCmds(stmt: Node): { rel: RangeVar | undefined; cmds: AlterTableCmd[] } {
  if (!('AlterTableStmt' in stmt) || stmt.AlterTableStmt.objtype !== 'OBJECT_TABLE') return { rel: undefined, cmds: [] };
  const cmds: AlterTableCmd[] = [];
  for (const c of stmt.AlterTableStmt.cmds ?? []) if ('AlterTableCmd' in c) cmds.push(c.AlterTableCmd);
  return { rel: stmt.AlterTableStmt.relation, cmds };
}

/** The column definition of an `ADD COLUMN` sub-command. */
export function addedColumn(cmd: AlterTableCmd): ColumnDef | undefined {
  if (cmd.subtype !== 'AT_AddColumn' || !cmd.def || !('ColumnDef' in cmd.def)) return undefined;
  return cmd.def.ColumnDef;
}

/** The constraint of an `ADD CONSTRAINT` sub-command. */
export function addedConstraint(cmd: AlterTableCmd): Constraint | undefined {
  if (cmd.subtype !== 'AT_AddConstraint' || !cmd.def || !('Constraint' in cmd.def)) return undefined;
  return cmd.def.Constraint;
}

/** Column-level constraints of a column definition. */
export function columnConstraints(col: ColumnDef): Constraint[] {
  const out: Constraint[] = [];
  for (const c of col.constraints ?? []) if ('Constraint' in c) out.push(c.Constraint);
  return out;
}

export interface SimpleType {
  /** Last name part, as the parser spells it internally (`varchar`, `int4`, `text`). */
  name: string;
  /** Integer modifiers (`varchar(20)` → `[20]`); empty when none. */
  mods: number[];
}

/** The type's base name and integer modifiers. */
export function simpleType(t: TypeName | undefined): SimpleType | undefined {
  if (!t?.names?.length) return undefined;
  const name = stringValue(t.names[t.names.length - 1]);
  if (name === undefined) return undefined;
  const mods: number[] = [];
  for (const m of t.typmods ?? []) {
    if ('A_Const' in m) mods.push(m.A_Const.ival?.ival ?? 0);
  }
  return { name: name.toLowerCase(), mods };
}

/** `varchar(20)`, `numeric(10,2)`, `text`. */
export function formatType(t: SimpleType): string {
  return t.mods.length ? `${t.name}(${t.mods.join(',')})` : t.name;
}

/** Whether a statement ran with CONCURRENTLY (index build/drop, reindex, partition detach). */
export function isConcurrent(stmt: Node): boolean {
  if ('IndexStmt' in stmt) return stmt.IndexStmt.concurrent === true;
  if ('DropStmt' in stmt) return stmt.DropStmt.concurrent === true;
  if ('ReindexStmt' in stmt) {
    return (stmt.ReindexStmt.params ?? []).some((p) => 'DefElem' in p && p.DefElem.defname === 'concurrently');
  }
  if ('AlterTableStmt' in stmt) {
    return alterTableCmds(stmt).cmds.some((c) => {
      const def = c.def;
      return c.subtype === 'AT_DetachPartition' && def !== undefined && 'PartitionCmd' in def && def.PartitionCmd.concurrent === true;
    });
  }
  return false;
}
