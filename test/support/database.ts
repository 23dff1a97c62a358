import { inject } from 'vitest';
import { connect, type Database } from '../../src/db/connect.js';
import { createDatabaseOn } from '../../src/testing/server.js';

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
  const handle = await createDatabaseOn(serverUrl(), prefix);
  const opened: Database[] = [];
  return {
    url: handle.url,
    name: handle.name,
    async connect() {
      const d = await connect(handle.url);
      opened.push(d);
      return d;
    },
    async drop() {
      await Promise.all(opened.map((d) => d.close()));
      await handle.drop();
    },
  };
}
