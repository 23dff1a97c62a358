import { describe, expect, it } from 'vitest';
import { installInterrupt } from '../../../src/cli/interrupt.js';

describe('installInterrupt', () => {
  it('the first signal aborts and says so once; a second one exits at once with 128 + signal', () => {
    const listeners = process.listenerCount('SIGINT');
    const lines: string[] = [];
    const exits: number[] = [];
    const interrupt = installInterrupt((l) => lines.push(l), (c) => exits.push(c));
    try {
      expect(interrupt.signal.aborted).toBe(false);
      process.emit('SIGINT', 'SIGINT');
      expect(interrupt.signal.aborted).toBe(true);
      expect(interrupt.exitCode()).toBe(130);
      expect(lines).toEqual(['SIGINT: stopping after the current batch/step (Ctrl-C again to force)']);
      expect(exits).toEqual([]);
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([130]);
    } finally {
      interrupt.dispose();
    }
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });

  it('SIGTERM asks for 143; a command that waits for the signal ends normally', async () => {
    const a = installInterrupt(() => {}, () => {});
    process.emit('SIGTERM', 'SIGTERM');
    expect(a.exitCode()).toBe(143);
    a.dispose();
    const lines: string[] = [];
    const b = installInterrupt((l) => lines.push(l), () => {});
    const waiting = b.untilSignal();
    process.emit('SIGTERM', 'SIGTERM');
    expect(await waiting).toBe('SIGTERM');
    expect(b.exitCode()).toBeUndefined();
    expect(lines).toEqual([]);
    b.dispose();
  });
});
