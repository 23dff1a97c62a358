import { quoteIdent } from '../../db/identifiers.js';

/**
 * Flag targeting: an allowlist of subjects and constraints on context
 * attributes, stored in the flag row so every client loads them with it.
 * Constant defaults: adding the columns rewrites nothing.
 */
export function flagTargeting(schema: string): string {
  const s = quoteIdent(schema);
  return `ALTER TABLE ${s}.flags
  ADD COLUMN subjects text[] NOT NULL DEFAULT '{}',
  ADD COLUMN constraints jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(constraints) = 'array');`;
}
