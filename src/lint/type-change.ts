/**
 * Which `ALTER COLUMN ... TYPE` changes PostgreSQL performs without rewriting
 * the table (binary-coercible, and the length/precision check can only pass).
 */
import type { SimpleType } from './ast.js';

// format_type() spellings → the parser's internal names.
const ALIASES: Record<string, string> = {
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
  integer: 'int4',
  int: 'int4',
  bigint: 'int8',
  smallint: 'int2',
  'double precision': 'float8',
  real: 'float4',
  boolean: 'bool',
  decimal: 'numeric',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  'bit varying': 'varbit',
};

/**
 * Parses a catalog type string (`character varying(50)`, `numeric(10,2)`, `text`).
 *
 * @example
 * parseTypeString('character varying(50)') // { name: 'varchar', mods: [50] }
 */
export function parseTypeString(type: string): SimpleType | undefined {
  // "timestamp(3) with time zone": the modifier sits in the middle.
  const tz = /^\s*(timestamp|time)\s*\((\d+)\)\s*(with|without) time zone\s*$/.exec(type.toLowerCase());
  if (tz?.[1] && tz[2] && tz[3]) {
    return { name: tz[3] === 'with' ? `${tz[1]}tz` : tz[1], mods: [Number(tz[2])] };
  }
  const m = /^\s*(?:pg_catalog\.)?"?([A-Za-z_][A-Za-z0-9_ ]*?)"?\s*(?:\(\s*([0-9\s,]+)\s*\))?\s*$/.exec(type);
  if (!m?.[1]) return undefined;
  const raw = m[1].toLowerCase().replace(/\s+/g, ' ');
  const mods = m[2] ? m[2].split(',').map((s) => Number(s.trim())) : [];
  return { name: ALIASES[raw] ?? raw, mods };
}

/** Text-like types that convert to each other without a rewrite when the limit only grows. */
export function isStringType(t: SimpleType): boolean {
  return t.name === 'varchar' || t.name === 'text';
}

/**
 * True when changing a column from `from` to `to` needs neither a rewrite nor
 * a scan: the same type, a wider varchar/numeric/timestamp precision, varchar → text, cidr → inet.
 *
 * @example
 * isSafeTypeChange({ name: 'varchar', mods: [50] }, { name: 'text', mods: [] }) // true
 * isSafeTypeChange({ name: 'int4', mods: [] }, { name: 'int8', mods: [] })      // false
 */
export function isSafeTypeChange(from: SimpleType, to: SimpleType): boolean {
  const limitGrows = (a: number | undefined, b: number | undefined): boolean => b === undefined || (a !== undefined && b >= a);
  if (isStringType(from) && isStringType(to)) {
    if (to.name === 'text') return true;
    // text → varchar(n) adds a limit that every row must be checked against.
    if (from.name === 'text') return to.mods.length === 0;
    return limitGrows(from.mods[0], to.mods[0]);
  }
  if (from.name !== to.name) return from.name === 'cidr' && to.name === 'inet';
  if (from.name === 'numeric') {
    if (to.mods.length === 0) return true;
    if (from.mods.length === 0) return false;
    // Same scale, more precision: every stored value still fits unchanged.
    return (from.mods[1] ?? 0) === (to.mods[1] ?? 0) && limitGrows(from.mods[0], to.mods[0]);
  }
  if (['varbit', 'timestamp', 'timestamptz', 'time', 'timetz', 'interval'].includes(from.name)) {
    return limitGrows(from.mods[0], to.mods[0]);
  }
  return from.mods.join(',') === to.mods.join(',');
}
