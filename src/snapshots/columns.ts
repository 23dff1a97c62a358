import { quoteIdent } from '../db/identifiers.js';
import type { SnapshotColumn } from './types.js';

/** Column helpers for restore: re-adding dropped columns, casting changed ones. */

/** `name type [GENERATED ... | DEFAULT ...]`, NOT NULL left for after the data is back. */
export function columnDefinition(c: SnapshotColumn): string {
  let def = `${quoteIdent(c.name)} ${c.type}`;
  if (c.generated !== null) def += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
  else if (c.identity !== '') def += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
  else if (c.default !== null) def += ` DEFAULT ${c.default}`;
  return def;
}

/** `s.col`, or `CAST(s.col AS <current type>)` when the type changed since the snapshot. */
export function valueOf(casts: Map<string, string>): (col: string) => string {
  return (col) => {
    const type = casts.get(col);
    return type === undefined ? `s.${quoteIdent(col)}` : `CAST(s.${quoteIdent(col)} AS ${type})`;
  };
}

