import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    serverKind: string;
  }
}

/**
 * One PostgreSQL server for the whole run: TEST_DATABASE_URL if set, else a
 * container when a Docker engine answers, else the embedded PostgreSQL.
 * Each test file then creates its own database on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('serverUrl', given);
    project.provide('serverKind', 'TEST_DATABASE_URL');
    return async () => {};
  }
  if (existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST) {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:18-alpine').start();
      project.provide('serverUrl', container.getConnectionUri());
      project.provide('serverKind', 'testcontainers');
      return async () => {
        await container.stop();
      };
    } catch {
      // No engine answered: fall through to the embedded server.
    }
  }
  const dataDir = path.join(os.tmpdir(), `curtain-test-${process.getuid?.() ?? 'u'}`, 'postgres');
  const server = await startEmbedded({ dataDir, fast: true });
  project.provide('serverUrl', server.url);
  project.provide('serverKind', `embedded PostgreSQL ${server.version}`);
  return async () => {
    await server.release();
  };
}
