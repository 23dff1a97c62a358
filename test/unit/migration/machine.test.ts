import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandsAhead, commandsFrom, COMMANDS, describe as fill, isInterrupted, markdownTable, mermaid, outcome, PHASES, TABLE, TERMINAL, type Phase } from '../../../src/migration/machine.js';

describe('the lifecycle transition table', () => {
  it('has an entry for every command in every phase', () => {
    for (const phase of PHASES) for (const command of COMMANDS) expect(TABLE[phase][command], `${phase} × ${command}`).toBeDefined();
  });

  it('moves every phase but the terminal one: no migration is ever stuck', () => {
    for (const phase of PHASES) {
      if (TERMINAL.includes(phase)) expect(commandsFrom(phase), phase).toEqual([]);
      else expect(commandsFrom(phase).length, `${phase} has a command that moves it`).toBeGreaterThan(0);
    }
  });

  it('leads only to phases it knows, and every phase is reachable from pending', () => {
    const reached = new Set<Phase>(['pending']);
    const queue: Phase[] = ['pending'];
    while (queue.length) {
      const p = queue.shift()!;
      for (const c of COMMANDS) {
        const o = outcome(c, p);
        if (o.action !== 'run') continue;
        for (const next of [o.during, o.to]) {
          if (!next) continue;
          expect(PHASES).toContain(next);
          if (!reached.has(next)) {
            reached.add(next);
            queue.push(next);
          }
        }
      }
    }
    expect([...reached].sort()).toEqual([...PHASES].sort());
  });

  it('every refusal names a command that does work from that phase (or the snapshot restore at the end)', () => {
    for (const phase of PHASES) {
      for (const command of COMMANDS) {
        const o = outcome(command, phase);
        if (o.action !== 'refuse') continue;
        const hint = fill(o.hint, { name: 'm1', flag: 'f' });
        const working = commandsFrom(phase).map((c) => (c === 'switch-off' ? 'switch' : c));
        const names = working.some((c) => hint.includes(`migrate ${c}`)) || (TERMINAL.includes(phase) && hint.includes('snapshot'));
        expect(names, `${phase} × ${command}: "${hint}" names one of ${working.join(', ') || 'snapshot restore'}`).toBe(true);
      }
    }
  });

  it('an interrupted phase is resumed by the command that was interrupted, and only that one moves it', () => {
    for (const phase of PHASES.filter(isInterrupted)) {
      const resumers = COMMANDS.filter((c) => {
        const o = outcome(c, phase);
        return o.action === 'run' && o.resumes;
      });
      expect(resumers.length, phase).toBe(1);
    }
    expect(PHASES.filter(isInterrupted).sort()).toEqual(['aborting', 'contracting', 'expanding']);
  });

  it('contract of an expanded migration is a guard refusal (exit 3), not a usage error', () => {
    const o = outcome('contract', 'expanded');
    expect(o).toMatchObject({ action: 'refuse', as: 'guard', guard: 'flag-fully-on' });
  });

  it('knows what is still ahead of each phase', () => {
    expect(commandsAhead('pending')).toEqual(['expand', 'switch', 'switch-off', 'contract', 'abort']);
    expect(commandsAhead('switched')).toEqual(['switch', 'switch-off', 'contract', 'abort']);
    expect(commandsAhead('contracting')).toEqual(['contract']);
    expect(commandsAhead('contracted')).toEqual([]);
  });

  it('draws itself as a mermaid state diagram', () => {
    const d = mermaid();
    expect(d).toContain('stateDiagram-v2');
    expect(d).toContain('switched --> contracting: contract');
    expect(d).toContain('contracting --> contracted');
  });

  it('is what the README shows (diagram and table generated from it)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(mermaid());
    expect(readme).toContain(markdownTable());
  });
});
