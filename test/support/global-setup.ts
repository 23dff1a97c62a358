import type { TestProject } from 'vitest/node';
import { startTestServer } from '../../src/testing/server.js';

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
  const server = await startTestServer();
  process.stderr.write(`tests run on ${server.kind}\n`);
  project.provide('serverUrl', server.url);
  project.provide('serverKind', server.kind);
  return () => server.stop();
}
