import { createColors } from 'picocolors';
import { escapeControl, terminalSafe } from '../text/control.js';
import { redactText } from '../db/redact.js';

/** The colours a table cell may be painted in. */
export type CellColor = 'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold';

/** Part of a table cell that {@link Output.paint} colours: its text is data, escaped like any other. */
export interface Painted {
  readonly text: string;
  readonly color: CellColor;
}

/** A table cell: text, a painted part, or parts side by side. */
export type Cell = string | number | null | undefined | Painted | readonly Cell[];

/**
 * Everything a command prints goes through here. With `--json`, stdout holds
 * exactly one JSON document and nothing else; people-facing lines go to
 * stderr. Colours only when the stream is a TTY or FORCE_COLOR is set (and
 * NO_COLOR is unset). Every line is made terminal-safe: control characters
 * from data (flag descriptions, reasons, actors) are printed as visible
 * escapes, colour sequences in table cells included.
 * Connection-string passwords are redacted from everything, JSON included.
 */
export class Output {
  readonly json: boolean;
  readonly color: ReturnType<typeof createColors>;
  readonly interactive: boolean;
  /** Whether this output colours what it prints (TTY or FORCE_COLOR, no NO_COLOR, not --json). */
  readonly colored: boolean;
  private readonly quiet: boolean;

  constructor(options: { json?: boolean; quiet?: boolean } = {}) {
    this.json = options.json ?? false;
    this.quiet = options.quiet ?? false;
    this.interactive = Boolean(process.stderr.isTTY) && !process.env.CI;
    // FORCE_COLOR as picocolors and most tools read it: colours into a pipe (CI logs, a pager).
    const forced = Boolean(process.env.FORCE_COLOR) && process.env.FORCE_COLOR !== '0';
    this.colored = (Boolean(process.stdout.isTTY) || forced) && !process.env.NO_COLOR && !this.json;
    this.color = createColors(this.colored);
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

  /**
   * Colour `text` in a table cell. Cells are data: every escape sequence in
   * them is printed visibly, colours included, so the only colours a table
   * shows are the ones asked for here.
   *
   * @example
   * out.table(['name', 'phase'], [[[name, out.paint(' (CHANGED)', 'red')], out.paint(phase, 'green')]]);
   */
  paint(text: string, color: CellColor): Painted {
    return { text, color };
  }

  /** A plain aligned table (human mode only). */
  table(headers: string[], rows: Cell[][]): void {
    if (this.json) return;
    const cells = rows.map((r) => r.map((c) => this.cell(c)));
    const widths = headers.map((h, i) => Math.max(visible(h).length, ...cells.map((r) => visible(r[i] ?? '').length)));
    const fmt = (r: string[]) => r.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visible(c).length))).join('  ').trimEnd();
    this.line(this.color.bold(fmt(headers)));
    for (const r of cells) this.line(fmt(r));
  }

  // Data escaped whatever the colour mode (an SGR sequence in data is data too), then coloured by us;
  // one cell, one line: a newline inside data must not break the table.
  private cell(c: Cell): string {
    if (c === null || c === undefined) return '';
    if (Array.isArray(c)) return c.map((part) => this.cell(part)).join('');
    if (typeof c === 'object' && 'color' in c) return this.color[c.color](this.cell(c.text));
    return escapeControl(String(c), { singleLine: true });
  }

  /** Control characters escaped; the colour codes this Output added are kept. */
  private safe(text: string): string {
    return terminalSafe(text, { keepColor: this.colored });
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
