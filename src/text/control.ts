/**
 * Control characters in text that came from users (flag descriptions,
 * reasons, actors, file contents) must never reach a terminal or a page
 * raw: an escape sequence can rewrite the screen, set the window title, plant
 * a hyperlink or the clipboard (OSC 52), and bidirectional overrides can make
 * text read differently from what it is.
 */

// C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Replace every control character with a visible escape (`\x1b`, `\u202e`);
 * with `singleLine`, newlines and tabs too (table cells, one-line fields).
 *
 * @example
 * escapeControl('ok\x1b]0;pwned\x07') // 'ok\\x1b]0;pwned\\x07'
 * escapeControl('a\nb', { singleLine: true }) // 'a\\nb'
 */
export function escapeControl(text: string, options: { singleLine?: boolean } = {}): string {
  return text.replace(options.singleLine ? CONTROL_OR_BREAK : CONTROL, visible);
}

// What our own colouring emits (picocolors): SGR sequences only.
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

/**
 * Escape control characters in a line the CLI is about to print, keeping
 * the colour sequences (SGR) the CLI itself added when `keepColor` is set.
 * A last line of defence: data is escaped where it is formatted, too.
 *
 * @example
 * terminalSafe('\x1b[1mtitle\x1b[22m \x1b]8;;http://x\x07', { keepColor: true }) // bold kept, the OSC escaped
 */
export function terminalSafe(text: string, options: { keepColor?: boolean; singleLine?: boolean } = {}): string {
  const esc = (s: string) => escapeControl(s, { singleLine: options.singleLine });
  if (!options.keepColor) return esc(text);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(SGR)) {
    out += esc(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + esc(text.slice(last));
}
