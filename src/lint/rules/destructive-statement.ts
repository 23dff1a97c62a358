import { qualifiedName } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { existingTableCmds } from './helpers.js';
import { BREAKING } from './severity.js';

// Tables and indexes have their own rules; dropping a trigger loses no data (curtain recreates its own).
const OWN_RULE_OR_HARMLESS = new Set(['OBJECT_TABLE', 'OBJECT_INDEX', 'OBJECT_TRIGGER']);

export const destructiveStatement: RuleDefinition = {
  id: 'destructive-statement',
  severity: BREAKING,
  why: 'Expand must be additive: old code keeps running against the old schema and its data until contract, and abort must restore it exactly.',
  fix: 'Move the statement to contract (it runs after the flag is fully on and a snapshot is taken), or give DELETE a WHERE clause.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    if ('DeleteStmt' in stmt) {
      const s = stmt.DeleteStmt;
      if (!s.whereClause && !ctx.isNewTable(s.relation?.schemaname, s.relation?.relname ?? '')) {
        hits.push({ message: `DELETE FROM ${qualifiedName(s.relation)} without WHERE deletes every row` });
      }
    } else if ('DropStmt' in stmt) {
      const type = stmt.DropStmt.removeType ?? '';
      if (!OWN_RULE_OR_HARMLESS.has(type)) {
        hits.push({ message: `DROP ${type.replace(/^OBJECT_/, '').replace(/_/g, ' ')} is destructive` });
      }
    } else if ('DropdbStmt' in stmt) {
      hits.push({ message: `DROP DATABASE ${stmt.DropdbStmt.dbname ?? ''} is destructive` });
    } else if ('DropOwnedStmt' in stmt || 'DropRoleStmt' in stmt) {
      hits.push({ message: 'dropping roles or owned objects is destructive' });
    } else {
      for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
        if (cmd.subtype === 'AT_DropConstraint') {
          hits.push({ message: `constraint ${cmd.name ?? '?'} dropped from ${rel.relname ?? '?'} while old code may rely on it` });
        }
      }
    }
    return hits;
  },
};
