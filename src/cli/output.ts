import { createColors } from 'picocolors';
import { terminalSafe } from '../text/control.js';
import { redactText } from '../db/redact.js';

/**
 * Everything a command prints goes through here. With `--json`, stdout holds
 * exactly one JSON document and nothing else; people-facing lines go to
 * stderr. Colours only when the stream is a TTY (and NO_COLOR is unset).
 * Every line is made terminal-safe: control characters from data (flag
 * descriptions, reasons, actors) are printed as visible escapes.
 * Connection-string passwords are redacted from everything, JSON included.
 */
export class Output {
  readonly json: boolean;
  readonly color: ReturnType<typeof createColors>;
  readonly interactive: boolean;
  private readonly quiet: boolean;
  private readonly useColor: boolean;

  constructor(options: { json?: boolean; quiet?: boolean } = {}) {
    this.json = options.json ?? false;
    this.quiet = options.quiet ?? false;
    this.interactive = Boolean(process.stderr.isTTY) && !process.env.CI;
    this.useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !this.json;
    this.color = createColors(this.useColor);
  }

  /** A line of the command's human output (stdout), suppressed with --json. */
  line(text = ''): void {
    if (!this.json) process.stdout.write(`${this.safe(redactText(text))}\n`);
  }

  /** Progress and notices (stderr), shown in both modes. */
  info(text: string): void {
    if (!this.quiet) process.stderr.write(`${this.safe(redactText(text))}\n`);
  }

  warn(text: string): void {
    process.stderr.write(`${this.color.yellow('warning:')} ${this.safe(redactText(text))}\n`);
  }

  /** The command's machine-readable result: printed only with --json. */
  result(value: unknown): void {
    if (!this.json) return;
    process.stdout.write(`${redactText(JSON.stringify(value, jsonReplacer, 2))}\n`);
    resultWritten = true;
  }

  /** A plain aligned table (human mode only). */
  table(headers: string[], rows: (string | number | null | undefined)[][]): void {
    if (this.json) return;
    // One cell, one line: a newline inside data must not break the table.
    const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : terminalSafe(String(c), { keepColor: this.useColor, singleLine: true }))));
    const widths = headers.map((h, i) => Math.max(visible(h).length, ...cells.map((r) => visible(r[i] ?? '').length)));
    const fmt = (r: string[]) => r.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visible(c).length))).join('  ').trimEnd();
    this.line(this.color.bold(fmt(headers)));
    for (const r of cells) this.line(fmt(r));
  }

  /** Control characters escaped; the colour codes this Output added are kept. */
  private safe(text: string): string {
    return terminalSafe(text, { keepColor: this.useColor });
  }
}

let resultWritten = false;

/** Whether a command has printed its JSON document (a failure after it must not print a second one). */
export function jsonResultWritten(): boolean {
  return resultWritten;
}

// Strip ANSI codes when measuring column widths.
function visible(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return redactText(value);
  return value;
}
