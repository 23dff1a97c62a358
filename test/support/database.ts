import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connect, type Database } from '../../src/db/connect.js';
import { quoteIdent } from '../../src/db/identifiers.js';

/** A database of its own for one test file, dropped at the end. */
export interface TestDatabase {
  url: string;
  name: string;
  /** Open a connection (closed by `drop`). */
  connect(): Promise<Database>;
  drop(): Promise<void>;
}

/** The server every test file shares (see global-setup.ts). */
export function serverUrl(): string {
  return inject('serverUrl');
}

/**
 * Create an empty database on the shared test server.
 *
 * @example
 * const tdb = await createTestDatabase();
 * const { db } = await tdb.connect();
 * afterAll(() => tdb.drop());
 */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const server = serverUrl();
  const name = `curtain_${prefix}_${randomBytes(5).toString('hex')}`;
  await admin(server, `CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const opened: Database[] = [];
  return {
    url: url.toString(),
    name,
    async connect() {
      const d = await connect(url.toString());
      opened.push(d);
      return d;
    },
    async drop() {
      await Promise.all(opened.map((d) => d.close()));
      await admin(server, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    },
  };
}

async function admin(server: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
