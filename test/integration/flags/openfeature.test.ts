import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { bucket } from '../../../src/flags/hash.js';
import { CurtainProvider } from '../../../src/flags/openfeature.js';
import { setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe('CurtainProvider through the OpenFeature server SDK', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let provider: CurtainProvider;

  beforeAll(async () => {
    tdb = await createTestDatabase('of');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await setFlag(conn.pool, 'curtain', 'of.on', { enabled: true });
    await setFlag(conn.pool, 'curtain', 'of.off', { enabled: false });
    await setFlag(conn.pool, 'curtain', 'of.split', { enabled: true, rollout: 30 });
    provider = new CurtainProvider({ connectionString: tdb.url, pollIntervalMs: 60_000, telemetry: false, logger: { warn: () => {} } });
    await OpenFeature.setProviderAndWait('curtain-test', provider);
  });
  afterAll(async () => {
    await OpenFeature.close();
    await tdb.drop();
  });

  const client = () => OpenFeature.getClient('curtain-test');

  it('is READY after initialization', () => {
    expect(client().providerStatus).toBe(ProviderStatus.READY);
    expect(client().metadata.providerMetadata.name).toBe('curtain');
  });

  it('resolves booleans with curtain reasons and variants', async () => {
    expect(await client().getBooleanDetails('of.on', false)).toMatchObject({ value: true, reason: 'STATIC', variant: 'on' });
    expect(await client().getBooleanDetails('of.off', true)).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off' });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const d = await client().getBooleanDetails('of.split', false, { targetingKey: id });
      expect(d).toMatchObject({ value: bucket(id, 'of.split') <= 30, reason: 'SPLIT' });
    }
    expect(await client().getBooleanDetails('of.split', true)).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('reports FLAG_NOT_FOUND for unknown keys (the caller’s default wins)', async () => {
    const d = await client().getBooleanDetails('of.unknown', true);
    expect(d).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('reports TYPE_MISMATCH for non-boolean requests', async () => {
    expect(await client().getStringDetails('of.on', 'x')).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(await client().getNumberDetails('of.on', 7)).toMatchObject({ value: 7, errorCode: 'TYPE_MISMATCH' });
    expect(await client().getObjectDetails('of.on', { a: 1 })).toMatchObject({ value: { a: 1 }, errorCode: 'TYPE_MISMATCH' });
  });

  it('emits PROVIDER_CONFIGURATION_CHANGED with the changed keys', async () => {
    const seen: string[][] = [];
    client().addHandler(ProviderEvents.ConfigurationChanged, (e) => seen.push(e?.flagsChanged ?? []));
    await setFlag(conn.pool, 'curtain', 'of.off', { enabled: true });
    await vi.waitFor(() => expect(seen.flat()).toContain('of.off'), { timeout: 10_000, interval: 10 });
    expect(await client().getBooleanValue('of.off', false)).toBe(true);
  });

  it('goes STALE when the database connection is lost, and READY again after', async () => {
    const stale = vi.fn();
    client().addHandler(ProviderEvents.Stale, stale);
    await conn.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'curtain flags:%'`,
    );
    await vi.waitFor(() => expect(stale).toHaveBeenCalled(), { timeout: 10_000, interval: 10 });
    expect(await client().getBooleanValue('of.on', false)).toBe(true); // last known values
    await vi.waitFor(() => expect(client().providerStatus).toBe(ProviderStatus.READY), { timeout: 20_000, interval: 20 });
  });

  it('is ERROR when nothing could be loaded', async () => {
    const broken = new CurtainProvider({ connectionString: 'postgres://postgres@127.0.0.1:1/x', telemetry: false, logger: { warn: () => {} } });
    await OpenFeature.setProviderAndWait('broken', broken).catch(() => {});
    expect(OpenFeature.getClient('broken').providerStatus).toBe(ProviderStatus.ERROR);
    expect(await OpenFeature.getClient('broken').getBooleanValue('of.on', true)).toBe(true);
  });
});
