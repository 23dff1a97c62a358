import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, toUserConfig } from '../../../src/config.js';

describe('toUserConfig', () => {
  it('round-trips every setting, so a library entry point sees the configuration a command has', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'curtain-config-'));
    const config = await loadConfig({
      cwd,
      overrides: {
        schema: 'ops',
        lockTimeout: '2s',
        backfill: {
          batchSize: 500,
          batchDelay: '5ms',
          maxReplicaLag: '3s',
          replicas: [{ name: 'east', url: 'postgres://replica.example/app' }],
          throttleQuery: 'SELECT false',
          maxActiveBackends: 40,
          maxLockWaiters: 3,
          maxLockWait: '2m',
          fireUserTriggers: true,
        },
        abort: { drainTimeout: '90s' },
        contract: { minSoak: '1h' },
        disposable: true,
      },
    });
    const again = await loadConfig({ cwd, overrides: toUserConfig(config) });
    expect({ ...again, migrationsDir: path.resolve(again.root, again.migrationsDir) }).toEqual({ ...config, migrationsDir: path.resolve(config.root, config.migrationsDir) });
    expect(again.backfill).toMatchObject({ maxReplicaLagMs: 3000, maxLockWaitMs: 120_000, fireUserTriggers: true, throttleQuery: 'SELECT false' });
    expect(again.abort.drainTimeoutMs).toBe(90_000);
    expect(again.disposable).toBe(true);
  });
});
