import type { RuleDefinition, RuleHit } from '../types.js';
import { existingTableCmds } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const setNotNullWithoutCheck: RuleDefinition = {
  id: 'set-not-null-without-check',
  severity: ALWAYS_ERROR,
  why: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS NOT NULL) already proves it.',
  fix: 'ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT ...; then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      if (cmd.subtype !== 'AT_SetNotNull' || !cmd.name) continue;
      if (ctx.hasValidatedNotNullCheck(rel.schemaname, rel.relname ?? '', cmd.name)) continue;
      hits.push({ message: `SET NOT NULL on ${rel.relname ?? '?'}.${cmd.name} without a validated CHECK (${cmd.name} IS NOT NULL) before it` });
    }
    return hits;
  },
};
