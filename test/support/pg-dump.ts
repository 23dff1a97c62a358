import pg from 'pg';
import { findPgTools } from '../../src/snapshots/pg-tools.js';
import { serverUrl } from './database.js';

/**
 * Whether a pg_dump as new as the test server is on this machine (the
 * embedded PostgreSQL 18 has none beside it: Debian ships 15's tools).
 * Suites that dump schemas skip where it is missing, saying why.
 */
export async function pgDumpMatchesServer(): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl() });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    const major = Math.floor(Number(rows[0]!.v) / 10_000);
    return findPgTools('pg_dump').some((t) => t.major >= major);
  } finally {
    await client.end();
  }
}
