import type pg from 'pg';
import { Umzug, type UmzugStorage } from 'umzug';
import { quoteIdent, quoteLiteral } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { transaction } from '../db/transaction.js';
import { initialSchema } from './internal/001-initial.js';
import { usageRetention } from './internal/002-usage-retention.js';
import { migrateLockEpoch } from './internal/003-migrate-lock.js';
import { flagTargeting } from './internal/004-flag-targeting.js';
import { flagTracking } from './internal/004-flag-tracking.js';
import { clientVersions } from './internal/008-client-versions.js';
import { backfillControl } from './internal/005-backfill-control.js';
import { driftChecks } from './internal/009-drift-checks.js';
import { rollouts } from './internal/010-rollouts.js';

/** Default name of the schema where curtain keeps its state. */
export const DEFAULT_SCHEMA = 'curtain';

interface InternalMigration {
  name: string;
  sql(schema: string): string;
}

/** The curtain schema's own migrations, in order. Append only. */
const internalMigrations: InternalMigration[] = [
  { name: '001-initial', sql: initialSchema },
  { name: '002-usage-retention', sql: usageRetention },
  { name: '003-migrate-lock', sql: migrateLockEpoch },
  { name: '004-flag-targeting', sql: flagTargeting },
  { name: '004-flag-tracking', sql: flagTracking },
  { name: '005-backfill-control', sql: backfillControl },
  { name: '008-client-versions', sql: clientVersions },
  { name: '009-drift-checks', sql: driftChecks },
  { name: '010-rollouts', sql: rollouts },
];

/** The number of internal versions this build knows. */
export const STORE_VERSION = internalMigrations.length;

const ready = new WeakMap<pg.Pool, Set<string>>();

/**
 * Create or upgrade the curtain schema. Runs the internal migrations with
 * umzug, all in one transaction under an advisory lock, so two processes
 * starting at once cannot race and a crash leaves the old version intact.
 * Calling it again is a no-op.
 *
 * @example
 * await ensureStore(pool, 'curtain');
 */
export async function ensureStore(pool: pg.Pool, schema = DEFAULT_SCHEMA): Promise<void> {
  if (ready.get(pool)?.has(schema)) return;
  if ((await currentVersion(pool, schema)) < STORE_VERSION) {
    await transaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`curtain.store:${schema}`]);
      const versions = `${quoteIdent(schema)}.store_versions`;
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${versions} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const storage: UmzugStorage = {
        async executed() {
          const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${versions} ORDER BY name`);
          return rows.map((r) => r.name);
        },
        async logMigration({ name }) {
          await client.query(`INSERT INTO ${versions} (name) VALUES ($1)`, [name]);
        },
        async unlogMigration({ name }) {
          await client.query(`DELETE FROM ${versions} WHERE name = $1`, [name]);
        },
      };
      const umzug = new Umzug({
        migrations: internalMigrations.map((m) => ({
          name: m.name,
          up: async () => {
            await client.query(m.sql(schema));
          },
        })),
        storage,
        logger: undefined,
      });
      await umzug.up();
    });
  }
  if (!ready.has(pool)) ready.set(pool, new Set());
  ready.get(pool)!.add(schema);
}

async function currentVersion(client: Queryable, schema: string): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass(${quoteLiteral(`${quoteIdent(schema)}.store_versions`)}) IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return 0;
  const res = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.store_versions`,
  );
  return res.rows[0]?.n ?? 0;
}
