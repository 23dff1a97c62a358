/**
 * `-- curtain:allow <rule-id>[,<rule-id>...] <why>` comments, and which
 * statement each one belongs to: the comment lines directly above a
 * statement (no blank line between), or a comment inside it or after it on
 * its last line.
 */
import type { Comment, SourceText } from './source.js';

export interface Suppression {
  comment: Comment;
  ruleIds: string[];
  reason: string;
  /** Index of the statement it applies to; undefined when it is attached to none. */
  statement: number | undefined;
  used: boolean;
}

/** Character span of a statement, trivia excluded. */
export interface Span {
  start: number;
  end: number;
}

const MARKER = /^\s*curtain:allow\b([\s\S]*)$/;

/**
 * Reads a suppression from a comment's body, or undefined when it is not one.
 *
 * @example
 * parseSuppression(' curtain:allow drop-column data moved in 0042') // { ruleIds: ['drop-column'], reason: 'data moved in 0042' }
 */
export function parseSuppression(body: string): { ruleIds: string[]; reason: string } | undefined {
  const m = MARKER.exec(body);
  if (!m) return undefined;
  const rest = (m[1] ?? '').trim();
  const ids = /^[^\s]*/.exec(rest)?.[0] ?? '';
  return {
    ruleIds: ids.split(',').filter((s) => s.length > 0),
    reason: rest.slice(ids.length).trim().replace(/\s+/g, ' '),
  };
}

/** Every suppression comment in the source, attached to its statement. */
export function findSuppressions(source: SourceText, spans: readonly Span[]): Suppression[] {
  const out: Suppression[] = [];
  for (const comment of source.comments) {
    const parsed = parseSuppression(comment.body);
    if (parsed) out.push({ comment, ...parsed, statement: attach(source, spans, comment), used: false });
  }
  return out;
}

function attach(source: SourceText, spans: readonly Span[], comment: Comment): number | undefined {
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (!span) continue;
    const nextStart = spans[i + 1]?.start ?? Infinity;
    // Inside the statement, or after it on its last line (`...; -- curtain:allow ...`).
    if (comment.start >= span.start && comment.start < span.end) return i;
    if (comment.start >= span.end && comment.start < nextStart && source.lineOf(comment.start) === source.lineOf(Math.max(span.start, span.end - 1))) {
      return i;
    }
  }
  // Directly above a statement: only comments and at most one line break up to its start.
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (!span || comment.end > span.start) continue;
    const prevEnd = spans[i - 1]?.end ?? 0;
    if (comment.start < prevEnd) continue;
    if (isDirectlyAbove(source, comment, span.start, prevEnd, spans[i - 1])) return i;
  }
  return undefined;
}

function isDirectlyAbove(source: SourceText, comment: Comment, stmtStart: number, prevEnd: number, prev: Span | undefined): boolean {
  // Walk back from the statement over the comments between it and the previous statement.
  const between = source.comments.filter((c) => c.start >= prevEnd && c.end <= stmtStart);
  let cursor = stmtStart;
  for (let k = between.length - 1; k >= 0; k--) {
    const c = between[k];
    if (!c) break;
    const gap = source.sql.slice(c.end, cursor);
    if (/\S/.test(gap.replace(/;/g, '')) || (gap.match(/\n/g)?.length ?? 0) > 1) return false;
    // A comment on the previous statement's last line belongs to that statement.
    if (prev && source.lineOf(c.start) === source.lineOf(Math.max(prev.start, prev.end - 1))) return false;
    if (c === comment) return true;
    cursor = c.start;
  }
  return false;
}
