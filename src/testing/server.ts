import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { startEmbedded } from '../db/embedded.js';

/** A PostgreSQL server to create test databases on. */
export interface TestServer {
  url: string;
  /** How it was obtained: `TEST_DATABASE_URL`, `testcontainers` or `embedded PostgreSQL <major>`. */
  kind: string;
  stop(): Promise<void>;
}

/**
 * Find a server for tests: `TEST_DATABASE_URL` when set; else a container
 * when a Docker engine answers (`@testcontainers/postgresql` must be
 * installed); else the embedded PostgreSQL (data under the OS temp folder).
 *
 * @example
 * const server = await startTestServer();
 * // ... create databases on server.url ...
 * await server.stop();
 */
export async function startTestServer(options: { image?: string } = {}): Promise<TestServer> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, kind: 'TEST_DATABASE_URL', stop: async () => {} };
  if (existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST) {
    try {
      const moduleName = '@testcontainers/postgresql';
      const { PostgreSqlContainer } = (await import(moduleName)) as typeof import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer(options.image ?? 'postgres:18-alpine').start();
      return { url: container.getConnectionUri(), kind: 'testcontainers', stop: async () => void (await container.stop()) };
    } catch {
      // No engine answered, or testcontainers is not installed: use the embedded server.
    }
  }
  const dataDir = path.join(os.tmpdir(), `curtain-test-${process.getuid?.() ?? 'user'}`, 'postgres');
  const server = await startEmbedded({ dataDir, fast: true });
  return { url: server.url, kind: `embedded PostgreSQL ${server.version}`, stop: () => server.release() };
}

/** A database of its own on a test server. */
export interface TestDatabaseHandle {
  url: string;
  name: string;
  /** Drop the database (terminating its connections). */
  drop(): Promise<void>;
}

/**
 * Create an empty database with a random name on `serverUrl`.
 *
 * @example
 * const db = await createDatabaseOn(server.url);
 * await db.drop();
 */
export async function createDatabaseOn(serverUrl: string, prefix = 'test'): Promise<TestDatabaseHandle> {
  const name = `curtain_${prefix}_${randomBytes(5).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  };
}

/**
 * A throwaway database for a user's test suite: a server from
 * {@link startTestServer} and a fresh database on it; `stop()` drops both.
 *
 * @example
 * const db = await startTestDatabase();
 * process.env.DATABASE_URL = db.url;
 * afterAll(() => db.stop());
 */
export async function startTestDatabase(): Promise<{ url: string; kind: string; stop(): Promise<void> }> {
  const server = await startTestServer();
  const database = await createDatabaseOn(server.url);
  return {
    url: database.url,
    kind: server.kind,
    async stop() {
      await database.drop();
      await server.stop();
    },
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => {}); // the failing query reports it
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
