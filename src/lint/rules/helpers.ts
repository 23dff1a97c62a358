import type { AlterTableCmd, ColumnDef, Node, RangeVar } from 'libpg-query';
import { addedColumn, alterTableCmds } from '../ast.js';
import type { RuleContext } from '../types.js';

export interface TableCmd {
  rel: RangeVar;
  cmd: AlterTableCmd;
}

/** ALTER TABLE sub-commands on tables that existed before this SQL (new tables are empty and unseen). */
export function existingTableCmds(stmt: Node, ctx: RuleContext): TableCmd[] {
  const { rel, cmds } = alterTableCmds(stmt);
  if (!rel || ctx.isNewTable(rel.schemaname, rel.relname ?? '')) return [];
  return cmds.map((cmd) => ({ rel, cmd }));
}

/** `ADD COLUMN` definitions on pre-existing tables. */
export function addedColumns(stmt: Node, ctx: RuleContext): Array<{ rel: RangeVar; col: ColumnDef }> {
  const out: Array<{ rel: RangeVar; col: ColumnDef }> = [];
  for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
    const col = addedColumn(cmd);
    if (col) out.push({ rel, col });
  }
  return out;
}

const SERIAL = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

/** serial/bigserial/smallserial: an implicit `nextval()` default. */
export function isSerialType(col: ColumnDef): boolean {
  const names = col.typeName?.names ?? [];
  const last = names[names.length - 1];
  return names.length === 1 && last !== undefined && 'String' in last && SERIAL.has((last.String.sval ?? '').toLowerCase());
}
