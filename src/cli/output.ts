import { createColors } from 'picocolors';
import { redactText } from '../db/redact.js';

/**
 * Everything a command prints goes through here. With `--json`, stdout holds
 * exactly one JSON document and nothing else; people-facing lines go to
 * stderr. Colours only when the stream is a TTY (and NO_COLOR is unset).
 * Connection-string passwords are redacted from everything, JSON included.
 */
export class Output {
  readonly json: boolean;
  readonly color: ReturnType<typeof createColors>;
  readonly interactive: boolean;
  private readonly quiet: boolean;

  constructor(options: { json?: boolean; quiet?: boolean } = {}) {
    this.json = options.json ?? false;
    this.quiet = options.quiet ?? false;
    this.interactive = Boolean(process.stderr.isTTY) && !process.env.CI;
    const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !this.json;
    this.color = createColors(useColor);
  }

  /** A line of the command's human output (stdout), suppressed with --json. */
  line(text = ''): void {
    if (!this.json) process.stdout.write(`${redactText(text)}\n`);
  }

  /** Progress and notices (stderr), shown in both modes. */
  info(text: string): void {
    if (!this.quiet) process.stderr.write(`${redactText(text)}\n`);
  }

  warn(text: string): void {
    process.stderr.write(`${this.color.yellow('warning:')} ${redactText(text)}\n`);
  }

  /** The command's machine-readable result: printed only with --json. */
  result(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
  }

  /** A plain aligned table (human mode only). */
  table(headers: string[], rows: (string | number | null | undefined)[][]): void {
    if (this.json) return;
    const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
    const widths = headers.map((h, i) => Math.max(visible(h).length, ...cells.map((r) => visible(r[i] ?? '').length)));
    const fmt = (r: string[]) => r.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visible(c).length))).join('  ').trimEnd();
    this.line(this.color.bold(fmt(headers)));
    for (const r of cells) this.line(fmt(r));
  }
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
