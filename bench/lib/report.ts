/** The human report: a header (machine, server) and one table of figures with baselines and ratios. */
import type { Machine } from './machine.js';
import type { BenchServer } from './server.js';
import type { Figure, ScenarioOutcome } from './types.js';

/** A number for humans: 3 significant digits, thousands separators for large values. */
export function formatValue(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  const n =
    abs >= 1000 ? Math.round(v).toLocaleString('en-US') : abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 || v === 0 ? v.toFixed(2).replace(/\.00$/, '') : v.toPrecision(2);
  return unit === 'requests' ? `${n}` : `${n} ${unit}`;
}

export function formatRatio(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '–';
  if (r === 0) return '0×';
  if (r < 0.1) return `${r.toPrecision(2)}× (1/${Math.round(1 / r).toLocaleString('en-US')})`;
  return r >= 100 ? `${Math.round(r)}×` : r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

function verdict(f: Figure): string {
  if (!f.target) return '';
  return `${f.target} ${f.pass === undefined ? '' : f.pass ? '✓' : '✗'}`.trim();
}

/** Render rows as an aligned text table. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The whole report as text.
 *
 * @example
 * process.stdout.write(renderReport(machine, server, outcomes, options));
 */
export function renderReport(machine: Machine, server: BenchServer, outcomes: ScenarioOutcome[], mode: string): string {
  const out: string[] = [];
  out.push(`curtain benchmarks (${mode})`);
  out.push(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}, load ${machine.loadAverage}`);
  out.push(`server:  PostgreSQL ${server.serverVersion} (${server.source}): ${server.version}`);
  out.push('');
  for (const o of outcomes) {
    out.push(`■ ${o.title}  [${o.name}, ${(o.durationMs / 1000).toFixed(1)} s]`);
    if (o.status !== 'ok') {
      out.push(`  ${o.status.toUpperCase()}: ${o.reason}`);
      out.push('');
      continue;
    }
    const rows = o.figures.map((f) => [f.label, formatValue(f.value, f.unit), `${formatValue(f.baseline.value, f.unit)} (${f.baseline.label})`, formatRatio(f.ratio), verdict(f)]);
    out.push(textTable(['figure', 'curtain', 'baseline', 'ratio', 'target'], rows).replace(/^/gm, '  '));
    const meanings = [...new Set(o.figures.map((f) => f.meaning))];
    for (const m of meanings) out.push(`  · ${m}`);
    for (const f of o.figures) if (f.note) out.push(`  ↳ ${f.label}: ${f.note}`);
    out.push('');
  }
  return out.join('\n');
}
