/**
 * The linted SQL as text: where its comments are, and how the parser's UTF-8
 * byte offsets map to characters, lines and columns. The parser drops
 * comments, and suppressions live in comments, so they are found here with a
 * small lexer that knows just enough SQL to not mistake a `--` inside a
 * string, a quoted identifier or a dollar-quoted body for a comment.
 */

export interface Comment {
  /** Character index of the first `-` or `/`. */
  start: number;
  /** Character index just past the comment (a line comment ends before its newline). */
  end: number;
  /** The comment's content without its `--` or `/* *\/` markers. */
  body: string;
}

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
}

export class SourceText {
  readonly comments: Comment[];
  private readonly lineStarts: number[];
  private readonly byteToCharMap: Int32Array | undefined;
  private readonly commentAtStart = new Map<number, Comment>();
  private readonly commentAtEnd = new Map<number, Comment>();

  constructor(readonly sql: string) {
    this.comments = scanComments(sql);
    for (const c of this.comments) {
      this.commentAtStart.set(c.start, c);
      this.commentAtEnd.set(c.end, c);
    }
    this.lineStarts = [0];
    for (let i = 0; i < sql.length; i++) if (sql[i] === '\n') this.lineStarts.push(i + 1);
    // Pure ASCII (the common case) needs no table: bytes are characters.
    this.byteToCharMap = Buffer.byteLength(sql, 'utf8') === sql.length ? undefined : buildByteToChar(sql);
  }

  /** Character index for a UTF-8 byte offset from the parser (clamped to the text). */
  charIndex(byteOffset: number): number {
    const map = this.byteToCharMap;
    if (!map) return Math.max(0, Math.min(byteOffset, this.sql.length));
    return map[Math.max(0, Math.min(byteOffset, map.length - 1))] ?? this.sql.length;
  }

  /** Character index for a 0-based code-point offset (the parser's error cursor counts code points). */
  charIndexOfCodePoint(codePoint: number): number {
    let i = 0;
    for (let cp = 0; cp < codePoint && i < this.sql.length; cp++) i += (this.sql.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    return Math.min(i, this.sql.length);
  }

  /** 1-based line and column of a character index, relative to the start of this text. */
  position(charIndex: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= charIndex) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: charIndex - (this.lineStarts[lo] ?? 0) + 1 };
  }

  lineOf(charIndex: number): number {
    return this.position(charIndex).line;
  }

  /** The whole line containing a character index, without its newline. */
  lineText(charIndex: number): string {
    const { line } = this.position(charIndex);
    const start = this.lineStarts[line - 1] ?? 0;
    const next = this.lineStarts[line];
    return this.sql.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }

  /** First index at or after `from` that is neither whitespace nor inside a comment. */
  skipTrivia(from: number, limit = this.sql.length): number {
    let i = from;
    while (i < limit) {
      if (/\s/.test(this.sql[i] ?? '')) i++;
      else {
        const c = this.commentAtStart.get(i);
        if (!c) break;
        i = c.end;
      }
    }
    return Math.min(i, limit);
  }

  /** Index just past the last character before `to` that is neither whitespace nor inside a comment. */
  trimTrivia(to: number, floor = 0): number {
    let i = to;
    while (i > floor) {
      if (/\s/.test(this.sql[i - 1] ?? '')) i--;
      else {
        const c = this.commentAtEnd.get(i);
        if (!c) break;
        i = c.start;
      }
    }
    return Math.max(i, floor);
  }
}

function buildByteToChar(sql: string): Int32Array {
  const map = new Int32Array(Buffer.byteLength(sql, 'utf8') + 1);
  let byte = 0;
  for (let i = 0; i < sql.length; i++) {
    const code = sql.codePointAt(i) ?? 0;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) map[byte + k] = i;
    byte += width;
    if (code >= 0x10000) i++; // surrogate pair: one code point, two UTF-16 units
  }
  map[byte] = sql.length;
  return map;
}

const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Every comment in `sql`, in order, skipping over strings, quoted identifiers and dollar quotes. */
export function scanComments(sql: string): Comment[] {
  const comments: Comment[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      let end = sql.indexOf('\n', i);
      if (end < 0) end = n;
      const stop = sql[end - 1] === '\r' ? end - 1 : end;
      comments.push({ start: i, end: stop, body: sql.slice(i + 2, stop) });
      i = end;
    } else if (ch === '/' && next === '*') {
      // PostgreSQL block comments nest.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      const closed = depth === 0;
      comments.push({ start: i, end: j, body: sql.slice(i + 2, closed ? j - 2 : j) });
      i = j;
    } else if (ch === "'") {
      // E'...' strings treat backslash as an escape; standard strings do not.
      const escapes = i > 0 && /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
      i = skipQuoted(sql, i, "'", escapes);
    } else if (ch === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (ch === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const m = DOLLAR_TAG.exec(sql.slice(i, i + 64));
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
      } else i++;
    } else i++;
  }
  return comments;
}

function skipQuoted(sql: string, open: number, quote: string, backslashEscapes: boolean): number {
  let j = open + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslashEscapes && c === '\\') j += 2;
    else if (c === quote) {
      if (sql[j + 1] === quote) j += 2; // doubled quote is an escaped quote
      else return j + 1;
    } else j++;
  }
  return sql.length;
}
