import { createHash } from 'node:crypto';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes; NOTIFY channels are identifiers. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * The NOTIFY channel on which flag changes are announced: `<schema>_flags`,
 * or, when that would exceed 63 bytes (a schema of 58 bytes or more), the
 * schema's first bytes, a hash of the whole name and `_flags`, so every
 * schema PostgreSQL accepts gets a channel of its own that `pg_notify`
 * accepts too.
 *
 * @example
 * flagChannel('curtain') // 'curtain_flags'
 * flagChannel('x'.repeat(60)) // 'xxx…x_3c9a1f0b_flags' (63 bytes at most)
 */
export function flagChannel(schema: string): string {
  const plain = `${schema}_flags`;
  if (Buffer.byteLength(plain) <= MAX_IDENTIFIER_BYTES) return plain;
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 8);
  const suffix = `_${hash}_flags`;
  return `${truncateBytes(schema, MAX_IDENTIFIER_BYTES - suffix.length)}${suffix}`;
}

/** The longest prefix of `s` that fits in `max` UTF-8 bytes, never cutting a character. */
function truncateBytes(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}
