import pc from 'picocolors';
import type { PhaseStats, PathStats } from './stats.js';

const ms = (x: number) => `${x.toFixed(1)}ms`;

function row(label: string, s: PathStats, seconds: number): string {
  const rate = seconds > 0 ? Math.round(s.total / seconds) : 0;
  const failed = s.failed === 0 ? pc.green('0') : pc.red(String(s.failed));
  return `  ${label.padEnd(9)} ${String(rate).padStart(6)} req/s  ${String(s.total).padStart(7)} req  failed ${failed.padStart(3)}  p50 ${ms(s.percentile(50)).padStart(8)}  p99 ${ms(s.percentile(99)).padStart(8)}`;
}

/**
 * The live terminal view: on a TTY, a block redrawn in place several times a
 * second; elsewhere, one summary line per phase.
 */
export class LiveView {
  private lines = 0;
  private readonly tty = Boolean(process.stdout.isTTY);
  private log: string[] = [];

  note(text: string): void {
    if (this.tty) this.log = [...this.log, text].slice(-6);
    else process.stdout.write(`${text}\n`);
  }

  render(current: PhaseStats | undefined, index: number, count: number): void {
    if (!this.tty || !current) return;
    const seconds = (Date.now() - current.started) / 1000;
    const out = [
      pc.bold(`curtain demo · migration ${index}/${count}: ${current.migration}`),
      `  flag ${pc.cyan(current.flag)}   phase ${pc.yellow(current.phase)}   ${seconds.toFixed(1)}s`,
      row('old path', current.old, seconds),
      row('new path', current.new, seconds),
      ...this.log.map((l) => pc.dim(`  ${l}`)),
    ];
    if (this.lines > 0) process.stdout.write(`\x1b[${this.lines}A\x1b[0J`);
    process.stdout.write(`${out.join('\n')}\n`);
    this.lines = out.length;
  }

  /** Close a phase: on a TTY the block stays; elsewhere print its line. */
  endPhase(p: PhaseStats): void {
    const seconds = ((p.ended ?? Date.now()) - p.started) / 1000;
    if (this.tty && this.lines > 0) process.stdout.write(`\x1b[${this.lines}A\x1b[0J`);
    this.lines = 0;
    const failed = p.old.failed + p.new.failed;
    process.stdout.write(
      `${failed === 0 ? pc.green('✓') : pc.red('✗')} ${p.migration} ${p.phase.padEnd(12)} ${seconds.toFixed(1).padStart(5)}s  old ${p.old.total} req, new ${p.new.total} req, ${failed} failed, p99 ${ms(Math.max(p.old.percentile(99), p.new.percentile(99)))}\n`,
    );
  }
}
