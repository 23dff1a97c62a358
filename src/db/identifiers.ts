/**
 * Identifier and literal quoting. Every name that reaches generated SQL goes
 * through here, so a table called `order` or `"weird"name` is always safe.
 */

/** Quote one identifier: `users` → `"users"`, `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quote a possibly schema-qualified name given as parts. */
export function quoteQualified(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== '')
    .map(quoteIdent)
    .join('.');
}

/** Quote a string literal: `it's` → `'it''s'`. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Split a table reference written by a user (`users`, `app.users`) into schema
 * and name. Unqualified names resolve against `defaultSchema`.
 */
export function parseTableRef(ref: string, defaultSchema = 'public'): { schema: string; name: string } {
  const dot = ref.indexOf('.');
  if (dot === -1) return { schema: defaultSchema, name: ref };
  return { schema: ref.slice(0, dot), name: ref.slice(dot + 1) };
}

/**
 * PostgreSQL truncates identifiers to 63 bytes; generated names (triggers,
 * shadow columns) are shortened with a stable hash suffix so two long names
 * never collide.
 */
export function boundedIdent(name: string, max = 63): string {
  if (Buffer.byteLength(name) <= max) return name;
  let hash = 0;
  for (const ch of name) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  const suffix = `_${(hash >>> 0).toString(36)}`;
  let head = name;
  while (Buffer.byteLength(head) + suffix.length > max) head = head.slice(0, -1);
  return head + suffix;
}
